"""Gateway benchmark: one upstream, nginx in front of it, the gateway in front of it.

``uv run python bench/gateway_bench.py`` installs nginx and wrk with apt-get if missing,
starts a uvicorn hello upstream, nginx (``proxy_pass`` with keep-alive) and the gateway with
token verification and Redis rate limiting on (a valid token, a generous limit; also without the
rate limit, and with the access log on), then drives each with wrk (same threads, connections
and duration) and prints a Markdown table with each one's CPU per request; results go to
``bench/results/gateway-fastapi.json`` (FastAPI upstream) and ``gateway.json`` (raw ASGI
upstream). ``BENCH_UPSTREAM=asgi`` runs one of them. Load comes from wrk, never from Python.

``GATEWAY_BENCH_BASELINE=<checkout>`` (e.g. ``/work/baseline``, a clean checkout of an earlier
commit) adds a target: the same gateway (JWT and Redis rate limit on) running that checkout's
code, its rounds interleaved with this code's, so before and after come from one run; the
report then adds the baseline's ratio to nginx and its CPU per request.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from served import baseline_env

from swe_common.testing import free_port

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PATH = "/api/v1/projects/bench"
THREADS, CONNECTIONS = 2, 64
LIGHT_CONNECTIONS, LIGHT_SECONDS = 2, 4
# Paced: the full 64 connections, each pausing between requests (wrk's delay() hook), so the
# offered load (~64 / (PACE_MS + latency)) stays below every target's capacity and p50 shows
# the latency a proxy adds under concurrency rather than the queue a saturated one builds.
PACE_MS = 20
# Two upstreams, one after the other in the same run: a FastAPI hello app (what every service
# behind the gateway is, and the upstream of the reference figures: FastAPI ~8,500 req/s, nginx
# in front ~9,500, a raw ASGI + aiohttp proxy ~6,500), then a raw ASGI hello app, 4-5x cheaper
# per request, which leaves nginx nearly all the CPU and shows the proxies' own cost starkly.
UPSTREAM_KINDS = os.environ.get("BENCH_UPSTREAM", "fastapi,asgi").split(",")
UPSTREAM_APPS = {
    "fastapi": ["--factory", "gateway_bench:hello_fastapi"],
    "asgi": ["gateway_bench:hello"],
}
DURATION, WARMUP = int(os.environ.get("BENCH_SECONDS", "8")), 3
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
JWKS_ENV = "GATEWAY_BENCH_JWKS"
BASELINE = "gateway, baseline code"

# -- the upstream: a raw ASGI hello app (also serving the bench's JWKS) -------------------


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"].endswith("jwks.json"):
        body = os.environ[JWKS_ENV].encode()
    else:
        body = b'{"hello":"world"}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def hello_fastapi() -> Any:
    """The same answers from a FastAPI app, like every real service (BENCH_UPSTREAM=fastapi)."""
    from fastapi import FastAPI, Response

    app = FastAPI()

    @app.get("/jwks.json")
    async def jwks() -> Response:
        return Response(os.environ[JWKS_ENV], media_type="application/json")

    @app.get("/health/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(PATH)
    async def bench() -> dict[str, str]:
        return {"hello": "world"}

    return app


# -- helpers ----------------------------------------------------------------------------


def ensure_tools() -> None:
    missing = [
        tool
        for tool in ("nginx", "wrk")
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists()
    ]
    if not missing:
        return
    print(f"installing {', '.join(missing)} with apt-get", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "nginx-light", "wrk"], check=True, env=env)


def nginx_binary() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def unlimited_rate_limits() -> str:
    """GATEWAY_RATE_LIMITS of the default's shape (a minute and an hour window per role, both
    counted in the one Redis call), with quotas the load never reaches (the settings' ceiling)."""
    roles = ("anonymous", "readonly", "user", "agent", "admin")
    return json.dumps({role: {"minute": 10**8, "hour": 10**8} for role in roles})


def wait_http(url: str, timeout: float = 180, log: Path | None = None) -> None:
    """Wait for ``url`` to answer; if it never does, say why with the end of the server's log.
    (Minutes: on a shared machine under load, four gateways starting at once took over 60 s.)"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    said = "\n".join(log.read_text(errors="replace").splitlines()[-15:]) if log else ""
    raise SystemExit(f"{url} did not come up within {timeout}s\n{said}")


def b64url(number: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes(32, "big")).rstrip(b"=").decode()


def token_and_jwks() -> tuple[str, str]:
    from swe_common.testing import TokenFactory

    factory = TokenFactory()
    numbers = factory.private_key.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x), "y": b64url(numbers.y),
           "kid": factory.kid, "use": "sig", "alg": "ES256"}  # fmt: skip
    return factory.token("bench-user", ttl_seconds=3600), json.dumps({"keys": [jwk]})


def parse_wrk(output: str) -> dict[str, float]:
    def ms(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return {
        "rps": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def wrk(
    url: str,
    headers: dict[str, str],
    seconds: int,
    connections: int = CONNECTIONS,
    script: Path | None = None,
) -> dict[str, float]:
    threads = min(THREADS, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    return parse_wrk(result.stdout)


def family(pid: int) -> list[int]:
    """The process and its children (nginx and uvicorn workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(p) for p in children.read_text().split()] if children.exists() else []
    return [pid, *kids]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    name: str, url: str, headers: dict[str, str], pids: list[int], *, warm: bool
) -> dict[str, float]:
    """wrk's figures plus the CPU the proxy under test spent per request (all its processes)."""
    wrk(url, headers, WARMUP if warm else 1)  # warm the pools, caches and keep-alive connections
    before = sum(cpu_seconds(pid) for pid in pids)
    result = wrk(url, headers, DURATION)
    spent = sum(cpu_seconds(pid) for pid in pids) - before
    result["cpu_us_per_request"] = spent / max(1, result["rps"] * DURATION) * 1e6
    print(f"  {name}: {result['rps']:.0f} req/s, p50 {result['p50_ms']:.2f} ms", file=sys.stderr)
    return result


# -- the run ----------------------------------------------------------------------------


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=False)  # fmt: skip


def run(kind: str) -> dict[str, Any]:
    ensure_tools()
    # The machine is shared: record how busy it was, the figures depend on it.
    load_average = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    token, jwks = token_and_jwks()
    run_dir = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    upstream_port, nginx_port, gateway_port, bare_port = (free_port() for _ in range(4))
    metrics_port, bare_metrics_port = free_port(), free_port()
    logged_port, logged_metrics_port = free_port(), free_port()
    prefix = f"swe:gateway:bench:{uuid.uuid4().hex[:8]}"
    workers = int(os.environ.get("BENCH_GATEWAY_WORKERS", "1"))
    env = {**os.environ, JWKS_ENV: jwks, "PYTHONUNBUFFERED": "1"}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(start(
            [sys.executable, "-m", "uvicorn", *UPSTREAM_APPS[kind], "--app-dir", str(HERE),
             "--port", str(upstream_port), "--no-access-log", "--log-level", "warning",
             "--no-proxy-headers"],
            env, run_dir / "upstream.log",
        ))  # fmt: skip
        conf = (HERE / "nginx" / "nginx.conf.template").read_text()
        for key, value in {"workers": workers, "run_dir": run_dir, "port": nginx_port,
                           "upstream_port": upstream_port}.items():  # fmt: skip
            conf = conf.replace("{" + key + "}", str(value))
        (run_dir / "nginx.conf").write_text(conf)
        procs.append(start([nginx_binary(), "-c", str(run_dir / "nginx.conf"), "-p", str(run_dir)],
                           env, run_dir / "nginx.log"))  # fmt: skip
        upstreams = {"projects": [f"http://127.0.0.1:{upstream_port}"]}
        gateway_env = {
            **env,
            "GATEWAY_PORT": str(gateway_port),
            "GATEWAY_METRICS_PORT": str(metrics_port),
            "GATEWAY_WORKERS": str(workers),
            "GATEWAY_UPSTREAMS": json.dumps(upstreams),
            "GATEWAY_JWKS_URL": f"http://127.0.0.1:{upstream_port}/jwks.json",
            "GATEWAY_RATE_LIMIT_PREFIX": prefix,
            "GATEWAY_RATE_LIMITS": unlimited_rate_limits(),
            "GATEWAY_ACCESS_LOG": "false",
            "GATEWAY_LOG_LEVEL": "WARNING",
        }  # fmt: skip
        procs.append(start([sys.executable, "-m", "swe_gateway"], gateway_env,
                           run_dir / "gateway.log"))  # fmt: skip
        # The same gateway without rate limiting, to show what the Redis round trip costs.
        bare_env = {**gateway_env, "GATEWAY_PORT": str(bare_port),
                    "GATEWAY_METRICS_PORT": str(bare_metrics_port),
                    "GATEWAY_RATE_LIMIT_ENABLED": "false"}  # fmt: skip
        procs.append(start([sys.executable, "-m", "swe_gateway"], bare_env,
                           run_dir / "gateway-bare.log"))  # fmt: skip
        # The same gateway with its access log on (the default in production: one JSON line per
        # request, to a file here), to show what that line costs.
        logged_env = {**gateway_env, "GATEWAY_PORT": str(logged_port),
                      "GATEWAY_METRICS_PORT": str(logged_metrics_port),
                      "GATEWAY_ACCESS_LOG": "true", "GATEWAY_LOG_LEVEL": "INFO",
                      "GATEWAY_LOG_FORMAT": "json"}  # fmt: skip
        procs.append(start([sys.executable, "-m", "swe_gateway"], logged_env,
                           run_dir / "gateway-logged.log"))  # fmt: skip
        # GATEWAY_BENCH_BASELINE: the same gateway on an earlier checkout's code (before/after).
        before = baseline_env("GATEWAY_BENCH_BASELINE")
        before_port = free_port()
        if before is not None:
            before_env = {**gateway_env, **before, "GATEWAY_PORT": str(before_port),
                          "GATEWAY_METRICS_PORT": str(free_port())}  # fmt: skip
            procs.append(start([sys.executable, "-m", "swe_gateway"], before_env,
                               run_dir / "gateway-baseline.log"))  # fmt: skip
            wait_http(f"http://127.0.0.1:{before_port}/health/live",
                      log=run_dir / "gateway-baseline.log")  # fmt: skip
        auth = {"Authorization": f"Bearer {token}"}
        wait_http(f"http://127.0.0.1:{upstream_port}{PATH}")
        wait_http(f"http://127.0.0.1:{nginx_port}{PATH}")
        wait_http(f"http://127.0.0.1:{gateway_port}/health/live", log=run_dir / "gateway.log")
        wait_http(f"http://127.0.0.1:{bare_port}/health/live", log=run_dir / "gateway-bare.log")
        wait_http(f"http://127.0.0.1:{logged_port}/health/live", log=run_dir / "gateway-logged.log")
        probe = urllib.request.Request(f"http://127.0.0.1:{gateway_port}{PATH}", headers=auth)
        with urllib.request.urlopen(probe, timeout=5) as response:
            assert response.status == 200, "the gateway must accept the bench token"
            assert response.headers["X-RateLimit-Limit"], "rate limiting must be on"
        upstream, nginx, gateway, bare, logged = (family(p.pid) for p in procs[:5])
        targets = {
            "direct": (f"http://127.0.0.1:{upstream_port}{PATH}", upstream),
            "nginx": (f"http://127.0.0.1:{nginx_port}{PATH}", nginx),
            "gateway": (f"http://127.0.0.1:{gateway_port}{PATH}", gateway),
            "gateway, auth only (no rate limit)": (f"http://127.0.0.1:{bare_port}{PATH}", bare),
            "gateway, access log on": (f"http://127.0.0.1:{logged_port}{PATH}", logged),
        }
        if before is not None:
            targets[BASELINE] = (f"http://127.0.0.1:{before_port}{PATH}", family(procs[5].pid))
        # The machine is shared and its load swings: interleave the targets over ROUNDS rounds
        # and keep each target's best round, so one busy moment does not decide a comparison.
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        for number in range(ROUNDS):
            for name, (url, pids) in targets.items():
                rounds[name].append(measure(name, url, auth, pids, warm=number == 0))
        results = {name: max(runs, key=lambda r: r["rps"]) for name, runs in rounds.items()}
        results["gateway"].update(gateway_counters(metrics_port))
        # Latency the gateway adds when not saturated: few connections, same paths.
        light = {
            name: wrk(targets[name][0], auth, LIGHT_SECONDS, connections=LIGHT_CONNECTIONS)
            for name in ("direct", "nginx", "gateway")
        }
        pace = run_dir / "pace.lua"
        pace.write_text(f"function delay()\n  return {PACE_MS}\nend\n")
        paced = {
            name: wrk(targets[name][0], auth, LIGHT_SECONDS * 2, script=pace)
            for name in ("direct", "nginx", "gateway")
        }
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()  # nginx and uvicorn stop their workers
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        _forget_keys(prefix)
        if os.environ.get("BENCH_KEEP_LOGS"):
            print(f"logs kept in {run_dir}", file=sys.stderr)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
    report: dict[str, Any] = {
        "rounds": ROUNDS,
        "threads": THREADS, "connections": CONNECTIONS, "duration_seconds": DURATION,
        "load_average": load_average,
        "upstream": kind,
        "gateway_workers": workers, "nginx_workers": workers, "results": results,
        "gateway_vs_nginx_throughput": results["gateway"]["rps"] / results["nginx"]["rps"],
        # CPU per request of the proxy under test (all its processes): steadier than throughput
        # on a shared machine.
        "gateway_cpu_us_per_request": results["gateway"]["cpu_us_per_request"],
        "nginx_cpu_us_per_request": results["nginx"]["cpu_us_per_request"],
        "access_log_cpu_us_per_request": results["gateway, access log on"]["cpu_us_per_request"]
        - results["gateway"]["cpu_us_per_request"],
        "gateway_added_p50_ms": results["gateway"]["p50_ms"] - results["direct"]["p50_ms"],
        "light_load": {"connections": LIGHT_CONNECTIONS, "results": light},
        "gateway_added_p50_ms_light": light["gateway"]["p50_ms"] - light["direct"]["p50_ms"],
        "paced": {"connections": CONNECTIONS, "pause_ms": PACE_MS, "results": paced},
        "gateway_added_p50_ms_paced": paced["gateway"]["p50_ms"] - paced["direct"]["p50_ms"],
    }  # fmt: skip
    if BASELINE in results:
        report["baseline"] = os.environ["GATEWAY_BENCH_BASELINE"]
        report["baseline_vs_nginx_throughput"] = results[BASELINE]["rps"] / results["nginx"]["rps"]
        report["baseline_cpu_us_per_request"] = results[BASELINE]["cpu_us_per_request"]
    return report


def _forget_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def gateway_counters(port: int) -> dict[str, float]:
    """From the gateway's /metrics (its own listener): upstream wait, Redis fallbacks."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()

    def total(prefix: str) -> float:
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(prefix) and not line.startswith("#")
        )

    count = total("swe_gateway_upstream_latency_seconds_count")
    return {
        "upstream_mean_ms": total("swe_gateway_upstream_latency_seconds_sum")
        / max(1, count)
        * 1000,
        "rate_limit_fallbacks": total("swe_gateway_rate_limit_fallback_total"),
    }


def table(report: dict[str, Any]) -> str:
    rows = [
        "| target | req/s | p50 ms | p99 ms | non-2xx | CPU us/req of the server under test |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in report["results"].items():
        rows.append(
            f"| {name} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
            f"| {r['non_2xx']} | {r['cpu_us_per_request']:.0f} |"
        )
    rows.append("")
    rows.append(f"At {report['light_load']['connections']} connections (not saturated):")
    rows.append("")
    rows.append("| target | req/s | p50 ms | p99 ms |")
    rows.append("|---|---:|---:|---:|")
    for name, r in report["light_load"]["results"].items():
        rows.append(f"| {name} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |")
    paced = report["paced"]
    rows += [
        "",
        f"At {paced['connections']} connections, each pausing {paced['pause_ms']} ms between "
        "requests (the same offered load for each, below every target's capacity):",
        "",
        "| target | req/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|",
    ]
    for name, r in paced["results"].items():
        rows.append(f"| {name} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |")
    gateway = report["results"]["gateway"]
    ratio, added = report["gateway_vs_nginx_throughput"], report["gateway_added_p50_ms"]
    rows += [
        "",
        f"gateway/nginx throughput: **{ratio:.0%}** (goal >= 80%); CPU per request: gateway "
        f"**{report['gateway_cpu_us_per_request']:.0f} µs** (goal < 100), nginx "
        f"{report['nginx_cpu_us_per_request']:.0f} µs; the access log line (on in production) "
        f"adds {report['access_log_cpu_us_per_request']:.0f} µs; "
        f"p50 added over direct: **{added:.2f} ms** at {report['connections']} connections, "
        f"**{report['gateway_added_p50_ms_light']:.2f} ms** at "
        f"{report['light_load']['connections']} connections, "
        f"**{report['gateway_added_p50_ms_paced']:.2f} ms** at {paced['connections']} paced "
        "connections (goal < 2 ms; saturated, p50 is mostly the queue that the lower throughput "
        "builds).",
    ]
    if "baseline" in report:
        rows.append(
            f"Before (the same gateway on {report['baseline']}'s code, in turns with the above): "
            f"gateway/nginx **{report['baseline_vs_nginx_throughput']:.0%}**, CPU per request "
            f"**{report['baseline_cpu_us_per_request']:.0f} µs**."
        )
    rows += [
        f"wrk -t{report['threads']} -c{report['connections']} -d{report['duration_seconds']}s "
        f"against each, best of {report['rounds']} interleaved rounds; "
        f"upstream: {report['upstream']} hello app; "
        f"{report['gateway_workers']} gateway worker(s), "
        f"{report['nginx_workers']} nginx worker(s). The gateway verified an ES256 token and ran "
        f"a Redis GCRA rate limit on every request (rate-limit fallbacks to the in-process "
        f"limiter: {gateway['rate_limit_fallbacks']:.0f}); mean upstream wait seen by the "
        f"gateway {gateway['upstream_mean_ms']:.1f} ms. Load average at start: "
        f"{report['load_average']}.",
    ]
    return "\n".join(rows)


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    for kind in UPSTREAM_KINDS:
        report = run(kind)
        suffix = "" if kind == "asgi" else f"-{kind}"
        (RESULTS / f"gateway{suffix}.json").write_text(json.dumps(report, indent=2) + "\n")
        print(f"### Upstream: {kind} hello app\n")
        print(table(report))
        print()


if __name__ == "__main__":
    main()
