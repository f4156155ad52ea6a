"""What tracing costs the gateway: the same gateway with tracing off, on for every request, and
on for one new trace in ten, side by side.

``uv run python bench/tracing_bench.py`` starts the raw ASGI hello upstream of
``gateway_bench.py``, an OTLP/HTTP sink (it takes the spans as a collector would and counts
them), and three gateways (token verification and Redis rate limiting on, as in
``gateway_bench.py``) that differ only in ``OTEL_*``; wrk drives each in interleaved rounds (the
best round of each counts). Results: ``bench/results/gateway-tracing.json`` and a Markdown table.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from gateway_bench import (
    HERE,
    PATH,
    RESULTS,
    UPSTREAM_APPS,
    _forget_keys,
    ensure_tools,
    family,
    free_port,
    measure,
    start,
    token_and_jwks,
    unlimited_rate_limits,
    wait_http,
)

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
UPSTREAM = os.environ.get("BENCH_UPSTREAM", "asgi")
# An OTLP/HTTP sink: answers every export as a collector does (an empty
# ExportTraceServiceResponse) and counts the requests and bytes it took.
SINK = """
import sys
from aiohttp import web
seen = {"requests": 0, "bytes": 0}
async def export(request):
    seen["requests"] += 1
    seen["bytes"] += len(await request.read())
    return web.Response(body=b"", content_type="application/x-protobuf")
async def stats(_):
    return web.json_response(seen)
app = web.Application(client_max_size=64 * 1024 * 1024)
app.router.add_post("/v1/traces", export)
app.router.add_get("/stats", stats)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""
VARIANTS = {
    "tracing off": {},
    "tracing on, every request sampled": {"OTEL_TRACES_SAMPLER": "parentbased_always_on"},
    "tracing on, 1 new trace in 10 sampled": {
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.1",
    },
}


def run() -> dict[str, Any]:
    ensure_tools()
    load_average = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    token, jwks = token_and_jwks()
    run_dir = Path(tempfile.mkdtemp(prefix="tracing-bench-"))
    upstream_port, sink_port = free_port(), free_port()
    prefix = f"swe:gateway:bench:{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env |= {"GATEWAY_BENCH_JWKS": jwks, "PYTHONUNBUFFERED": "1"}
    procs: list[subprocess.Popen[bytes]] = []
    ports: dict[str, int] = {}
    try:
        procs.append(start(
            [sys.executable, "-m", "uvicorn", *UPSTREAM_APPS[UPSTREAM], "--app-dir", str(HERE),
             "--port", str(upstream_port), "--no-access-log", "--log-level", "warning"],
            env, run_dir / "upstream.log",
        ))  # fmt: skip
        procs.append(start([sys.executable, "-c", SINK, str(sink_port)], env, run_dir / "sink.log"))
        for name, otel in VARIANTS.items():
            ports[name] = free_port()
            gateway_env = {
                **env,
                **otel,
                "GATEWAY_PORT": str(ports[name]),
                "GATEWAY_METRICS_PORT": str(free_port()),
                "GATEWAY_UPSTREAMS": json.dumps({"projects": [f"http://127.0.0.1:{upstream_port}"]}),
                "GATEWAY_JWKS_URL": f"http://127.0.0.1:{upstream_port}/jwks.json",
                "GATEWAY_RATE_LIMIT_PREFIX": prefix,
                "GATEWAY_RATE_LIMITS": unlimited_rate_limits(),
                "GATEWAY_ACCESS_LOG": "false",
                "GATEWAY_LOG_LEVEL": "WARNING",
            }  # fmt: skip
            if otel:
                gateway_env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{sink_port}"
            log = run_dir / f"gateway-{len(ports)}.log"
            procs.append(start([sys.executable, "-m", "swe_gateway"], gateway_env, log))
        auth = {"Authorization": f"Bearer {token}"}
        wait_http(f"http://127.0.0.1:{upstream_port}{PATH}")
        for number, port in enumerate(ports.values(), start=1):
            wait_http(f"http://127.0.0.1:{port}/health/live", log=run_dir / f"gateway-{number}.log")
        gateways = {name: family(proc.pid) for name, proc in zip(VARIANTS, procs[2:], strict=True)}
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in VARIANTS}
        for number in range(ROUNDS):
            for name in VARIANTS:
                url = f"http://127.0.0.1:{ports[name]}{PATH}"
                rounds[name].append(measure(name, url, auth, gateways[name], warm=number == 0))
        results = {name: max(runs, key=lambda r: r["rps"]) for name, runs in rounds.items()}
        with urllib.request.urlopen(f"http://127.0.0.1:{sink_port}/stats", timeout=5) as answer:
            sink = json.loads(answer.read())
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        _forget_keys(prefix)
        shutil.rmtree(run_dir, ignore_errors=True)
    off = results["tracing off"]
    return {
        "rounds": ROUNDS,
        "upstream": UPSTREAM,
        "load_average": load_average,
        "results": results,
        "throughput_vs_off": {name: r["rps"] / off["rps"] for name, r in results.items()},
        "cpu_us_added": {
            name: r["cpu_us_per_request"] - off["cpu_us_per_request"] for name, r in results.items()
        },
        "sink": sink,
    }


def table(report: dict[str, Any]) -> str:
    rows = [
        "| gateway | req/s | vs off | p50 ms | p99 ms | CPU us/req | added CPU us/req |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in report["results"].items():
        rows.append(
            f"| {name} | {r['rps']:.0f} | {report['throughput_vs_off'][name]:.0%} "
            f"| {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['cpu_us_per_request']:.0f} "
            f"| {report['cpu_us_added'][name]:+.0f} |"
        )
    sink = report["sink"]
    rows += [
        "",
        f"Best of {report['rounds']} interleaved rounds; upstream: {report['upstream']} hello app; "
        f"the OTLP sink took {sink['requests']} exports ({sink['bytes'] / 1e6:.1f} MB). "
        f"Load average at start: {report['load_average']}.",
    ]
    return "\n".join(rows)


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    report = run()
    (RESULTS / "gateway-tracing.json").write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))


if __name__ == "__main__":
    main()
