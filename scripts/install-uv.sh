#!/usr/bin/env bash
# Installs uv from PyPI when it is not on PATH (a fresh machine has only python3 and pip).
# The Makefile calls this before anything that needs uv; it puts ~/.local/bin on PATH itself.
set -euo pipefail
export PATH="$HOME/.local/bin:$PATH"
command -v uv >/dev/null 2>&1 && exit 0
echo "installing uv from PyPI (pip --user)"
# Debian's own python3 refuses --user installs (PEP 668) unless told this is deliberate.
python3 -m pip install --quiet --user uv \
  || python3 -m pip install --quiet --user --break-system-packages uv \
  || python3 -m pip install --quiet uv
command -v uv >/dev/null 2>&1 || { echo "uv is still not on PATH after pip install" >&2; exit 1; }
