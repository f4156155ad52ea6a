"""Prometheus config, alert rules and Grafana dashboards, checked against the real /metrics.

Every service app runs in-process against a fresh test database (its migrations applied) and
answers /metrics; promtool checks each exposition, and every swe_* metric the rules and the
dashboards use must be one the code really exports.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from swe_common.migrations import upgrade_head
from swe_common.testing import create_test_database, drop_test_database

from .conftest import DB_SERVICES, OBSERVABILITY, ROOT, SERVICES, ServiceInfo, run, tool

PROBE = Path(__file__).parent / "_metrics_probe.py"
PROMETHEUS = OBSERVABILITY / "prometheus"
RULES = PROMETHEUS / "rules" / "swe.yml"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*_test.yml"))
DASHBOARDS = OBSERVABILITY / "grafana" / "dashboards"
CONCERNS = {"gateway", "services", "events", "agents"}
# The scrape config renames swe_<service>_http_<rest> to swe_http_<rest>{service="<service>"}.
HTTP_METRIC = re.compile(r"^swe_([a-z0-9]+)_http_(.+)$")
# RabbitMQ's own plugin (/metrics/detailed, families queue_coarse_metrics and
# queue_consumer_count): not runnable here, so the names are listed, not observed.
RABBITMQ_METRICS = {
    "rabbitmq_detailed_queue_messages",
    "rabbitmq_detailed_queue_messages_ready",
    "rabbitmq_detailed_queue_messages_unacked",
    "rabbitmq_detailed_queue_consumers",
}
PROMQL_WORDS = {
    "sum", "max", "min", "avg", "rate", "increase", "deriv", "histogram_quantile", "topk",
    "by", "and", "or", "unless", "absent", "up", "le", "bool", "without", "on", "ignoring",
    "label_values", "count", "irate", "offset", "time",
}  # fmt: skip


@pytest.fixture(scope="module")
def live_metrics() -> dict[str, str]:
    """Each service app's /metrics text, one process per app, all at once."""
    url = create_test_database("swe_test_deploy")
    try:
        for service in DB_SERVICES:
            upgrade_head(service.directory, url)
        procs = {
            s.name: subprocess.Popen(
                [sys.executable, str(PROBE), s.name, url],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for s in SERVICES
        }
        texts = {}
        for name, proc in procs.items():
            # A hang guard, not a speed check: 2 shared cores start 7 apps at once slowly.
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, f"{name}: the app did not serve /metrics:\n{err[-3000:]}"
            texts[name] = out
    finally:
        drop_test_database(url)
    return texts


def exported_names(texts: dict[str, str]) -> set[str]:
    """Sample names (histograms expanded) as Prometheus stores them after relabelling."""
    names: set[str] = set()
    for text in texts.values():
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(maxsplit=3)
                found = {name}
                if kind == "histogram":
                    found |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
                if kind == "counter" and not name.endswith("_total"):
                    found.add(f"{name}_total")
            elif line and not line.startswith("#"):
                found = {re.split(r"[{ ]", line, maxsplit=1)[0]}
            else:
                continue
            for metric in found:
                match = HTTP_METRIC.match(metric)
                names.add(f"swe_http_{match.group(2)}" if match else metric)
    return names


def dashboards() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def dashboard_exprs() -> list[tuple[str, str]]:
    return [
        (f"{name}: {panel['title']}", target["expr"])
        for name, board in dashboards().items()
        for panel in board["panels"]
        for target in panel.get("targets", [])
    ]


def rule_groups() -> list[dict[str, Any]]:
    return [group for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]]


def rule_exprs() -> list[tuple[str, str]]:
    groups = rule_groups()
    return [
        (rule.get("alert") or rule["record"], rule["expr"])
        for group in groups
        for rule in group["rules"]
    ]


def metric_names_in(expr: str) -> set[str]:
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # drop label values and strings
    expr = re.sub(r"\{[^}]*\}", "", expr)  # drop matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # drop ranges
    words = set(re.findall(r"\b[a-zA-Z_][a-zA-Z0-9_:]*\b", expr))
    expr_labels = set(re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr))
    labels = {w.strip() for group in expr_labels for w in group.split(",")}
    return {w for w in words - PROMQL_WORDS - labels if not w.startswith("__")}


# ---- promtool on live output ----


@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
def test_promtool_accepts_each_service_live_metrics(live_metrics, service: ServiceInfo):
    text = live_metrics[service.name]
    assert f"swe_{service.name}_" in text or service.name == "gateway", (
        f"{service.name}: none of its own metrics exported"
    )
    result = run([tool("promtool"), "check", "metrics"], input=text)
    assert result.returncode == 0, f"promtool check metrics:\n{result.stdout}{result.stderr}"


def test_services_export_the_request_metrics_the_rules_rename(live_metrics):
    for service in SERVICES:
        if service.name == "gateway":
            assert "swe_gateway_requests_total" in live_metrics["gateway"]
            continue
        text = live_metrics[service.name]
        assert f"swe_{service.name}_http_requests_total" in text, service.name
        assert f"swe_{service.name}_http_request_duration_highr_seconds_bucket" in text


# ---- rules and configuration ----


def test_promtool_accepts_the_alert_rules():
    assert RULES in RULE_FILES
    result = run([tool("promtool"), "check", "rules", *map(str, RULE_FILES)])
    assert result.returncode == 0, f"{result.stdout}{result.stderr}"


def test_alert_rules_pass_their_unit_tests():
    tested = set()
    for path in RULE_TESTS:
        tested |= {
            (path.parent / f).resolve() for f in yaml.safe_load(path.read_text())["rule_files"]
        }
        result = run([tool("promtool"), "test", "rules", str(path)])
        assert result.returncode == 0, f"{path.name}: {result.stdout}{result.stderr}"
    assert tested == {p.resolve() for p in RULE_FILES}, "a rules file without unit tests"


def test_every_operations_alert_has_a_unit_test():
    tested = {
        case["alertname"]
        for path in RULE_TESTS
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    }
    assert not _OPERATIONS_ALERTS - tested, f"untested: {_OPERATIONS_ALERTS - tested}"


# Issue 19 item 5: the operational metrics, alerted on (each with a promtool test).
_OPERATIONS_ALERTS = {
    "SweDatabasePoolExhausted",  # pool waiting
    "SweDatabaseSlowStatements",  # query duration
    "SweDatabaseStatementErrors",  # query errors
    "SweRedisErrors",  # Redis errors
    "SweOutboxEventsLate",  # age of the oldest unpublished event
    "SweEventLagHigh",  # consumer lag (time)
    "SweDeadLettersParked",  # DLQ depth, reported by the platform
    "SweRunQueueBacklog",  # run queue depth
    "SweAgentsWorkerSilent",  # worker heartbeat
    "SweAgentRunsFailing",  # runs by status
    "SweMailFailing",  # mail failed
}


def test_the_alerts_issue_19_asks_for_exist():
    alerts = {name for name, _ in rule_exprs()}
    assert alerts >= _OPERATIONS_ALERTS, f"missing: {_OPERATIONS_ALERTS - alerts}"


def test_the_alerts_issue_8_asks_for_exist():
    alerts = {name for name, _ in rule_exprs()}
    expected = {
        "SweHigh5xxRate",  # high 5xx rate
        "SweHighP99Latency",  # p99 latency
        "SweCircuitBreakerOpen",  # breaker open
        "SweUpstreamDown",  # upstream down
        "SweOutboxBacklogGrowing",  # outbox backlog growing
        "SweDeadLetterQueueNotEmpty",  # dead-letter queue not empty
        "SweConsumerLag",  # consumer lag
        "SweLockoutSpike",  # lockout spike
    }
    assert expected <= alerts, f"missing: {expected - alerts}"
    for group in rule_groups():
        for rule in group["rules"]:
            if "alert" in rule:
                assert rule["labels"]["severity"] in ("info", "warning", "critical")
                assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_promtool_accepts_the_compose_prometheus_config():
    result = run([tool("promtool"), "check", "config", str(PROMETHEUS / "prometheus.yml")])
    assert result.returncode == 0, f"{result.stdout}{result.stderr}"


def test_promtool_accepts_the_kubernetes_prometheus_config(tmp_path: Path):
    """Debian's promtool is built without Kubernetes discovery: check the rest of the file with
    each kubernetes_sd_configs replaced by a static target (relabelling, rules, params)."""
    config = yaml.safe_load((PROMETHEUS / "prometheus-kubernetes.yml").read_text())
    for job in config["scrape_configs"]:
        assert job.pop("kubernetes_sd_configs"), job["job_name"]
        job["static_configs"] = [{"targets": ["placeholder:80"]}]
    (tmp_path / "rules").mkdir()
    for rules in RULE_FILES:
        (tmp_path / "rules" / rules.name).write_text(rules.read_text())
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    result = run([tool("promtool"), "check", "config", str(path)])
    assert result.returncode == 0, f"{result.stdout}{result.stderr}"


def test_scrape_configs_rename_per_service_http_metrics_the_same_way():
    for name in ("prometheus.yml", "prometheus-kubernetes.yml"):
        config = yaml.safe_load((PROMETHEUS / name).read_text())
        job = next(j for j in config["scrape_configs"] if j["job_name"] == "swe")
        relabel = job["metric_relabel_configs"]
        assert {r["target_label"] for r in relabel} == {"service", "__name__"}
        for rule in relabel:
            assert re.compile(rule["regex"]).fullmatch("swe_projects_http_requests_total")


# ---- dashboards ----


def test_one_dashboard_per_concern_provisioned_from_this_folder():
    boards = dashboards()
    assert set(boards) == CONCERNS
    uids = [b["uid"] for b in boards.values()]
    assert len(set(uids)) == len(uids)
    for name, board in boards.items():
        assert board["panels"], name
        ids = [p["id"] for p in board["panels"]]
        assert len(set(ids)) == len(ids), f"{name}: duplicate panel ids"
        for panel in board["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] == "prometheus", f"{name}: {panel['title']}"
    provisioning = OBSERVABILITY / "grafana" / "provisioning"
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    assert datasource["datasources"][0]["uid"] == "prometheus"
    provider = yaml.safe_load((provisioning / "dashboards" / "swe.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/etc/grafana/dashboards"


def test_every_dashboard_query_is_valid_promql(tmp_path: Path):
    """promtool parses each query as a recording rule (Grafana's variables substituted)."""
    rules = []
    for index, (_, expr) in enumerate(dashboard_exprs()):
        expr = expr.replace("$__rate_interval", "5m")
        expr = re.sub(r"\$[a-z_]+", ".*", expr)
        rules.append({"record": f"dashboard:query_{index}", "expr": expr})
    path = tmp_path / "dashboards.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = run([tool("promtool"), "check", "rules", str(path)])
    assert result.returncode == 0, f"{result.stdout}{result.stderr}"


def test_every_metric_the_rules_and_dashboards_use_is_exported(live_metrics):
    exported = exported_names(live_metrics)
    recorded = {name for name, _ in rule_exprs() if ":" in name}
    unknown = []
    for where, expr in [*rule_exprs(), *dashboard_exprs()]:
        for metric in metric_names_in(expr):
            if metric in recorded or metric in RABBITMQ_METRICS:
                continue
            if metric.startswith("swe_") or metric.startswith("process_"):
                if metric not in exported:
                    unknown.append(f"{where}: {metric}")
            else:
                unknown.append(f"{where}: {metric} (not a platform or RabbitMQ metric)")
    assert not unknown, "metrics no service exports:\n" + "\n".join(sorted(set(unknown)))


def test_every_family_a_service_exports_is_in_the_metrics_catalog(live_metrics):
    """docs/metrics.md (generated from the definitions) names every swe_* family a service
    really serves; the per-service request families as swe_<service>_http_*."""
    from swe_common.metrics_docs import documented_names

    documented = documented_names(ROOT)
    missing = set()
    for service, text in live_metrics.items():
        for line in text.splitlines():
            if not line.startswith("# TYPE swe_"):
                continue
            _, _, name, kind = line.split(maxsplit=3)
            if name.endswith("_created"):  # prometheus_client's creation time of each series
                continue
            exposed = f"{name}_total" if kind == "counter" and not name.endswith("_total") else name
            generic = re.sub(r"^swe_([a-z0-9]+)_http_", "swe_<service>_http_", exposed)
            if exposed not in documented and generic not in documented:
                missing.add(f"{service}: {exposed}")
    assert not missing, "families missing from docs/metrics.md:\n" + "\n".join(sorted(missing))
