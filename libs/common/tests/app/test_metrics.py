"""The common metrics move when the thing happens, against the real Postgres and Redis:
statements by operation and their errors, the pool's waiting tasks, Redis commands and their
failures, requests in progress, JWKS cache hits and misses. And ``/health/detailed`` answers
admins only."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from redis.exceptions import ConnectionError as RedisConnectionError

from swe_common.db import Database
from swe_common.metrics import CountedRedis, operation_of, register_engine
from swe_common.security import InvalidToken, JWKSClient
from swe_common.settings import ServiceSettings
from swe_common.testing import TokenFactory, eventually, running_app, unique_name

from .conftest import build_app

FACTORY = TokenFactory()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("SELECT 1", "select"),
        ("  insert INTO t VALUES (1)", "insert"),
        ("UPDATE t SET a = 1", "update"),
        ("DELETE FROM t", "delete"),
        ("BEGIN", "other"),
        ("WITH x AS (SELECT 1) SELECT * FROM x", "other"),
        ("", "other"),
    ],
)
def test_a_statement_is_labelled_by_its_verb(statement: str, operation: str) -> None:
    assert operation_of(statement) == operation


async def test_statements_are_counted_and_timed_by_operation_and_errors_counted(database_url):
    service = unique_name("metrics").replace(".", "_")
    db = Database(ServiceSettings(service_name=service, database_url=database_url))
    register_engine(service, db.engine)
    register_engine(service, db.engine)  # a second registration does not count twice
    try:
        async with db.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
            await conn.execute(sa.text("SELECT 2"))
            with pytest.raises(sa.exc.ProgrammingError):
                await conn.execute(sa.text("SELECT * FROM no_such_table"))
        count = sample("swe_db_query_duration_seconds_count", service=service, operation="select")
        # The two that succeeded (a pre-ping of a reused connection would add one); the failed
        # one is counted as an error only.
        assert count >= 2
        assert sample("swe_db_query_duration_seconds_sum", service=service, operation="select") > 0
        assert sample("swe_db_query_errors_total", service=service, operation="select") == 1
    finally:
        await db.dispose()


async def test_the_pool_reports_tasks_waiting_for_a_connection(database_url):
    service = unique_name("pool").replace(".", "_")
    settings = ServiceSettings(
        service_name=service, database_url=database_url, db_pool_size=1, db_max_overflow=0
    )
    db = Database(settings)
    register_engine(service, db.engine)
    try:
        held = await db.engine.connect()
        assert sample("swe_db_pool_checked_out", service=service) == 1

        async def second() -> None:
            async with db.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))

        waiter = asyncio.create_task(second())

        async def one_waiting() -> bool:
            return sample("swe_db_pool_waiting", service=service) == 1

        await eventually(one_waiting, timeout=5)
        await held.close()
        await asyncio.wait_for(waiter, 5)
        assert sample("swe_db_pool_waiting", service=service) == 0
        assert sample("swe_db_pool_size", service=service) == 1
    finally:
        await db.dispose()


async def test_redis_commands_and_their_failures_are_counted():
    redis = CountedRedis.from_url("redis://127.0.0.1:6379/0", decode_responses=True)
    key = unique_name("swe:test:metrics")
    sets, gets = (
        sample("swe_redis_commands_total", command="SET"),
        sample("swe_redis_commands_total", command="GET"),
    )
    pipelines = sample("swe_redis_commands_total", command="PIPELINE")
    try:
        await redis.set(key, "1", ex=60)
        assert await redis.get(key) == "1"
        async with redis.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, 60)
            await pipe.execute()
    finally:
        await redis.delete(key)
        await redis.aclose()
    assert sample("swe_redis_commands_total", command="SET") == sets + 1
    assert sample("swe_redis_commands_total", command="GET") == gets + 1
    assert sample("swe_redis_commands_total", command="PIPELINE") == pipelines + 1

    down = CountedRedis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    errors = sample("swe_redis_errors_total", command="GET")
    try:
        with pytest.raises(RedisConnectionError):
            await down.get(key)
    finally:
        await down.aclose()
    assert sample("swe_redis_errors_total", command="GET") >= errors + 1


async def test_requests_in_progress_rise_while_a_request_runs_and_fall_after(database_url):
    async with running_app(build_app(database_url)) as client:
        before = sample("swe_http_requests_in_progress")
        slow = asyncio.create_task(client.get("/api/v1/example/db-slow"))

        async def running() -> bool:
            return sample("swe_http_requests_in_progress") >= before + 1

        await eventually(running, timeout=5)
        assert (await slow).status_code == 200
        assert sample("swe_http_requests_in_progress") == before


HANDLER = "/api/v1/example/widgets/{widget_id}"


@pytest.mark.parametrize("cors", [False, True], ids=["one-layer", "behind-cors"])
async def test_requests_are_counted_by_route_template_method_and_status(database_url, cors):
    origins = ["http://console.test"] if cors else []
    async with running_app(build_app(database_url, cors_origins=origins)) as client:

        def count(handler: str, method: str, status: str) -> float:
            return sample(
                "swe_example_http_requests_total", handler=handler, method=method, status=status
            )

        missing = count(HANDLER, "GET", "404")
        created = count("/api/v1/example/widgets", "POST", "201")
        unrouted = count("none", "GET", "404")
        probes = [count(p, "GET", "200") for p in ("/health/live", "/metrics")]
        lowr = sample(
            "swe_example_http_request_duration_seconds_count", handler=HANDLER, method="GET"
        )
        highr = sample("swe_example_http_request_duration_highr_seconds_count")
        in_bytes = sample(
            "swe_example_http_request_size_bytes_sum", handler="/api/v1/example/widgets"
        )
        out_bytes = sample("swe_example_http_response_size_bytes_sum", handler=HANDLER)

        answer = await client.get("/api/v1/example/widgets/3/")  # the slash is dropped
        assert answer.status_code == 404
        body = b'{"name": "cog", "size": 2}'
        posted = await client.post(
            "/api/v1/example/widgets", content=body, headers={"content-type": "application/json"}
        )
        assert posted.status_code == 201
        assert (await client.get("/no/such/route")).status_code == 404
        assert (await client.get("/health/live")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200
        nul = await client.get("/api/v1/example/widgets/3", params={"q": "a\x00b"})
        assert nul.status_code == 422  # refused before the app: not a request of a route

        assert count(HANDLER, "GET", "404") == missing + 1
        assert count("/api/v1/example/widgets", "POST", "201") == created + 1
        assert count("none", "GET", "404") == unrouted + 1
        assert [count(p, "GET", "200") for p in ("/health/live", "/metrics")] == probes
        assert (
            sample("swe_example_http_request_duration_seconds_count", handler=HANDLER, method="GET")
            == lowr + 1
        )
        assert sample("swe_example_http_request_duration_highr_seconds_count") == highr + 3
        assert sample(
            "swe_example_http_request_size_bytes_sum", handler="/api/v1/example/widgets"
        ) == in_bytes + len(body)
        assert sample(
            "swe_example_http_response_size_bytes_sum", handler=HANDLER
        ) == out_bytes + int(answer.headers["content-length"])


async def test_jwks_lookups_count_hits_and_misses():
    jwks = JWKSClient("http://127.0.0.1:1/jwks.json", min_refresh_seconds=0)
    public = FACTORY.private_key.public_key()
    jwk: dict[str, Any] = {
        "kid": FACTORY.kid,
        "kty": "EC",
        "crv": "P-256",
        "use": "sig",
        **_ec_coordinates(public),
    }
    jwks.load({"keys": [jwk]})
    hits, misses = (
        sample("swe_cache_lookups_total", cache="jwks", result="hit"),
        sample("swe_cache_lookups_total", cache="jwks", result="miss"),
    )
    try:
        await jwks.get_key(FACTORY.kid)
        await jwks.get_key(FACTORY.kid)
        with pytest.raises(InvalidToken):
            await jwks.get_key("unknown-kid")
    finally:
        await jwks.close()
    assert sample("swe_cache_lookups_total", cache="jwks", result="hit") == hits + 2
    assert sample("swe_cache_lookups_total", cache="jwks", result="miss") == misses + 1


def _ec_coordinates(public: Any) -> dict[str, str]:
    import base64

    numbers = public.public_numbers()

    def b64(value: int) -> str:
        return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode()

    return {"x": b64(numbers.x), "y": b64(numbers.y)}


# -- /health/detailed ------------------------------------------------------------------------


@pytest.fixture
async def admin_client(database_url):
    app = build_app(database_url)
    app.state.token_verifier = FACTORY.verifier()
    async with running_app(app) as client:
        yield client


async def test_detailed_health_refuses_anonymous_callers_and_non_admins(admin_client):
    anonymous = await admin_client.get("/health/detailed")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert "database" not in anonymous.text
    user = await admin_client.get("/health/detailed", headers=FACTORY.headers())
    assert user.status_code == 403
    assert "database" not in user.text
    key = FACTORY.headers(roles=("admin",), api_key_id="k1", scopes=("projects:admin",))
    unscoped_key = await admin_client.get("/health/detailed", headers=key)
    assert unscoped_key.status_code == 403


async def test_detailed_health_tells_admins_about_the_database_and_the_build(admin_client):
    response = await admin_client.get("/health/detailed", headers=FACTORY.headers(roles=("admin",)))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["service"] == "example"
    assert set(body["build"]) == {"commit", "time"}
    database = body["checks"]["database"]
    assert database["status"] == "ok" and database["latency_ms"] >= 0
    key = FACTORY.headers(roles=("admin",), api_key_id="k2", scopes=("gateway:admin",))
    assert (await admin_client.get("/health/detailed", headers=key)).status_code == 200


async def test_the_public_readiness_answer_stays_minimal(admin_client):
    body = (await admin_client.get("/health/ready")).json()
    assert set(body) == {"status", "checks"}
    assert set(body["checks"].values()) <= {"ok"}
