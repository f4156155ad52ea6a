"""The gateway's hot-path parts against the libraries they replace, side by side in one run.

``uv run python bench/gateway_parts_bench.py``:

- **upstream client**: the same GET, answered by a raw ASGI hello app under uvicorn (its own
  process), sent by ``swe_gateway.upstream_client.UpstreamClient`` and by an aiohttp
  ``ClientSession`` configured as the gateway used to configure it (keep-alive pool of the
  same size, no cookie jar, no decompression, no auto headers), with the same concurrency;
- **Redis**: the rate limiter's GCRA script by EVALSHA, through ``swe_gateway.redis_pipe``
  (one pipelined connection, one write per loop tick) and through ``redis.asyncio`` (a
  connection pool, as redis-py is used everywhere else), with the same concurrency and keys.

Each pair alternates, round after round, on uvloop (what uvicorn runs the gateway on). What
counts is the CPU each costs in this process per call (the upstream and Redis run elsewhere):
on a shared machine throughput moves with the neighbours, CPU per call much less. Results go to
``bench/results/gateway-parts.json``; ``docs/adr/0005-gateway-hot-path.md`` quotes them.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis
import uvloop
from yarl import URL

from swe_common.testing import free_port
from swe_gateway.ratelimit import GCRA_LUA
from swe_gateway.redis_pipe import ScriptPipe
from swe_gateway.upstream_client import UpstreamClient

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "gateway-parts.json"
PATH = "/api/v1/projects/bench"
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "4"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
# What a browser-ish client sends through the gateway (the gateway forwards these pairs).
HEADERS = [
    (b"accept", b"application/json"),
    (b"user-agent", b"bench/1"),
    (b"x-request-id", b"0123456789abcdef"),
    (b"x-forwarded-for", b"127.0.0.1"),
]
SKIP_AUTO = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")

Call = Callable[[int], Awaitable[None]]


def start_upstream(port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", "gateway_bench:hello", "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning", "--app-dir", str(HERE)]
    process = subprocess.Popen(command)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{PATH}", timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the upstream did not start")


async def measure(call: Call) -> dict[str, float]:
    """Calls per second and this process's CPU per call, ``CONCURRENCY`` callers for
    ``SECONDS``."""
    done = 0
    stop = time.monotonic() + SECONDS

    async def caller(index: int) -> None:
        nonlocal done
        while time.monotonic() < stop:
            await call(index)
            done += 1

    for index in range(CONCURRENCY):  # warm: every connection open before the clock starts
        await call(index)
    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(caller(i) for i in range(CONCURRENCY)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"rps": round(done / wall, 1), "cpu_us_per_call": round(cpu / done * 1e6, 1)}


async def http_pair(port: int) -> dict[str, list[dict[str, float]]]:
    base = URL(f"http://127.0.0.1:{port}")
    own = UpstreamClient(max_connections=CONCURRENCY, keepalive_seconds=30)
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, limit_per_host=CONCURRENCY),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        timeout=aiohttp.ClientTimeout(total=None),
        skip_auto_headers=SKIP_AUTO,
    )
    target = PATH.encode()
    text_headers = {k.decode(): v.decode() for k, v in HEADERS}
    url = base.with_path(PATH)

    async def with_own(_: int) -> None:
        response = await own.request(
            "GET", base, target, HEADERS, None, connect_timeout=5, read_timeout=5
        )
        try:
            await response.read()
        finally:
            response.release()

    async def with_aiohttp(_: int) -> None:
        async with session.get(url, headers=text_headers) as response:
            await response.read()

    out: dict[str, list[dict[str, float]]] = {"own": [], "aiohttp": []}
    try:
        for _ in range(ROUNDS):
            out["own"].append(await measure(with_own))
            out["aiohttp"].append(await measure(with_aiohttp))
    finally:
        own.close()
        await session.close()
    return out


async def redis_pair() -> dict[str, list[dict[str, float]]]:
    pipe = ScriptPipe(REDIS_URL, GCRA_LUA, connect_timeout=1)
    client = aioredis.from_url(REDIS_URL, max_connections=CONCURRENCY)
    sha = await client.script_load(GCRA_LUA)
    prefix = f"bench:gateway-parts:{os.getpid()}"
    # A generous limit (1 ms interval, a day's tolerance): every call is allowed and writes.
    commands = [pipe.command([f"{prefix}:{i}"], [1, 86_400_000]) for i in range(CONCURRENCY)]

    async def with_pipe(index: int) -> None:
        await pipe.call(commands[index], 1)

    async def with_redis_py(index: int) -> None:
        await client.evalsha(sha, 1, f"{prefix}:{index}", 1, 86_400_000)

    out: dict[str, list[dict[str, float]]] = {"pipe": [], "redis_py": []}
    try:
        for _ in range(ROUNDS):
            out["pipe"].append(await measure(with_pipe))
            out["redis_py"].append(await measure(with_redis_py))
    finally:
        await client.delete(*(f"{prefix}:{i}" for i in range(CONCURRENCY)))
        pipe.close()
        await client.aclose()
    return out


def best(rounds: list[dict[str, float]]) -> dict[str, float]:
    """The round with the least CPU per call: the one the neighbours disturbed least."""
    return min(rounds, key=lambda r: r["cpu_us_per_call"])


def summarise(pair: dict[str, list[dict[str, float]]], ours: str, theirs: str) -> dict[str, Any]:
    a, b = best(pair[ours]), best(pair[theirs])
    return {
        "results": {ours: a, theirs: b},
        "rounds": pair,
        f"{ours}_vs_{theirs}_cpu_ratio": round(a["cpu_us_per_call"] / b["cpu_us_per_call"], 3),
        f"{ours}_vs_{theirs}_throughput": round(a["rps"] / b["rps"], 3),
    }


def main() -> None:
    port = free_port()
    upstream = start_upstream(port)
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            http = runner.run(http_pair(port))
            redis = runner.run(redis_pair())
    finally:
        upstream.terminate()
        upstream.wait()
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    results: dict[str, Any] = {
        "taken_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "load_average": load,
        "concurrency": CONCURRENCY,
        "seconds_per_round": SECONDS,
        "upstream_client": summarise(http, "own", "aiohttp"),
        "redis": summarise(redis, "pipe", "redis_py"),
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"## gateway parts ({CONCURRENCY} concurrent callers, best of {ROUNDS} rounds)\n")
    print("| part | ours: calls/s | ours: CPU us/call | library: calls/s | library: CPU us/call "
          "| CPU ratio |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    for name, ours, theirs in (
        ("upstream client (own vs aiohttp)", "own", "aiohttp"),
        ("Redis EVALSHA (pipe vs redis-py)", "pipe", "redis_py"),
    ):
        part = results["upstream_client" if ours == "own" else "redis"]
        a, b = part["results"][ours], part["results"][theirs]
        ratio = part[f"{ours}_vs_{theirs}_cpu_ratio"]
        print(f"| {name} | {a['rps']:,.0f} | {a['cpu_us_per_call']} | {b['rps']:,.0f} | "
              f"{b['cpu_us_per_call']} | {ratio} |")  # fmt: skip
    print(f"\nload average at the end: {load}")


if __name__ == "__main__":
    main()
