#!/usr/bin/env bash
# Set up nlpfind in .venv (idempotent). torch is pinned and installed first so that pip takes the
# CPU build of that version instead of pulling a multi-GB CUDA build through a dependency.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
# constraints.txt holds the exact versions the shipped models were trained and tested with.
.venv/bin/python -m pip install -q "torch==2.13.0" -c constraints.txt
.venv/bin/python -m pip install -q -e ".[dev]" -c constraints.txt
# Headless Chromium for the HTML report test of `nlpfind compare` (skipped where it cannot be installed).
command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && (apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1) || true; }
