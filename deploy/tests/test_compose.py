"""docker-compose.yml: valid for docker-compose and the Compose spec, and shaped as issue 8 asks."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import DB_SERVICES, ROOT, SERVICES, check_collector_config, run, tool
from .conftest import OBSERVABILITY as OBSERVABILITY_DIR

COMPOSE = ROOT / "docker-compose.yml"
SECRETS = {
    "POSTGRES_PASSWORD": "pg-secret",
    "RABBITMQ_PASSWORD": "mq-secret",
    "AUTH_KEY_ENCRYPTION_KEY": "k" * 40,
    "PROJECTS_WEBHOOK_SECRET_KEY": "w" * 40,
    "ISSUES_GITHUB_TOKEN_KEY": "g" * 40,
}
INFRA = {"postgres", "rabbitmq", "redis"}
OBSERVABILITY = {"prometheus", "grafana"}
# Also in the observability profile: the OpenTelemetry Collector and the trace and log stores.
TRACING = {"otel-collector", "tempo", "loki"}
# Published to the host: the gateway (public) and RabbitMQ's management UI (loopback).
ALLOWED_PUBLISHED = {("gateway", 8000), ("rabbitmq", 15672)}
# Only with --profile observability, on loopback.
ALLOWED_OBSERVABILITY_PUBLISHED = {("prometheus", 9090), ("grafana", 3000)}


def compose_config(*args: str, env: dict[str, str] | None = None):
    return run(
        [tool("docker-compose"), "-f", str(COMPOSE), "--project-directory", str(ROOT), *args],
        env={"COMPOSE_PROJECT_NAME": "swe", **(env if env is not None else SECRETS)},
    )


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    """The configuration as docker-compose resolves it (anchors, variables, profiles)."""
    result = compose_config("--profile", "observability", "config")
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    return yaml.safe_load(result.stdout)


@pytest.fixture(scope="module")
def default_services(resolved: dict[str, Any]) -> set[str]:
    """What `docker compose up` starts without a --profile."""
    return {name for name, svc in resolved["services"].items() if not svc.get("profiles")}


def ports_of(service: dict[str, Any]) -> list[tuple[str, int]]:
    """(host ip, published port) for each published port, short or long syntax."""
    found = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            found.append((port.get("host_ip", ""), int(port["published"])))
            continue
        parts = str(port).split("/")[0].split(":")
        if len(parts) == 3:
            found.append((parts[0], int(parts[1])))
        elif len(parts) == 2:
            found.append(("", int(parts[0])))
    return found


def mounts_of(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(type, source) for each volume, short or long syntax."""
    found = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            found.append((volume["type"], volume["source"]))
            continue
        source = str(volume).split(":")[0]
        found.append(("bind" if source.startswith(("/", ".")) else "volume", source))
    return found


def test_docker_compose_validates_the_file():
    result = compose_config("config", "-q")
    assert result.returncode == 0, f"docker-compose config -q:\n{result.stderr}"


def test_the_file_validates_against_the_compose_specification():
    schema = ["--builtin-schema", "vendor.compose-spec"]
    result = run([tool("check-jsonschema"), *schema, str(COMPOSE)])
    assert result.returncode == 0, f"compose-spec schema:\n{result.stdout}{result.stderr}"


def test_missing_secrets_stop_compose_before_anything_starts():
    result = compose_config("config", "-q", env={"POSTGRES_PASSWORD": "", "RABBITMQ_PASSWORD": ""})
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr or "RABBITMQ_PASSWORD" in result.stderr


def test_the_stack_holds_infrastructure_every_service_the_worker_and_migrations(
    default_services: set[str],
):
    expected = INFRA | {s.name for s in SERVICES} | {"agents-worker"}
    expected |= {f"migrate-{s.name}" for s in DB_SERVICES}
    assert expected <= default_services, f"missing: {sorted(expected - default_services)}"
    assert not ((OBSERVABILITY | TRACING) & default_services), "observability is a profile"


def test_observability_profile_adds_prometheus_and_grafana(resolved: dict[str, Any]):
    for name in OBSERVABILITY:
        assert resolved["services"][name]["profiles"] == ["observability"]


def one_shots(resolved: dict[str, Any]) -> set[str]:
    return {name for name, svc in resolved["services"].items() if svc.get("restart") == "no"}


def test_every_long_running_container_has_a_health_check(resolved: dict[str, Any]):
    runners = set(resolved["services"]) - one_shots(resolved)
    for name in sorted(runners):
        check = resolved["services"][name].get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name}: no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), f"{name}: {check['test']}"


def test_one_shot_containers_are_exactly_the_migrations(resolved: dict[str, Any]):
    assert one_shots(resolved) == {f"migrate-{s.name}" for s in DB_SERVICES}
    for service in DB_SERVICES:
        migrate = resolved["services"][f"migrate-{service.name}"]
        assert migrate["build"]["target"] == "migrate"
        assert migrate["build"]["dockerfile"] == "Dockerfile"
        assert migrate["build"]["args"]["SERVICE"] == service.name
        assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_every_python_service_is_built_from_the_one_dockerfile_with_its_name_and_port(
    resolved: dict[str, Any],
):
    for service in SERVICES:
        build = resolved["services"][service.name]["build"]
        if service.name == "web":
            assert build["dockerfile"] == "services/web/Dockerfile"
            continue
        assert build["dockerfile"] == "Dockerfile", service.name
        assert build["args"]["SERVICE"] == service.name
        assert build["args"]["PORT"] == str(service.port)


def test_services_start_after_their_migration_and_healthy_infrastructure(resolved: dict[str, Any]):
    for service in SERVICES:
        if service.name == "web":
            # Static files from its own image: nothing to wait for, no credentials to hold.
            web = resolved["services"]["web"]
            assert "depends_on" not in web
            assert not any("PASSWORD" in value for value in web["environment"].values())
            continue
        depends = resolved["services"][service.name]["depends_on"]
        assert depends["redis"]["condition"] == "service_healthy", service.name
        if service.migrations:
            migrate = depends[f"migrate-{service.name}"]
            assert migrate["condition"] == "service_completed_successfully", service.name
            for infra in INFRA:
                assert depends[infra]["condition"] == "service_healthy", (service.name, infra)
    worker = resolved["services"]["agents-worker"]
    assert worker["build"]["target"] == "worker"
    assert worker["depends_on"]["migrate-agents"]["condition"] == "service_completed_successfully"


def test_gateway_starts_after_every_service_is_healthy(resolved: dict[str, Any]):
    depends = resolved["services"]["gateway"]["depends_on"]
    for service in SERVICES:
        if service.name != "gateway":
            assert depends[service.name]["condition"] == "service_healthy", service.name


def published(resolved: dict[str, Any], names: set[str]) -> set[tuple[str, int]]:
    return {(name, port) for name in names for _, port in ports_of(resolved["services"][name])}


def test_only_the_gateway_and_the_rabbitmq_ui_are_published(
    resolved: dict[str, Any], default_services
):
    assert published(resolved, default_services) == ALLOWED_PUBLISHED
    assert ports_of(resolved["services"]["rabbitmq"]) == [("127.0.0.1", 15672)], (
        "the broker UI stays on loopback"
    )
    assert published(resolved, OBSERVABILITY) <= ALLOWED_OBSERVABILITY_PUBLISHED
    for name in OBSERVABILITY:
        for host_ip, _ in ports_of(resolved["services"][name]):
            assert host_ip == "127.0.0.1", f"{name} must stay on loopback"


def test_state_lives_in_named_volumes(resolved: dict[str, Any]):
    for name in ("postgres", "rabbitmq", "redis"):
        mounts = mounts_of(resolved["services"][name])
        assert any(kind == "volume" and src in resolved["volumes"] for kind, src in mounts), name


def test_only_the_worker_may_make_the_sandbox_namespaces(resolved: dict[str, Any]):
    """bubblewrap needs unshare(CLONE_NEWUSER), mount and a fresh /proc: no default
    seccomp/AppArmor profile and unmasked system paths, for the worker alone."""
    relaxed = {"seccomp=unconfined", "apparmor=unconfined", "systempaths=unconfined"}
    worker = resolved["services"]["agents-worker"]
    assert set(worker["build"]["args"]["APT_PACKAGES"].split()) >= {"git", "bubblewrap"}
    assert relaxed <= set(worker["security_opt"])
    assert "ALL" in worker["cap_drop"] and not worker.get("privileged")
    for name in [s.name for s in SERVICES]:
        assert not relaxed & set(resolved["services"][name].get("security_opt", [])), name


def test_service_containers_are_hardened(resolved: dict[str, Any]):
    for name in [s.name for s in SERVICES] + ["agents-worker"]:
        svc = resolved["services"][name]
        assert svc.get("read_only") is True, name
        assert "ALL" in svc.get("cap_drop", []), name
        assert "no-new-privileges:true" in svc.get("security_opt", []), name


def test_services_get_their_settings_from_the_environment(resolved: dict[str, Any]):
    env = resolved["services"]["projects"]["environment"]
    assert env["SWE_LOG_FORMAT"] == "json"
    assert env["SWE_DATABASE_URL"].startswith("postgresql+psycopg://swe:pg-secret@postgres:5432/")
    assert env["SWE_AMQP_URL"] == "amqp://swe:mq-secret@rabbitmq:5672/"
    assert env["SWE_REDIS_URL"].startswith("redis://redis:6379/")
    assert env["SWE_JWKS_URL"].startswith("http://auth:8001/")
    upstreams = yaml.safe_load(resolved["services"]["gateway"]["environment"]["GATEWAY_UPSTREAMS"])
    assert set(upstreams) == {s.name for s in SERVICES if s.name != "gateway"}


def test_observability_mounts_point_at_files_in_the_repository(resolved: dict[str, Any]):
    for name in OBSERVABILITY:
        binds = [src for kind, src in mounts_of(resolved["services"][name]) if kind == "bind"]
        assert binds, name
        for source in binds:
            assert Path(source).exists(), f"{name}: {source} is missing"


def test_the_observability_profile_adds_the_collector_tempo_and_loki_unpublished(
    resolved: dict[str, Any],
):
    for name in TRACING:
        service = resolved["services"][name]
        assert service["profiles"] == ["observability"], name
        assert not ports_of(service), f"{name} is published"
        assert service["networks"].keys() == {"backend"}, name
    collector = resolved["services"]["otel-collector"]
    binds = {src for kind, src in mounts_of(collector) if kind == "bind"}
    assert (ROOT / "deploy/observability/otel-collector/config.yaml").as_posix() in binds
    # The containers' log files, read-only: the collector ships them to Loki.
    read_only = [
        f"{v['source']}:{v['target']}:ro" if isinstance(v, dict) else v
        for v in collector["volumes"]
        if (v.get("read_only") if isinstance(v, dict) else str(v).endswith(":ro"))
    ]
    assert "/var/lib/docker/containers:/var/lib/docker/containers:ro" in read_only
    for name in ("otel-collector", "tempo"):
        for source in (
            src for kind, src in mounts_of(resolved["services"][name]) if kind == "bind"
        ):
            assert Path(source).exists() or source == "/var/lib/docker/containers", source


def test_tracing_is_off_unless_the_endpoint_is_set_and_then_reaches_the_collector():
    def env_of(extra: dict[str, str]) -> dict[str, str]:
        result = compose_config("config", env={**SECRETS, **extra})
        assert result.returncode == 0, result.stderr
        return yaml.safe_load(result.stdout)["services"]["issues"]["environment"]

    off = env_of({})
    assert off["OTEL_EXPORTER_OTLP_ENDPOINT"] == ""  # swe_common.tracing: off, no SDK at all
    on = env_of({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector:4318"})
    assert on["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
    assert on["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio"
    assert float(on["OTEL_TRACES_SAMPLER_ARG"]) == 1.0


def test_the_collector_sends_traces_to_tempo_and_log_lines_to_loki():
    config = yaml.safe_load((OBSERVABILITY_DIR / "otel-collector/config.yaml").read_text())
    check_collector_config(config, {"traces": "tempo:4317", "logs": "http://loki:3100/otlp"})
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == "0.0.0.0:4318"
    operators = config["receivers"]["filelog/containers"]["operators"]
    parser = next(op for op in operators if op["type"] == "trace_parser")
    assert parser["trace_id"]["parse_from"] == "attributes.trace_id"
    assert parser["span_id"]["parse_from"] == "attributes.span_id"
    tempo = yaml.safe_load((OBSERVABILITY_DIR / "tempo/tempo.yaml").read_text())
    assert tempo["server"]["http_listen_port"] == 3200
    assert tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].endswith(
        ":4317"
    )


def test_grafana_links_a_log_line_to_its_trace_and_a_span_to_its_log_lines():
    provisioned = yaml.safe_load(
        (OBSERVABILITY_DIR / "grafana/provisioning/datasources/traces-and-logs.yml").read_text()
    )
    sources = {d["uid"]: d for d in provisioned["datasources"]}
    tempo, loki = sources["tempo"], sources["loki"]
    assert tempo["type"] == "tempo" and tempo["url"] == "http://tempo:3200"
    assert loki["type"] == "loki" and loki["url"] == "http://loki:3100"
    assert tempo["jsonData"]["tracesToLogsV2"]["datasourceUid"] == "loki"
    assert "${__trace.traceId}" in tempo["jsonData"]["tracesToLogsV2"]["query"].replace("$$", "$")
    [field] = loki["jsonData"]["derivedFields"]
    assert field["datasourceUid"] == "tempo"
    # The regex finds the id in a log line as the services write it (structlog's JSON).
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    line = json.dumps({"event": "request", "trace_id": trace_id, "span_id": "b7ad6b7169203331"})
    match = re.search(field["matcherRegex"], line)
    assert match is not None and match.group(1) == trace_id
