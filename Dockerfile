# syntax=docker/dockerfile:1.7
# Every Python service's image (the web console has its own: services/web/Dockerfile). Build
# context: the repository root; SERVICE names the service, PORT its HTTP port (service.toml).
#   docker build --build-arg SERVICE=auth --build-arg PORT=8001 -t swe/auth .
#   docker build --build-arg SERVICE=auth --build-arg PORT=8001 --target migrate -t swe/auth-migrate .
#   docker build --build-arg SERVICE=agents --build-arg PORT=8003 --target worker -t swe/agents-worker .
#
# Only swe-${SERVICE}'s dependencies are installed, from uv.lock (uv sync --frozen --package).
# The final stages hold the virtualenv and nothing else of the build: no compiler, no uv,
# no pip or uv cache (the cache lives in a BuildKit cache mount, outside every layer).
# A container runs what `make up` runs: swe-serve (deploy/docker/serve.py) starts the process
# the service's service.toml describes.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13

FROM ${UV_IMAGE} AS uv

# The workspace's manifests alone: the dependency layer below is rebuilt only when they change.
FROM ${PYTHON_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN find . -type f ! -name pyproject.toml ! -name uv.lock -delete \
    && find . -depth -type d -empty -delete

FROM ${PYTHON_IMAGE} AS builder
ARG SERVICE
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /src
COPY --from=manifests /src ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package swe-${SERVICE}
COPY libs/common libs/common
COPY services/${SERVICE} services/${SERVICE}
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package swe-${SERVICE}
# What the image keeps of the service beside its venv: service.toml (swe-serve reads it) and,
# for a service with a database, alembic.ini and its migrations (the migrate target, and the
# Kubernetes Jobs and init containers that run alembic from the service image).
RUN mkdir /service \
    && cp services/${SERVICE}/service.toml /service/ \
    && if [ -f services/${SERVICE}/alembic.ini ]; then \
         cp -r services/${SERVICE}/alembic.ini services/${SERVICE}/migrations /service/; \
       fi

# The agents worker's test runtime: its own venv (/opt/test-runtime) holding exactly the lock's
# `test-runtime` group (pytest, pip), the Python the sandbox runs a repository's tests and its
# dependency install with. Only the worker target copies it: the service's own venv never holds
# a test tool, and the repository's code never sees the service's packages on its path.
FROM ${PYTHON_IMAGE} AS test-runtime
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/opt/test-runtime
WORKDIR /src
COPY --from=manifests /src ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-install-workspace --only-group test-runtime

FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
# What a service needs from the system beyond tini: the agents pass "git bubblewrap" (git for
# checkouts; bubblewrap, the sandbox repository code runs in: services/agents/README.md).
ARG APT_PACKAGES=""
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SWE_ENVIRONMENT=production \
    SWE_LOG_FORMAT=json
# tini as PID 1: it forwards SIGTERM and reaps the subprocesses a process leaves behind.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini ${APT_PACKAGES} \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 swe \
    && useradd --system --uid 10001 --gid swe --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin swe
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
COPY --chmod=0755 deploy/docker/healthcheck.py /usr/local/bin/swe-healthcheck
COPY --chmod=0755 deploy/docker/serve.py /usr/local/bin/swe-serve
COPY --from=builder /service /app
USER 10001:10001

# One-shot migration container: docker run --rm -e AUTH_DATABASE_URL=... swe/auth-migrate
# (services with a database only).
FROM runtime AS migrate
HEALTHCHECK NONE
ENTRYPOINT ["alembic", "-c", "/app/alembic.ini"]
CMD ["upgrade", "head"]

# The agents' run worker: competing consumers of the runs queue. It runs as uid 10001 (the
# runtime's USER): the analysis tools read repository content as that unprivileged user, so
# AGENTS_TOOL_SANDBOX=auto needs no bubblewrap for them. Repository code always runs under
# bubblewrap (APT_PACKAGES="git bubblewrap"), which needs user namespaces in the container
# (the worker's securityContext in k8s/base/agents-worker.yaml); without them such runs fail
# with sandbox_unavailable. Its tests run with the test runtime's Python (AGENTS_TEST_RUNTIME).
FROM runtime AS worker
COPY --from=test-runtime /opt/test-runtime /opt/test-runtime
ENV AGENTS_TEST_RUNTIME=/opt/test-runtime
# Without them the worker could run no repository code: a worker built without
# APT_PACKAGES="git bubblewrap" fails here rather than in every run.
RUN command -v bwrap && command -v git && /opt/test-runtime/bin/python -c "import pytest, pip"
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["swe-healthcheck", "--worker"]
ENTRYPOINT ["tini", "--", "swe-serve", "agents-worker"]

# The HTTP service (default target). It handles SIGTERM: it stops accepting, lets in-flight
# requests finish for up to 20 s (the orchestrator's grace period is longer), then runs the
# app's shutdown (outbox relay and consumers stop cleanly).
FROM runtime AS service
ARG PORT
# The gateway's GET /info answers these (--build-arg SWE_COMMIT=$(git rev-parse HEAD)
# --build-arg SWE_BUILD_TIME=$(date -u +%FT%TZ)); its GET /asyncapi.yaml serves the events'
# contract. Every image carries them: the same recipe for all, a few KiB.
ARG SWE_COMMIT=""
ARG SWE_BUILD_TIME=""
COPY docs/asyncapi.yaml /app/asyncapi.yaml
# uvicorn reads UVICORN_*, the gateway's launcher SWE_HOST/SWE_PORT; swe-healthcheck asks
# UVICORN_PORT.
ENV SWE_HOST=0.0.0.0 \
    SWE_PORT=${PORT} \
    UVICORN_HOST=0.0.0.0 \
    UVICORN_PORT=${PORT} \
    SWE_BUILD_COMMIT=${SWE_COMMIT} \
    SWE_BUILD_TIME=${SWE_BUILD_TIME} \
    SWE_ASYNCAPI_FILE=/app/asyncapi.yaml
EXPOSE ${PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["swe-healthcheck"]
ENTRYPOINT ["tini", "--", "swe-serve"]
