// Training end to end on the CPU runtime: the bundled digits MLP (PyTorch
// export) compiled with mp-compile into an AdamW train_step in f32, in AMP f16
// (f32 master weights, dynamic loss scaling) and in AMP bf16, trained 400
// steps on 1408 digits, evaluated on 320 held-out ones.
// RUN: rm -rf %t && mkdir -p %t
// RUN: /usr/bin/python3 %mp_src/python/digits_data.py %t/digits --batch 64
// RUN: mp-compile %mp_src/examples/digits_mlp.onnx --optimizer adamw --train-options "lr=0.01" -o %t/f32.mpb
// RUN: mp-compile %mp_src/examples/digits_mlp.onnx --optimizer adamw --train-options "lr=0.01" --amp f16 -o %t/f16.mpb
// RUN: mp-compile %mp_src/examples/digits_mlp.onnx --optimizer adamw --train-options "lr=0.01" --amp bf16 -o %t/bf16.mpb
// RUN: mp-run %t/f32.mpb --inputs %t/digits/train.npz --steps 400 --eval %t/digits/test.npz > %t/f32.txt
// RUN: mp-run %t/f16.mpb --inputs %t/digits/train.npz --steps 400 --eval %t/digits/test.npz > %t/f16.txt
// RUN: mp-run %t/bf16.mpb --inputs %t/digits/train.npz --steps 400 --eval %t/digits/test.npz > %t/bf16.txt
// RUN: FileCheck %s --input-file=%t/f32.txt
// RUN: FileCheck %s --input-file=%t/f16.txt --check-prefixes=CHECK,SCALED
// RUN: FileCheck %s --input-file=%t/bf16.txt
// The final loss (mean over the training set after the 400 steps; training
// is deterministic, so a second run reproduces it) of AMP is within 2% of
// f32's.
// RUN: mp-run %t/f32.mpb --inputs %t/digits/train.npz --steps 400 --eval %t/digits/train.npz > %t/f32.train.txt
// RUN: mp-run %t/f16.mpb --inputs %t/digits/train.npz --steps 400 --eval %t/digits/train.npz > %t/f16.train.txt
// RUN: mp-run %t/bf16.mpb --inputs %t/digits/train.npz --steps 400 --eval %t/digits/train.npz > %t/bf16.train.txt
// RUN: %python -c "import re,sys; l={p: float(re.search(r'mean loss ([0-9.]+)', open('%t/'+p+'.train.txt').read()).group(1)) for p in ('f32','f16','bf16')}; r={p: abs(l[p]-l['f32'])/l['f32'] for p in ('f16','bf16')}; print('relative final-loss difference', r); sys.exit(0 if max(r.values()) <= 0.02 else 1)" | FileCheck %s --check-prefix=LOSS

// CHECK: step    400  loss
// SCALED-SAME: loss-scale
// CHECK: 400 steps of 'train_step' on cpu
// CHECK: accuracy: {{(9[7-9]|100)\.[0-9]+}}%
// LOSS: relative final-loss difference
