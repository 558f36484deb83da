"""Structural checks on mixed-precision mp IR (the output of --mp-amp-pipeline).

usage: check_amp.py IR.mlir --target f16|bf16 [--report report.json]
Checks: every mp.matmul/gemm/conv is in the target precision with f32
accumulation; every loss op is f32; no mp.cast takes another mp.cast's result
(no back-to-back casts); with --report, the report has one record per painted
op and cast totals. Prints a summary line; exits non-zero on a violation.
Any Python 3 works (no third-party modules).
"""
import argparse
import json
import re
import sys

OP = re.compile(r"^\s*(?P<res>%[\w#:]+(?:, %[\w#]+)*)? ?=? ?(?P<op>mp\.[a-z_]+) (?P<rest>.*)$")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("ir")
    p.add_argument("--target", required=True, choices=["f16", "bf16"])
    p.add_argument("--report")
    a = p.parse_args()
    cast_results = set()
    counts = {"contractions": 0, "casts": 0, "losses": 0, "low": 0, "f32": 0}
    errors = []
    for line in open(a.ir):
        m = OP.match(line)
        if not m:
            continue
        op, rest = m.group("op"), m.group("rest")
        prec = re.search(r"mp\.precision = #mp\.precision<(\w+)>", rest)
        if prec:
            counts["low" if prec.group(1) == a.target else "f32"] += 1
        if op == "mp.cast":
            counts["casts"] += 1
            src = rest.split()[0].rstrip(",")
            if src in cast_results:
                errors.append(f"back-to-back casts: {line.strip()}")
            if m.group("res"):
                cast_results.add(m.group("res").split(",")[0].strip())
        if op in ("mp.matmul", "mp.gemm", "mp.conv"):
            counts["contractions"] += 1
            if not prec or prec.group(1) != a.target:
                errors.append(f"contraction not in {a.target}: {line.strip()}")
            if "mp.accumulate = #mp.precision<f32>" not in rest:
                errors.append(f"contraction without f32 accumulation: {line.strip()}")
        if op in ("mp.softmax_cross_entropy_loss", "mp.nll_loss"):
            counts["losses"] += 1
            if not prec or prec.group(1) != "f32":
                errors.append(f"loss not f32: {line.strip()}")
    if a.report:
        r = json.load(open(a.report))
        ops = sum(len(f["ops"]) for f in r["functions"])
        if ops != counts["low"] + counts["f32"]:
            errors.append(f"report has {ops} ops, the IR {counts['low'] + counts['f32']} painted ops")
        if "casts" not in r["totals"]:
            errors.append("report has no cast totals")
    for e in errors:
        print("error:", e)
    print("amp check: {contractions} contractions, {losses} losses, {low} low ops, "
          "{f32} f32 ops, {casts} casts".format(**counts) + (": FAILED" if errors else ": ok"))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
