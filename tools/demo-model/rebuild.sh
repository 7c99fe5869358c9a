#!/bin/sh
# Builds the demo model, version 2, from nothing: word lists -> corpus -> tokens -> training ->
# ONNX int8 -> checks, into tools/demo-model/build/demo-gpt2-v2 (the shipped models/demo-gpt2 is
# version 1, made by commit 15da72f's pipeline, until version 2 is good enough to replace it).
# Development-time only (users and CI never run it). Needs Debian's python3-torch and
# python3-onnx (/usr/bin/python3), OpenBLAS (see README.md) and the project's node_modules
# (gpt-3-encoder, @faker-js/faker, @xenova/transformers).
# About 90 minutes on one core: one run from random weights, 3,200 steps or 85 minutes.
set -eu
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}
BUILD=tools/demo-model/build
mkdir -p "$BUILD"
node tools/demo-model/names.mjs "$BUILD/names.json"
"$PY" tools/demo-model/corpus.py --names "$BUILD/names.json" --out "$BUILD/corpus.txt" --documents 80000
node tools/demo-model/tokenize.mjs "$BUILD/corpus.txt" "$BUILD/tokens.bin"
"$PY" tools/demo-model/train.py --tokens "$BUILD/tokens.bin" --out "$BUILD/demo-gpt2.pt" \
  --steps 3200 --time-limit-minutes 85 --eval-every 400 --val-share 0.004
"$PY" tools/demo-model/plot_loss.py "$BUILD/loss-curve-v2.svg" "$BUILD/demo-gpt2.json"
"$PY" tools/demo-model/build.py --checkpoint "$BUILD/demo-gpt2.pt" --out "$BUILD/demo-gpt2-v2" --reference "$BUILD/reference.json"
node tools/demo-model/verify.mjs "$BUILD/demo-gpt2-v2" "$BUILD/reference.json"
du -sh "$BUILD/demo-gpt2-v2"
