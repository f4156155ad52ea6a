# The platform's entry points. Everything runs natively against PostgreSQL, RabbitMQ and Redis
# on localhost (see README.md); `docker compose up` is the alternative where Docker runs.
# A fresh machine has only python3: `make` installs uv itself (scripts/install-uv.sh, pip --user).
export PATH := $(HOME)/.local/bin:$(PATH)
UV ?= uv
RUN := $(UV) run --frozen
PACKAGES := libs/common $(sort $(wildcard services/*) services/web/server) deploy
# Every Python package, type-checked by `make lint` (strict, see pyproject.toml): src/ at once,
# then each package's tests/ on their own (every package's tests are the module `tests`).
TYPED := libs/common $(filter-out services/web,$(sort $(wildcard services/*))) services/web/server
# Also type-checked: deploy/tests (module `tests`, as above), bench/ (scripts, strict) and
# tests-e2e/ (top-level modules: pyproject.toml's tests override names each of them, so that
# its run reuses the cache the others left; a relaxation on the command line would not).

.PHONY: uv install tools up down status test e2e load bench lint lint-ruff lint-types format events-doc metrics-doc web-deps web-lint web-test

uv:
	@bash scripts/install-uv.sh

# The sync, then the bytecode compiled once, so that no process compiles what it imports again
# (PYTHONDONTWRITEBYTECODE: see the script).
install: uv
	$(UV) sync --all-packages --locked
	@bash scripts/compile-bytecode.sh

# What the tests need beyond the Python packages (promtool, docker-compose, chromium from
# Debian's packages; the console's and the browser tests' npm packages), installed only when
# missing: a test never skips because a tool is absent.
tools: install web-deps
	@bash deploy/install-tools.sh
	@bash scripts/install-test-tools.sh

up: install
	$(RUN) swe-stack up

down: uv
	$(RUN) swe-stack down

status: uv
	$(RUN) swe-stack status

# Each package's tests run in their own pytest process: they own their fixtures and database.
test: install tools
	@set -e; for pkg in $(PACKAGES); do \
		if [ -d $$pkg/tests ]; then \
			echo "== $$pkg"; \
			$(RUN) pytest $$pkg/tests -q -p no:cacheprovider; \
		fi; \
	done
	@$(MAKE) --no-print-directory web-test

# Black-box tests of the whole stack through the gateway (the stack is started and stopped by
# the tests, isolated from a running `make up`): the journeys, the faults (on a stack of their
# own) and the load run, which shares the journeys' stack and prints its figures.
e2e: install tools
	$(RUN) pytest tests-e2e -q -p no:cacheprovider

# The load run alone (its own stack; bench/results/load.json).
load: install
	$(RUN) pytest tests-e2e/test_load.py -q -p no:cacheprovider

bench: install
	$(RUN) python bench/run_all.py

# `make lint` is its parts in turn; .pre-commit-config.yaml runs the same parts as hooks.
lint: install
	@$(MAKE) --no-print-directory lint-ruff lint-types web-lint

lint-ruff:
	$(RUN) ruff check .
	$(RUN) ruff format --check .

lint-types:
	$(RUN) mypy $(addsuffix /src,$(TYPED))
	@set -e; for pkg in $(TYPED) deploy; do \
		echo "mypy $$pkg/tests"; MYPYPATH=$$pkg $(RUN) mypy --explicit-package-bases $$pkg/tests; \
	done
	$(RUN) mypy --explicit-package-bases bench
	$(RUN) mypy --explicit-package-bases tests-e2e

format: install
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

# The web console (services/web, Node 20+): `npm ci` first when node_modules is missing or older
# than package-lock.json (a fresh machine, a pulled lock change).
WEB := services/web

web-deps:
	@if [ ! -f $(WEB)/node_modules/.package-lock.json ] || \
		[ $(WEB)/package-lock.json -nt $(WEB)/node_modules/.package-lock.json ]; then \
		echo "== $(WEB): npm ci"; cd $(WEB) && npm ci --no-audit --no-fund; \
	fi

# Biome (format + lint), tsc --noEmit, and the generated client checked against openapi.json.
web-lint: web-deps
	cd $(WEB) && npm run lint && npm run typecheck && npm run check-client

web-test: web-deps
	@echo "== $(WEB)"
	cd $(WEB) && npm test

events-doc: install
	$(RUN) python -m swe_common.events.docs > docs/events.md.tmp && mv docs/events.md.tmp docs/events.md
	$(RUN) python -m swe_common.events.asyncapi > docs/asyncapi.yaml.tmp && mv docs/asyncapi.yaml.tmp docs/asyncapi.yaml

# docs/metrics.md from the metric definitions (a test fails when it is stale).
metrics-doc: install
	$(RUN) python -m swe_common.metrics_docs > docs/metrics.md.tmp && mv docs/metrics.md.tmp docs/metrics.md
