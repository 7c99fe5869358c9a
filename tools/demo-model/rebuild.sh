#!/bin/sh
# Rebuilds models/demo-gpt2 from nothing: corpus -> tokens -> training -> ONNX int8 -> checks.
# Development-time only (users and CI never run it). Needs Debian's python3-torch and
# python3-onnx (/usr/bin/python3), OpenBLAS (see README.md) and the project's node_modules.
# About 90 minutes on one core: the shipped model's schedule, a 55-minute run from random
# weights then a 32-minute continuation at a lower learning rate.
set -eu
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}
BUILD=tools/demo-model/build
mkdir -p "$BUILD"
"$PY" tools/demo-model/corpus.py --out "$BUILD/corpus.txt" --documents 9000
node tools/demo-model/tokenize.mjs "$BUILD/corpus.txt" "$BUILD/tokens.bin"
"$PY" tools/demo-model/train.py --tokens "$BUILD/tokens.bin" --out "$BUILD/demo-gpt2-run1.pt" \
  --steps 1600 --time-limit-minutes 55
"$PY" tools/demo-model/train.py --tokens "$BUILD/tokens.bin" --out "$BUILD/demo-gpt2.pt" \
  --init-from "$BUILD/demo-gpt2-run1.pt" --steps 1000 --warmup 20 --lr 1.5e-3 --time-limit-minutes 32 --seed 2
"$PY" tools/demo-model/plot_loss.py tools/demo-model/loss-curve.svg "$BUILD/demo-gpt2-run1.json" "$BUILD/demo-gpt2.json"
"$PY" tools/demo-model/build.py --checkpoint "$BUILD/demo-gpt2.pt" --out models/demo-gpt2 --reference "$BUILD/reference.json"
node tools/demo-model/verify.mjs models/demo-gpt2 "$BUILD/reference.json"
du -sh models/demo-gpt2
