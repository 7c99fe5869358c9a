#!/bin/sh
# Builds the demo model from nothing: word lists -> corpus -> tokens -> training -> ONNX int8
# -> checks against PyTorch, then installs it into models/demo-gpt2 (what the package ships).
# Development-time only (users and CI never run it). Needs Debian's python3-torch and
# python3-onnx (/usr/bin/python3), OpenBLAS (see README.md) and the project's node_modules
# (gpt-3-encoder, @faker-js/faker, @xenova/transformers).
# About 90 minutes on one core: run 1 from random weights, 3,200 steps (85 minutes at most);
# run 2 continues it, 900 steps at a lower learning rate (25 minutes at most).
set -eu
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}
BUILD=tools/demo-model/build
mkdir -p "$BUILD"
node tools/demo-model/names.mjs "$BUILD/names.json"
"$PY" tools/demo-model/corpus.py --names "$BUILD/names.json" --out "$BUILD/corpus.txt" --documents 80000
node tools/demo-model/tokenize.mjs "$BUILD/corpus.txt" "$BUILD/tokens.bin"
"$PY" tools/demo-model/train.py --tokens "$BUILD/tokens.bin" --out "$BUILD/demo-gpt2-run1.pt" \
  --steps 3200 --time-limit-minutes 85 --eval-every 400 --val-share 0.004
"$PY" tools/demo-model/train.py --tokens "$BUILD/tokens.bin" --out "$BUILD/demo-gpt2.pt" --init-from "$BUILD/demo-gpt2-run1.pt" \
  --steps 900 --lr 1e-3 --warmup 20 --seed 2 --time-limit-minutes 25 --eval-every 300 --val-share 0.004
"$PY" tools/demo-model/plot_loss.py tools/demo-model/loss-curve.svg "$BUILD/demo-gpt2-run1.json" "$BUILD/demo-gpt2.json"
"$PY" tools/demo-model/build.py --checkpoint "$BUILD/demo-gpt2.pt" --out "$BUILD/demo-gpt2" --reference "$BUILD/reference.json"
node tools/demo-model/verify.mjs "$BUILD/demo-gpt2" "$BUILD/reference.json"
# Only a model that passed the checks replaces the shipped one.
rm -rf models/demo-gpt2
cp -r "$BUILD/demo-gpt2" models/demo-gpt2
du -sh models/demo-gpt2
