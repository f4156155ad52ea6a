"""Auth benchmark: token verification, logins against the bare argon2 rate, and whether
hashing stalls the event loop.

1. verify: access tokens checked by ``swe_common.security.TokenVerifier`` over a
   ``JWKSClient`` holding the auth service's JWKS (cached keys, no revocation lookup): what
   every service pays per request.
2. logins: the real auth app under uvicorn (a subprocess on a free local port, fresh database)
   takes ``POST /api/v1/auth/login`` from ``CLIENTS`` concurrent aiohttp clients for
   ``SECONDS``; then, in the same run, the bare argon2id verify rate with the same parameters
   and the same concurrency cap (``PasswordHasher``: worker threads behind a semaphore). The
   gap is what the framework, the database and token minting cost per login.
3. liveness: p50/p99 of ``GET /health/live`` sampled at ``PROBE_RATE`` per second, idle and
   while the logins run (hashing runs off the event loop, so it should barely move).

Fresh database, unique exchange and Redis prefix; everything is removed afterwards.
Run: ``uv run python bench/auth_bench.py`` (``AUTH_BENCH_SECONDS`` to change the duration;
``AUTH_BENCH_BASELINE=<checkout>``: a second server runs that checkout's code, the login phases
of the two in turns, half the time each: before and after in one run, on a shared machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp
import redis.asyncio as aioredis
from served import PySpy, UvicornApp, baseline_env, cpu_seconds, machine_busy_seconds

from swe_auth.passwords import PasswordHasher
from swe_auth.settings import Settings
from swe_common.migrations import upgrade_head
from swe_common.security import JWKSClient, TokenVerifier
from swe_common.stack import HTTP_PROTOCOL
from swe_common.testing import create_test_database, drop_test_database, unique_name
from swe_common.testing_mail import SmtpServer

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "auth.json"
SECONDS = float(os.environ.get("AUTH_BENCH_SECONDS", "10"))
CLIENTS = 8
PROBE_RATE = 50
VERIFY_SECONDS = 3.0
PASSWORD = "benchmark passphrase 2024"
# AUTH_BENCH_PROFILE=<file>: py-spy samples the server during the logins (collapsed stacks).
PROFILE = os.environ.get("AUTH_BENCH_PROFILE", "")
API = "/api/v1/auth"


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class AuthServer:
    """The auth app under uvicorn in a subprocess, on its own database, with an SMTP server
    for the mail it sends (the registrations' verification mail): without one, the mail
    consumer retried and logged through the logins, on the same event loop."""

    def __init__(self, database_url: str, extra_env: dict[str, str] | None = None) -> None:
        self.exchange = unique_name("swe.events.bench")
        self.redis_prefix = unique_name("bench-auth") + ":"
        self.mail_dir = Path(tempfile.mkdtemp(prefix="auth-bench-mail-"))
        self.smtp = SmtpServer(self.mail_dir)
        self.app = UvicornApp(
            "swe_auth.main:create_app",
            {
                "AUTH_DATABASE_URL": database_url,
                "AUTH_ENVIRONMENT": "test",
                "AUTH_EVENTS_EXCHANGE": self.exchange,
                "AUTH_REDIS_KEY_PREFIX": self.redis_prefix,
                "AUTH_LOGIN_RATE_LIMIT_PER_MINUTE": "1000000",
                "AUTH_LOG_LEVEL": "WARNING",
                "AUTH_SMTP_HOST": SmtpServer.host,
                "AUTH_SMTP_PORT": str(self.smtp.port),
                **(extra_env or {}),
            },
            ready_path="/health/ready",
            # The protocol the service runs under (swe-stack, the images): a response's head
            # and body in one send. Plain uvicorn's two sends were a fifth of the loop's
            # samples in a profile of the logins.
            extra_args=("--log-level", "warning", "--http", HTTP_PROTOCOL),
        )
        self.base = self.app.base

    async def __aenter__(self) -> AuthServer:
        self.smtp.start()
        try:
            await self.app.__aenter__()
        except BaseException:  # a failed start leaves no SMTP server behind
            self.smtp.stop()
            shutil.rmtree(self.mail_dir, ignore_errors=True)
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.app.__aexit__()
        self.smtp.stop()
        shutil.rmtree(self.mail_dir, ignore_errors=True)
        if self.app.log_lines:
            said = b"".join(self.app.last_lines).decode(errors="replace")
            print(f"auth wrote {self.app.log_lines} log lines; the last:\n{said}", file=sys.stderr)
        await self._cleanup()

    async def _cleanup(self) -> None:
        redis = aioredis.from_url("redis://127.0.0.1:6379/0")
        async for key in redis.scan_iter(match=f"{self.redis_prefix}*"):
            await redis.delete(key)
        await redis.aclose()
        connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
        async with connection:
            channel = await connection.channel()
            await channel.exchange_delete(self.exchange)


async def register_users(http: aiohttp.ClientSession, base: str, count: int) -> list[str]:
    names = []
    for _ in range(count):
        name = f"bench{uuid.uuid4().hex[:10]}"
        body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
        async with http.post(f"{base}{API}/register", json=body) as response:
            if response.status != 201:
                raise RuntimeError(f"register failed: {response.status} {await response.text()}")
        names.append(name)
    return names


async def login_once(http: aiohttp.ClientSession, base: str, name: str) -> dict[str, Any]:
    body = {"username": name, "password": PASSWORD}
    async with http.post(f"{base}{API}/login", json=body) as response:
        if response.status != 200:
            raise RuntimeError(f"login failed: {response.status} {await response.text()}")
        return await response.json()  # type: ignore[no-any-return]


async def bench_verify(http: aiohttp.ClientSession, base: str, name: str) -> dict[str, Any]:
    token = (await login_once(http, base, name))["access_token"]
    async with http.get(f"{base}{API}/.well-known/jwks.json") as response:
        jwks = await response.json()
    keys = JWKSClient(f"{base}{API}/.well-known/jwks.json")
    keys.load(jwks)
    verifier = TokenVerifier(keys, issuer="swe-auth", audience="swe-platform")
    await verifier.verify(token)
    count = 0
    started = time.perf_counter()
    while time.perf_counter() - started < VERIFY_SECONDS:
        for _ in range(200):
            await verifier.verify(token)
        count += 200
    elapsed = time.perf_counter() - started
    await keys.close()
    return {
        "verifications": count,
        "seconds": round(elapsed, 2),
        "per_second": round(count / elapsed),
    }


async def probe_liveness(
    http: aiohttp.ClientSession, base: str, stop: asyncio.Event
) -> list[float]:
    latencies: list[float] = []
    interval = 1 / PROBE_RATE
    while not stop.is_set():
        started = time.perf_counter()
        async with http.get(f"{base}/health/live") as response:
            await response.read()
        latencies.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(max(0.0, interval - (time.perf_counter() - started)))
    return latencies


async def idle_liveness(http: aiohttp.ClientSession, base: str) -> list[float]:
    stop = asyncio.Event()
    task = asyncio.create_task(probe_liveness(http, base, stop))
    await asyncio.sleep(3)
    stop.set()
    return await task


async def bench_logins(
    http: aiohttp.ClientSession, base: str, names: list[str], pid: int, seconds: float = SECONDS
) -> dict[str, Any]:
    """One phase of logins; the raw counts (``summarise_logins`` adds phases up)."""
    deadline = time.monotonic() + seconds
    done = 0
    latencies: list[float] = []

    async def client(name: str) -> None:
        nonlocal done
        while time.monotonic() < deadline:
            started = time.perf_counter()
            await login_once(http, base, name)
            latencies.append((time.perf_counter() - started) * 1000)
            done += 1

    stop = asyncio.Event()
    probe = asyncio.create_task(probe_liveness(http, base, stop))
    spy = PySpy(pid, PROFILE, rate=200, threads=True) if PROFILE else None
    if spy is not None:
        await spy.start()
    cpu_before, loop_before = cpu_seconds(pid), cpu_seconds(pid, pid)
    machine_before, clients_before = machine_busy_seconds(), time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(client(name) for name in names))
    elapsed = time.perf_counter() - started
    cpu, loop = cpu_seconds(pid) - cpu_before, cpu_seconds(pid, pid) - loop_before
    machine = machine_busy_seconds() - machine_before
    clients = time.process_time() - clients_before
    if spy is not None:
        await spy.stop()
    stop.set()
    live = await probe
    return {
        "done": done,
        "cpu": cpu,
        "loop": loop,
        "machine": machine,
        "clients": clients,
        "elapsed": elapsed,
        "latencies": latencies,
        "live": live,
    }


def summarise_logins(phases: list[dict[str, Any]]) -> dict[str, Any]:
    done = sum(p["done"] for p in phases)
    cpu, loop = sum(p["cpu"] for p in phases), sum(p["loop"] for p in phases)
    elapsed = sum(p["elapsed"] for p in phases)
    machine = sum(p["machine"] for p in phases)
    clients = sum(p["clients"] for p in phases)
    latencies = [x for p in phases for x in p["latencies"]]
    live = [x for p in phases for x in p["live"]]
    return {
        "logins": done,
        "server_cpu_ms_per_login": round(cpu / done * 1000, 1),
        # The event loop's thread: everything but the hashing (which runs in worker threads).
        "loop_cpu_ms_per_login": round(loop / done * 1000, 2),
        # Every process on the machine: what a login costs the cores, not only the server.
        "machine_cpu_ms_per_login": round(machine / done * 1000, 1),
        # This process: the aiohttp clients and the liveness probe.
        "client_cpu_ms_per_login": round(clients / done * 1000, 1),
        "seconds": round(elapsed, 2),
        "per_second": round(done / elapsed, 1),
        "login_p50_ms": round(percentile(latencies, 0.5), 1),
        "login_p99_ms": round(percentile(latencies, 0.99), 1),
        "live_samples": len(live),
        "live_p50_ms": round(percentile(live, 0.5), 2),
        "live_p99_ms": round(percentile(live, 0.99), 2),
    }


async def bench_bare_argon2(settings: Settings) -> dict[str, Any]:
    hasher = PasswordHasher.from_settings(settings)
    stored = await hasher.hash(PASSWORD)
    deadline = time.monotonic() + SECONDS
    done = 0

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            if not (await hasher.verify(PASSWORD, stored)).ok:
                raise RuntimeError("verify failed")
            done += 1

    cpu_before = time.process_time()  # this process: the hashing threads and the loop
    machine_before = machine_busy_seconds()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    machine = machine_busy_seconds() - machine_before
    return {
        "verifies": done,
        "seconds": round(elapsed, 2),
        "per_second": round(done / elapsed, 1),
        "cpu_ms_per_verify": round(cpu / done * 1000, 1),
        "machine_cpu_ms_per_verify": round(machine / done * 1000, 1),
    }


COUNTED_LOGINS = 20


async def round_trips_per_login(server: AuthServer, url: str) -> dict[str, float]:
    """The same app in this process (same database, exchange and Redis prefix as the server),
    counting what one login sends: SQL statements and transaction commands made while a
    request is being answered (the outbox relay's own, after the commit, counted apart), pings
    of pooled connections, and Redis round trips (a pipeline is one)."""
    from sqlalchemy import event

    from swe_auth.main import create_app
    from swe_common.context import request_id_var
    from swe_common.testing import eventually, running_app

    settings = Settings.load(
        database_url=url,
        environment="test",
        events_exchange=server.exchange,
        redis_key_prefix=server.redis_prefix,
        login_rate_limit_per_minute=1_000_000,
        log_level="WARNING",
    )
    app = create_app(settings)
    counts = {"statements": 0, "transactions": 0, "relay_statements": 0, "redis": 0}

    def statement(*_: Any) -> None:
        counts["statements" if request_id_var.get() else "relay_statements"] += 1

    def transaction(*_: Any) -> None:
        if request_id_var.get():
            counts["transactions"] += 1  # BEGIN ... COMMIT: two round trips

    async with running_app(app) as client:
        redis = app.state.redis
        send, pipeline = redis.execute_command, redis.pipeline

        async def counted_command(*args: Any, **options: Any) -> Any:
            counts["redis"] += 1
            return await send(*args, **options)

        def counted_pipeline(*args: Any, **kwargs: Any) -> Any:
            pipe = pipeline(*args, **kwargs)
            execute = pipe.execute

            async def counted_execute(*a: Any, **k: Any) -> Any:
                counts["redis"] += 1
                return await execute(*a, **k)

            pipe.execute = counted_execute
            return pipe

        redis.execute_command, redis.pipeline = counted_command, counted_pipeline
        await eventually(lambda: _true(app.state.events.is_connected), timeout=30)
        name = f"count{uuid.uuid4().hex[:10]}"
        body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
        assert (await client.post(f"{API}/register", json=body)).status_code == 201
        login = {"username": name, "password": PASSWORD}
        assert (await client.post(f"{API}/login", json=login)).status_code == 200  # warm
        engine = app.state.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", statement)
        event.listen(engine, "commit", transaction)
        for key in counts:
            counts[key] = 0
        for _ in range(COUNTED_LOGINS):
            assert (await client.post(f"{API}/login", json=login)).status_code == 200
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", transaction)
    per_login = {key: round(value / COUNTED_LOGINS, 2) for key, value in counts.items()}
    per_login["postgres_round_trips"] = per_login["statements"] + 2 * per_login["transactions"]
    return per_login


async def _true(value: bool) -> bool:
    return value


def report(results: dict[str, Any]) -> str:
    s = results["settings"]
    v, lg, bare, idle = (
        results["verify"],
        results["logins"],
        results["bare_argon2"],
        results["idle"],
    )
    t = results["per_login"]
    ratio = lg["per_second"] / bare["per_second"] if bare["per_second"] else 0.0
    overhead = 100 * (1 - ratio)

    def bare_mean(key: str) -> float:  # the bare phases bracket the server's
        return round((float(bare["before"][key]) + float(bare["after"][key])) / 2, 1)

    cpu_bare, machine_bare = bare_mean("cpu_ms_per_verify"), bare_mean("machine_cpu_ms_per_verify")
    # With every core busy in both phases, the rates stand in the inverse ratio of the cores'
    # time each login and each bare verify takes: what bounds the ratio on this machine.
    ceiling = machine_bare / lg["machine_cpu_ms_per_login"] if lg["machine_cpu_ms_per_login"] else 0
    rest = (
        lg["machine_cpu_ms_per_login"]
        - lg["server_cpu_ms_per_login"]
        - lg["client_cpu_ms_per_login"]
    )
    lines = [
        "## auth",
        "",
        f"argon2id m={s['argon2_memory_kib']} KiB, t={s['argon2_time_cost']}, "
        f"p={s['argon2_parallelism']}; hash concurrency cap {s['hash_concurrency']}; "
        f"{CLIENTS} concurrent clients; {SECONDS:.0f} s per phase",
        "",
        "| measure | value |",
        "|---|---|",
        f"| token verifications/s (TokenVerifier, cached JWKS) | {v['per_second']:,} |",
        f"| logins/s through the app (uvicorn, aiohttp clients) | {lg['per_second']} |",
        f"| bare argon2id verifies/s (same parameters and cap; before / after) | "
        f"{bare['per_second']} ({bare['before']['per_second']} / {bare['after']['per_second']}) |",
        f"| logins / bare argon2id (the ratio; goal ≥ 0.85) | {ratio:.2f} |",
        f"| framework + DB + token overhead per login | {overhead:.0f} % |",
        f"| server CPU per login (all threads) / bare CPU per verify | "
        f"{lg['server_cpu_ms_per_login']} / {cpu_bare} ms |",
        f"| server CPU per login outside the hash (the event loop's thread) | "
        f"{lg['loop_cpu_ms_per_login']} ms |",
        f"| machine CPU per login (every process) / per bare verify | "
        f"{lg['machine_cpu_ms_per_login']} / {machine_bare} ms |",
        f"| of a login's machine CPU: the server / the benchmark's clients / the rest "
        f"(PostgreSQL, Redis, RabbitMQ, anything else running) | "
        f"{lg['server_cpu_ms_per_login']} / {lg['client_cpu_ms_per_login']} / {rest:.1f} ms |",
        f"| the ratio the cores' time allows (a bare verify's machine CPU / a login's; the "
        f"ratio itself when every core is busy in both phases) | {ceiling:.2f} |",
        f"| SQL statements per login (+ transactions; relay after the commit) | "
        f"{t['statements']} (+ {t['transactions']}; {t['relay_statements']}) |",
        f"| PostgreSQL round trips per login (statements + BEGIN/COMMIT) | "
        f"{t['postgres_round_trips']} |",
        f"| Redis round trips per login | {t['redis']} |",
        f"| login latency p50 / p99 | {lg['login_p50_ms']} / {lg['login_p99_ms']} ms |",
        f"| GET /health/live p50 / p99, idle | {idle['p50_ms']} / {idle['p99_ms']} ms |",
        f"| GET /health/live p50 / p99, during logins | "
        f"{lg['live_p50_ms']} / {lg['live_p99_ms']} ms |",
    ]
    if "logins_before" in results:  # AUTH_BENCH_BASELINE: the same phases on the other code
        b = results["logins_before"]
        lines += [
            f"| before (baseline code, in turns with the above): logins/s, ratio | "
            f"{b['per_second']}, {b['per_second'] / bare['per_second']:.2f} |",
            f"| before: server CPU per login (all threads) / outside the hash | "
            f"{b['server_cpu_ms_per_login']} / {b['loop_cpu_ms_per_login']} ms |",
            f"| before: machine CPU per login (every process) | "
            f"{b['machine_cpu_ms_per_login']} ms |",
        ]
    return "\n".join(lines)


async def main() -> int:
    settings = Settings()
    load_average = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    url = create_test_database("swe_bench_auth")
    try:
        await asyncio.to_thread(upgrade_head, ROOT / "services" / "auth", url)
        # Bare rate before and after the server phase: the machine is shared, so bracket it.
        bare_before = await bench_bare_argon2(settings)
        baseline = baseline_env("AUTH_BENCH_BASELINE")
        async with contextlib.AsyncExitStack() as stack:
            server = await stack.enter_async_context(AuthServer(url))
            before = None
            if baseline is not None:
                before = await stack.enter_async_context(AuthServer(url, baseline))
            connector = aiohttp.TCPConnector(limit=CLIENTS + 4)
            async with aiohttp.ClientSession(connector=connector) as http:
                names = await register_users(http, server.base, CLIENTS)
                verify = await bench_verify(http, server.base, names[0])
                idle = await idle_liveness(http, server.base)
                if before is None:
                    logins = summarise_logins(
                        [await bench_logins(http, server.base, names, server.app.pid)]
                    )
                else:
                    # Before and after in turns (ABBA), half the time each, so that the
                    # machine's load weighs on both alike.
                    phases: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
                    for variant in ("before", "after", "after", "before"):
                        app = (before if variant == "before" else server).app
                        phases[variant].append(
                            await bench_logins(http, app.base, names, app.pid, SECONDS / 2)
                        )
                    logins = summarise_logins(phases["after"])
                    logins_before = summarise_logins(phases["before"])
            trips = await round_trips_per_login(server, url)
        bare_after = await bench_bare_argon2(settings)
    finally:
        drop_test_database(url)
    results = {
        "benchmark": "auth",
        "at": datetime.now(UTC).isoformat(),
        "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average": load_average,
        "settings": {
            "argon2_memory_kib": settings.argon2_memory_kib,
            "argon2_time_cost": settings.argon2_time_cost,
            "argon2_parallelism": settings.argon2_parallelism,
            "hash_concurrency": settings.hash_concurrency,
            "clients": CLIENTS,
            "seconds": SECONDS,
        },
        "verify": verify,
        "logins": logins,
        **({"logins_before": logins_before} if before is not None else {}),
        "per_login": trips,
        "bare_argon2": {
            "before": bare_before,
            "after": bare_after,
            "per_second": round((bare_before["per_second"] + bare_after["per_second"]) / 2, 1),
        },
        "idle": {
            "p50_ms": round(percentile(idle, 0.5), 2),
            "p99_ms": round(percentile(idle, 0.99), 2),
            "samples": len(idle),
        },
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(report(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
