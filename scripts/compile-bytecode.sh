#!/usr/bin/env bash
# Compiles the environment's bytecode once (again when uv.lock changes) and the workspace's own
# sources on every call (compileall skips what is current: a second call takes a moment).
# Why: where PYTHONDONTWRITEBYTECODE is set (CI's machines set it), and always in the agents
# worker's analysis tools and sandboxed runs (they set it themselves), a Python process never
# writes the bytecode it compiles, so each one (every pytest process, every service of a test
# stack, every tool or subprocess a test starts) would compile all it imports from source again.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.local/bin:$PATH"

python=(uv run --frozen --no-sync python)
prefix=$("${python[@]}" -c 'import sys; print(sys.prefix)')
stamp=$prefix/.bytecode-compiled
if [ ! -f "$stamp" ] || [ uv.lock -nt "$stamp" ]; then
  echo "compiling the environment's bytecode"
  # -qq: a few third-party files are not Python 3 (templates, test data); they stay uncompiled.
  "${python[@]}" -m compileall -qq -j0 "$prefix/lib" >/dev/null || true
  touch "$stamp"
fi
# Errors are shown (a syntax error of ours), not fatal here: the tests and lint report them.
"${python[@]}" -m compileall -q -j0 libs/common/src services/*/src services/web/server/src || true
