#!/usr/bin/env bash
# npm run models:train:plate-ocr [-- --seed N --samples N --epochs N --threads N ...]
#
# Trains the project's plate reader (models/vn-plate-ocr/2, or the folder given by --out: its name is
# the version) from synthetic plates only: installs Debian's python3-torch, python3-onnx, python3-pil,
# python3-numpy and the fonts when missing (as root; otherwise prints the apt-get command), generates
# the data (TRAIN_WORKERS processes, default 2; cached in chunks under data/train/vn-plate-ocr/, so an
# interrupted run resumes), trains on the CPU (TRAIN_THREADS, default 1 thread), exports model.onnx and
# writes card.json with its sha256 after every epoch. The same seed and arguments give the same model.
set -euo pipefail
cd "$(dirname "$0")/../../.."
. scripts/lib.sh

PY=/usr/bin/python3 # Debian's python: its torch, not a pyenv's
missing=()
[ -x "$PY" ] || missing+=(python3)
if [ -x "$PY" ]; then
  "$PY" -c 'import torch' 2>/dev/null || missing+=(python3-torch)
  "$PY" -c 'import onnx' 2>/dev/null || missing+=(python3-onnx)
  "$PY" -c 'import PIL' 2>/dev/null || missing+=(python3-pil)
  "$PY" -c 'import numpy' 2>/dev/null || missing+=(python3-numpy)
fi
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf ] || missing+=(fonts-dejavu-core fonts-dejavu-extra)
[ -f /usr/share/fonts/truetype/liberation/LiberationSansNarrow-Bold.ttf ] || missing+=(fonts-liberation)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

say "training vn-plate-ocr: progress below; 15-40 minutes on one thread of a 2-vCPU machine, depending on its load"
PYTHONDONTWRITEBYTECODE=1 "$PY" models/vn-plate-ocr/train/train.py "$@"
# The card in the house JSON style (lint checks it with prettier).
card=models/vn-plate-ocr/2/card.json
for ((i = 1; i <= $#; i++)); do [ "${!i}" = --out ] && j=$((i + 1)) && card="${!j}/card.json"; done
[ ! -x node_modules/.bin/prettier ] || node_modules/.bin/prettier --log-level warn --write "$card"
