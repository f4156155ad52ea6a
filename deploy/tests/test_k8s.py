"""k8s/: both overlays render with kustomize and every object validates against the schemas.

No cluster runs here: `kubectl kustomize` renders offline and kubernetes-validate checks each
object against the Kubernetes OpenAPI schemas it ships (strict: unknown fields are errors).
"""

from __future__ import annotations

import re
from typing import Any

import kubernetes_validate
import pytest
import yaml

from .conftest import (
    DB_SERVICES,
    K8S,
    SERVICES,
    check_collector_config,
    load_yaml_documents,
    run,
    tool,
)

OVERLAYS = ["dev", "prod"]
WORKLOADS = {s.name for s in SERVICES} | {"agents-worker"}
# k8s/components/tracing, in both overlays: the collector (Deployment) and Tempo (StatefulSet).
TRACING = {"otel-collector", "tempo"}
K8S_VERSION = kubernetes_validate.latest_version()


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    out = {}
    for overlay in OVERLAYS:
        result = run([tool("kubectl"), "kustomize", str(K8S / "overlays" / overlay)])
        assert result.returncode == 0, f"kubectl kustomize {overlay}:\n{result.stderr}"
        out[overlay] = load_yaml_documents(result.stdout)
    return out


def of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def walk(node: object, key: str):
    """Every value stored under ``key`` anywhere in ``node``."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from walk(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item, key)


def pod_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_validates_against_the_kubernetes_schemas(rendered, overlay):
    errors = []
    for obj in rendered[overlay]:
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message}")
    assert not errors, "\n".join(errors)


def test_the_validator_rejects_a_broken_object():
    broken = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"replicas": "two", "selector": {}, "template": {}},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_lands_in_the_overlay_namespace(rendered, overlay):
    namespace = {"dev": "swe-dev", "prod": "swe"}[overlay]
    for obj in rendered[overlay]:
        if obj["kind"] == "Namespace":
            assert obj["metadata"]["name"] == namespace
        else:
            assert obj["metadata"].get("namespace") == namespace, obj["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_has_deployment_service_hpa_pdb_and_configmap(rendered, overlay):
    objects = rendered[overlay]
    deployments = of_kind(objects, "Deployment")
    assert set(deployments) == WORKLOADS | {"otel-collector"}
    services = of_kind(objects, "Service")
    hpas = of_kind(objects, "HorizontalPodAutoscaler")
    pdbs = of_kind(objects, "PodDisruptionBudget")
    configmaps = {re.sub(r"-[a-z0-9]{10}$", "", n) for n in of_kind(objects, "ConfigMap")}
    for service in SERVICES:
        port = services[service.name]["spec"]["ports"][0]
        assert port["port"] == service.port, service.name
        assert f"swe-{service.name}" in configmaps, service.name
    for name in WORKLOADS:
        hpa = hpas[name]["spec"]
        target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert hpa["scaleTargetRef"] == target
        assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]
        assert pdbs[name]["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": name}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_non_root_read_only_and_unprivileged(rendered, overlay):
    pods = [
        (o["kind"], o["metadata"]["name"], o["spec"]["template"]["spec"])
        for o in rendered[overlay]
        if o["kind"] in ("Deployment", "Job")
    ]
    assert pods
    for kind, name, spec in pods:
        pod = spec.get("securityContext", {})
        assert pod.get("runAsNonRoot") is True, f"{kind}/{name}"
        assert pod.get("runAsUser", 0) != 0, f"{kind}/{name}"
        assert pod.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{kind}/{name}"
        assert spec.get("automountServiceAccountToken") is False, f"{kind}/{name}"
        for container in pod_containers(spec):
            where = f"{kind}/{name}/{container['name']}"
            sc = container.get("securityContext", {})
            assert sc.get("runAsNonRoot") is True, where
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("readOnlyRootFilesystem") is True, where
            assert sc.get("privileged", False) is False, where
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
            assert not sc.get("capabilities", {}).get("add"), where
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{where}: a read-only root needs a writable /tmp"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_worker_alone_gets_what_bubblewrap_needs(rendered, overlay):
    """The sandbox for repository code (bubblewrap) needs to make a user namespace and mount a
    fresh /proc: the worker's pod runs in its own user namespace with an unmasked /proc and
    without the runtime's seccomp/AppArmor profiles, every capability still dropped; no other
    workload gets any of that."""
    deployments = of_kind(rendered[overlay], "Deployment")
    worker = deployments["agents-worker"]["spec"]["template"]["spec"]
    assert worker["hostUsers"] is False
    container = worker["containers"][0]
    assert container["image"].rsplit("/", 1)[-1].startswith("agents-worker:")
    sc = container["securityContext"]
    assert sc["procMount"] == "Unmasked"
    assert sc["seccompProfile"] == {"type": "Unconfined"}
    assert sc["appArmorProfile"] == {"type": "Unconfined"}
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["allowPrivilegeEscalation"] is False
    assert sc["runAsNonRoot"] is True and sc["privileged"] is False
    for init in worker.get("initContainers", []):
        assert "procMount" not in init["securityContext"]
        assert "seccompProfile" not in init["securityContext"]
    for name, deployment in deployments.items():
        if name == "agents-worker":
            continue
        spec = deployment["spec"]["template"]["spec"]
        assert "hostUsers" not in spec, name
        for c in pod_containers(spec):
            relaxed = {"procMount", "seccompProfile", "appArmorProfile"}
            assert not relaxed & set(c.get("securityContext", {})), f"{name}/{c['name']}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_requests_and_limits(rendered, overlay):
    for obj in rendered[overlay]:
        if obj["kind"] not in ("Deployment", "Job", "StatefulSet"):
            continue
        for container in pod_containers(obj["spec"]["template"]["spec"]):
            where = f"{obj['kind']}/{obj['metadata']['name']}/{container['name']}"
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    assert resources.get(part, {}).get(resource), f"{where}: {part}.{resource}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_http_deployments_probe_their_health_endpoints(rendered, overlay):
    deployments = of_kind(rendered[overlay], "Deployment")
    for service in SERVICES:
        spec = deployments[service.name]["spec"]["template"]["spec"]
        container = spec["containers"][0]
        assert container["ports"][0] == {
            "name": "http",
            "containerPort": service.port,
            "protocol": "TCP",
        }
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["startupProbe"]["httpGet"]["path"] == "/health/live"
        grace = spec["terminationGracePeriodSeconds"]
        pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        # uvicorn's --timeout-graceful-shutdown is 20 s; the pod must get longer than that.
        assert grace >= pre_stop + 20 + 5, service.name
    worker = deployments["agents-worker"]["spec"]["template"]["spec"]
    probe = worker["containers"][0]["livenessProbe"]["exec"]["command"]
    assert probe == ["swe-healthcheck", "--worker"]
    assert worker["terminationGracePeriodSeconds"] >= 60, "runs need time to be handed back"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_migration_job_per_db_service_and_deployments_wait_for_it(rendered, overlay):
    jobs = of_kind(rendered[overlay], "Job")
    deployments = of_kind(rendered[overlay], "Deployment")
    assert set(jobs) == {f"{s.name}-migrate" for s in DB_SERVICES}
    for service in DB_SERVICES:
        job = jobs[f"{service.name}-migrate"]["spec"]
        command = job["template"]["spec"]["containers"][0]["command"]
        assert command == ["alembic", "-c", "/app/alembic.ini", "upgrade", "head"]
        assert job["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")
        init = deployments[service.name]["spec"]["template"]["spec"]["initContainers"][0]
        assert init["command"][-2:] == ["current", "--check-heads"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_referenced_never_committed_and_documented(rendered, overlay):
    objects = rendered[overlay]
    assert not [o for o in objects if o["kind"] == "Secret"], "a Secret with values is rendered"
    referenced = {(ref["name"], ref["key"]) for ref in walk(objects, "secretKeyRef")}
    assert referenced
    readme = (K8S / "README.md").read_text()
    for name, key in sorted(referenced):
        assert f"`{name}`" in readme and f"`{key}`" in readme, f"undocumented {name}/{key}"


def test_the_dev_overlay_runs_the_data_stores_and_prod_does_not(rendered):
    dev = of_kind(rendered["dev"], "StatefulSet")
    assert set(dev) == {"postgres", "rabbitmq", "redis", "tempo"}
    assert set(of_kind(rendered["prod"], "StatefulSet")) == {"tempo"}
    prod_images = {
        c["image"]
        for o in rendered["prod"]
        if o["kind"] in ("Deployment", "Job") and o["metadata"]["name"] not in TRACING
        for c in pod_containers(o["spec"]["template"]["spec"])
    }
    for image in prod_images:
        assert re.fullmatch(r"[a-z0-9.-]+/swe/[a-z-]+:[\w.-]+", image), image
        assert not image.endswith((":dev", ":latest")), image


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_goes_to_the_gateway_only(rendered, overlay):
    ingresses = list(of_kind(rendered[overlay], "Ingress").values())
    assert len(ingresses) == 1
    backends = {
        path["backend"]["service"]["name"]
        for rule in ingresses[0]["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == {"gateway"}
    if overlay == "prod":
        assert ingresses[0]["spec"]["tls"][0]["secretName"] == "swe-tls"
    for service in of_kind(rendered[overlay], "Service").values():
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP", service["metadata"]


def selected_names(selector: dict[str, Any], deployments: dict[str, dict[str, Any]]) -> set[str]:
    """Which deployments' pod labels a NetworkPolicy podSelector matches."""
    chosen = set()
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        ok = all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())
        for expr in selector.get("matchExpressions", []):
            value = labels.get(expr["key"])
            if expr["operator"] == "In":
                ok = ok and value in expr["values"]
            elif expr["operator"] == "Exists":
                ok = ok and value is not None
            else:
                pytest.fail(f"operator {expr['operator']} not understood by this check")
        if ok:
            chosen.add(name)
    return chosen


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default_and_admit_outsiders_only_to_the_gateway(
    rendered, overlay
):
    policies = of_kind(rendered[overlay], "NetworkPolicy")
    deployments = of_kind(rendered[overlay], "Deployment")
    deny = policies["default-deny-all"]["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    for name, policy in policies.items():
        for rule in policy["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                if "namespaceSelector" not in peer and "ipBlock" not in peer:
                    continue  # same-namespace pods
                source = peer.get("namespaceSelector", {}).get("matchLabels", {})
                namespace = source.get("kubernetes.io/metadata.name")
                targets = selected_names(policy["spec"]["podSelector"], deployments)
                if namespace == "monitoring":
                    ports = {p["port"] for p in rule["ports"]}
                    if name == "tempo-ingress":  # Grafana queries the trace store
                        assert ports == {3200}, f"{name}: monitoring reaches {ports}"
                        continue
                    assert ports <= {"http", "metrics", 15692}, (
                        f"{name}: monitoring reaches {ports}"
                    )
                    continue
                assert namespace == "ingress-nginx", f"{name}: admits {peer}"
                assert targets == {"gateway"}, f"{name}: outsiders reach {targets}"
                assert [p["port"] for p in rule["ports"]] == [8000]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_egress_only_to_datastores_dns_auth_and_nothing_else(rendered, overlay):
    """...and issues and agents to projects, for their read-your-writes fallback."""
    policies = of_kind(rendered[overlay], "NetworkPolicy")
    deployments = of_kind(rendered[overlay], "Deployment")
    allowed_ports = {53, 5432, 5671, 5672, 6379, 6380, 8001}
    for name, policy in policies.items():
        targets = selected_names(policy["spec"]["podSelector"], deployments)
        for rule in policy["spec"].get("egress", []):
            ports = {p["port"] for p in rule.get("ports", [])}
            assert ports, f"{name}: egress without a port restriction"
            if name == "gateway-egress-to-services":
                assert targets == {"gateway"}
                continue
            if name == "fallback-egress-to-projects":
                assert targets == {"issues", "agents"} and ports == {8002}
                assert rule["to"] == [
                    {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "projects"}}}
                ]
                continue
            if name == "platform-egress-to-otel-collector":
                # Spans, over OTLP/HTTP, to the collector alone.
                assert targets == WORKLOADS and ports == {4318}
                assert rule["to"] == [
                    {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "otel-collector"}}}
                ]
                continue
            if name == "otel-collector-egress-to-tempo":
                assert targets == {"otel-collector"} and ports == {4317}
                continue
            if name == "auth-smtp-egress":
                # Auth's mail relay (in the cluster or outside): SMTP ports, auth alone.
                assert targets == {"auth"} and ports == {25, 465, 587}
                continue
            if name == "public-https-egress":
                assert targets == {"agents-worker", "auth"} and ports == {443}
                block = rule["to"][0]["ipBlock"]
                assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} <= set(block["except"])
                continue
            assert ports <= allowed_ports, f"{name}: egress to {ports}"
    if overlay == "dev":
        to = policies["platform-egress-to-datastores"]["spec"]["egress"][0]["to"]
        datastores = {"matchLabels": {"app.kubernetes.io/component": "datastore"}}
        assert to == [{"podSelector": datastores}]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_process_exports_its_spans_to_the_collector_which_sends_them_to_tempo(
    rendered, overlay
):
    objects = rendered[overlay]
    configmaps = {
        re.sub(r"-[a-z0-9]{10}$", "", n): o for n, o in of_kind(objects, "ConfigMap").items()
    }
    platform = configmaps["swe-platform"]["data"]
    assert platform["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
    assert platform["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio"
    assert float(platform["OTEL_TRACES_SAMPLER_ARG"]) == {"dev": 1.0, "prod": 0.1}[overlay]
    for name, deployment in of_kind(objects, "Deployment").items():
        if name in WORKLOADS:
            refs = walk(deployment["spec"]["template"]["spec"]["containers"][0], "configMapRef")
            assert "swe-platform" in {re.sub(r"-[a-z0-9]{10}$", "", r["name"]) for r in refs}
    services = of_kind(objects, "Service")
    collector_ports = {p["port"] for p in services["otel-collector"]["spec"]["ports"]}
    assert {4317, 4318} <= collector_ports
    assert {3200, 4317} <= {p["port"] for p in services["tempo"]["spec"]["ports"]}
    collector = yaml.safe_load(configmaps["otel-collector-config"]["data"]["config.yaml"])
    check_collector_config(collector, {"traces": "tempo:4317"})
    tempo = yaml.safe_load(configmaps["tempo-config"]["data"]["tempo.yaml"])
    assert tempo["server"]["http_listen_port"] == 3200
    assert "otlp" in tempo["distributor"]["receivers"]
