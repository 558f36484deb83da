# -*- Python -*-
import os
import shutil

import lit.formats
from lit.llvm import llvm_config

config.name = "MP"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".onnxtxt", ".py"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.mp_obj_root, "test")

config.environment["FILECHECK_OPTS"] = "-enable-var-scope --allow-unused-prefixes=false"
llvm_config.use_default_substitutions()

config.substitutions.append(("%PATH%", config.environment["PATH"]))
# lit's defaults map %python to the interpreter running lit; tests need the
# repo's venv (Debian python3 + onnxruntime), so this one goes first.
config.substitutions.insert(0, ("%python", config.python_executable))
config.substitutions.append(("%mp_src", config.mp_src_root))
config.substitutions.append(("%mp_bin", config.mp_tools_dir))
# Splits .onnxtxt test files at "# -----" lines (written here, not in the
# RUN line, where the marker itself would split the file).
config.substitutions.append(("%split_onnx", "--split-input-file=\"# -----\""))

llvm_config.with_system_environment(["HOME", "TMPDIR"])
tool_dirs = [config.mp_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["mp-opt", "mp-translate", "mp-compile", "mp-run"], tool_dirs)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# scripts/sanitize.sh runs the suite against ASan+UBSan tools (build-asan/):
# feature "asan", for the few tests that cannot run there (each says why).
if os.environ.get("MP_SANITIZED"):
    config.available_features.add("asan")

# Tests that need Debian's libonnx-testdata or PyTorch declare REQUIRES.
if os.path.isdir("/usr/share/libonnx-testdata/data/node"):
    config.available_features.add("onnx-testdata")
def _py_has(mod):
    import subprocess
    return subprocess.call([config.python_executable, "-c", "import " + mod],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0
for mod in ["torch", "onnx", "onnxruntime"]:
    if _py_has(mod):
        config.available_features.add(mod)
