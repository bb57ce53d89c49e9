#!/usr/bin/env bash
# Creates a Python venv with PyTorch for the reference scripts in tools/ (never needed by tests).
# Prefers the official PyTorch 2.x CPU wheel from a local wheel cache (what a fastai user runs);
# falls back to Debian's python3-torch (1.13, with OpenBLAS) when no wheel is cached.
set -euo pipefail
VENV=${1:-.venv}  # in the repo root (git-ignored)
apt-get install -y -qq sentencepiece libopenblas0-pthread python3-venv >/dev/null
wheel=$(ls /opt/wheels/torch-2*cpu*.whl /opt/pypi*/files/torch-2*.whl 2>/dev/null | head -1 || true)
if [ -n "$wheel" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$VENV"
  "$VENV/bin/pip" install -q --no-index --no-deps "$wheel"
  # torch 2.x needs a newer typing_extensions than Debian's; take the cached wheels.
  "$VENV/bin/pip" install -q --no-index --ignore-installed \
    --find-links /opt/pypi/files --find-links /opt/pypi-more/files \
    typing_extensions sympy mpmath filelock fsspec networkx
else
  apt-get install -y -qq python3-torch >/dev/null
  /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
"$VENV/bin/python" -c "import torch; print('torch', torch.__version__)"
