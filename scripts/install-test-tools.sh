#!/usr/bin/env bash
# Installs what the browser tests and the console build need, only when missing or stale:
#   chromium          Debian's package (/usr/bin/chromium): Playwright drives it headless; its
#                     own browser download is never used (the Python package comes from the
#                     workspace's dev group, installed by `uv sync`)
#   tests-e2e/web     npm ci: axe-core, injected into pages by the accessibility checks
# Nothing is downloaded from anywhere but Debian's packages and the npm registry. Safe to run
# again; `make test` and `make e2e` run it (through `make tools`, which also runs `make web-deps`:
# npm ci for the console itself).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/install-test-tools.sh: need root to apt-get install chromium" >&2
    exit 1
  fi
  echo "installing from Debian: chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "scripts/install-test-tools.sh: npm is missing: install Node.js 20+ with npm" \
    "(Debian: apt-get install nodejs npm)" >&2
  exit 1
fi

# npm ci in $1 when node_modules is missing or older than the lock file.
npm_ci() {
  local dir=$1 stamp=$1/node_modules/.package-lock.json
  if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
    echo "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
npm_ci tests-e2e/web

test -f tests-e2e/web/node_modules/axe-core/axe.min.js || { echo "axe-core missing" >&2; exit 1; }
echo "browser test tools ready: $(/usr/bin/chromium --version 2>/dev/null | head -1)," \
  "axe-core $(node -p "require('./tests-e2e/web/node_modules/axe-core/package.json').version")"
