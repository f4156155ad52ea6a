"""Login: JSON and OAuth2 form; per-address rate limits; no account enumeration."""

import time
import uuid

import jwt
import sqlalchemy as sa
from auth_testkit import (
    API,
    PASSWORD,
    audit_actions,
    bearer,
    client_from,
    login,
    one_window,
    outbox_events,
    overridden,
    redis_unreachable,
    register,
)
from passlib.context import CryptContext

BAD = "wrong password entirely"


async def _attempt(client, username, password=BAD):
    return await client.post(f"{API}/login", json={"username": username, "password": password})


async def test_login_returns_access_and_refresh_tokens(client, user):
    tokens = await login(client, user)
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    assert tokens["refresh_token"].startswith("rt_")
    assert tokens["access_token"].count(".") == 2


async def test_a_login_records_when_the_user_signed_in_and_audits_it(client, runtime, user):
    first = await login(client, user)
    seen = (await client.get(f"{API}/me", headers=bearer(first))).json()["last_login_at"]
    assert seen is not None
    second = await login(client, user)
    again = (await client.get(f"{API}/me", headers=bearer(second))).json()["last_login_at"]
    assert again > seen
    assert (await audit_actions(runtime, user["id"])).count(("login", "success")) == 2


async def test_login_accepts_the_email_as_username(client, user):
    response = await client.post(
        f"{API}/login", json={"username": user["email"].upper(), "password": user["password"]}
    )
    assert response.status_code == 200


async def test_oauth2_password_form_issues_tokens(client, user):
    response = await client.post(
        f"{API}/token", data={"username": user["username"], "password": user["password"]}
    )
    assert response.status_code == 200
    me = await client.get(f"{API}/me", headers=bearer(response.json()))
    assert me.json()["id"] == user["id"]


async def test_wrong_password_answers_401_problem(client, user):
    response = await _attempt(client, user["username"])
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "Incorrect username or password"


async def test_unknown_user_answers_exactly_like_a_wrong_password(client, user):
    known = await _attempt(client, user["username"])
    unknown = await _attempt(client, f"nobody-{uuid.uuid4().hex[:8]}")
    assert unknown.status_code == known.status_code == 401
    strip = lambda body: {k: v for k, v in body.items() if k != "request_id"}  # noqa: E731
    assert strip(unknown.json()) == strip(known.json())


async def test_unknown_user_takes_comparable_time_to_a_known_one(client, user):
    async def timed(name):
        started = time.perf_counter()
        await _attempt(client, name)
        return time.perf_counter() - started

    known = sorted([await timed(user["username"]) for _ in range(3)])[1]
    unknown = sorted([await timed(f"ghost-{uuid.uuid4().hex[:6]}") for _ in range(3)])[1]
    # Both verify an argon2 hash; without the dummy hash "unknown" would be ~10x faster.
    assert unknown > known * 0.4


async def test_login_is_rate_limited_per_address(app, runtime, user):
    with overridden(runtime.settings, login_rate_limit_per_minute=3), one_window(runtime):
        async with client_from(app, "198.51.100.7") as attacker:
            codes = [(await _attempt(attacker, user["username"])).status_code for _ in range(4)]
        async with client_from(app, "198.51.100.8") as someone_else:
            other = await _attempt(someone_else, user["username"], user["password"])
    assert codes == [401, 401, 401, 429]
    assert other.status_code == 200


async def test_rate_limited_answer_says_when_to_retry(app, runtime, user):
    with overridden(runtime.settings, login_rate_limit_per_minute=1), one_window(runtime):
        async with client_from(app, "198.51.100.9") as attacker:
            await _attempt(attacker, user["username"])
            response = await _attempt(attacker, user["username"])
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60


async def test_old_hash_parameters_are_upgraded_at_login(client, runtime):
    user = await register(client)
    weaker = CryptContext(
        schemes=["argon2"], argon2__type="ID", argon2__memory_cost=8192, argon2__rounds=1
    )
    async with runtime.db.transaction() as session:
        from swe_auth.models import User

        row = await session.get(User, uuid.UUID(user["id"]))
        row.password_hash = weaker.hash(PASSWORD)
    await login(client, user)
    async with runtime.db.sessionmaker() as session:
        row = await session.get(User, uuid.UUID(user["id"]))
        assert "m=19456,t=2,p=1" in row.password_hash


async def test_failed_and_successful_logins_are_audited(client, user, runtime):
    await _attempt(client, user["username"])
    await login(client, user)
    actions = await audit_actions(runtime, user["id"])
    assert ("login", "failure") in actions
    assert ("login", "success") in actions


async def test_rate_limit_still_holds_when_redis_is_unreachable(app, runtime, user):
    with overridden(runtime.settings, login_rate_limit_per_minute=2), one_window(runtime):
        async with redis_unreachable(runtime), client_from(app, "198.51.100.30") as attacker:
            codes = [(await _attempt(attacker, user["username"])).status_code for _ in range(3)]
    assert codes == [401, 401, 429]


async def test_a_login_solves_its_dependencies_without_a_worker_thread(client, user, monkeypatch):
    # A plain `def` dependency is run in a worker thread: a hop that cost each login more of
    # the event loop's CPU than the dependency's own work.
    from starlette.concurrency import run_in_threadpool as real

    hops: list[str] = []

    async def counted(call, *args, **kwargs):
        hops.append(getattr(call, "__qualname__", repr(call)))
        return await real(call, *args, **kwargs)

    monkeypatch.setattr("fastapi.dependencies.utils.run_in_threadpool", counted)
    tokens = await login(client, user)
    assert tokens["refresh_token"].startswith("rt_")
    assert hops == []


async def test_a_plain_login_writes_in_one_statement_without_a_transaction(client, runtime, user):
    # One read before hashing and one write after it: the sign-in time, the session, its
    # refresh token, the audit row and its event, with no BEGIN and COMMIT round trips.
    from sqlalchemy import event

    from swe_common.context import request_id_var

    statements: list[str] = []
    commits: list[object] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        if request_id_var.get():  # the request's, not the relay's after the commit
            statements.append(statement)

    def committed(conn) -> None:
        if request_id_var.get():
            commits.append(conn)

    engine = runtime.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    event.listen(engine, "commit", committed)
    try:
        tokens = await login(client, user)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
        event.remove(engine, "commit", committed)
    assert len(statements) == 2, statements
    assert commits == []
    me = await client.get(f"{API}/me", headers=bearer(tokens))
    assert me.json()["last_login_at"] is not None
    sessions = await client.get(f"{API}/sessions", headers=bearer(tokens))
    assert [s["id"] for s in sessions.json()] == [jwt_claims(tokens)["sid"]]
    assert (await audit_actions(runtime, user["id"])).count(("login", "success")) == 1
    recorded = await outbox_events(runtime, "auth.audit.recorded", subject=user["id"])
    assert [e["data"]["outcome"] for e in recorded if e["data"]["action"] == "login"] == ["success"]


async def test_an_account_changed_while_its_password_was_hashed_signs_in_as_it_is_now(
    client, runtime, user, monkeypatch
):
    # The one-statement sign-in writes nothing when the row is no longer as read before the
    # hash; the login then reads it again, locked, and the token says what the row says now.
    from swe_auth.accounts import repository as users

    read = users.credentials_of

    async def read_then_rename(session, login_name):
        found = await read(session, login_name)
        async with runtime.db.transaction() as other:
            await other.execute(
                sa.text("UPDATE auth.users SET full_name = 'Renamed' WHERE id = :id"),
                {"id": user["id"]},
            )
        return found

    monkeypatch.setattr(users, "credentials_of", read_then_rename)
    tokens = await login(client, user)
    assert jwt_claims(tokens)["name"] == "Renamed"
    sessions = await client.get(f"{API}/sessions", headers=bearer(tokens))
    assert len(sessions.json()) == 1
    assert (await audit_actions(runtime, user["id"])).count(("login", "success")) == 1
    recorded = await outbox_events(runtime, "auth.audit.recorded", subject=user["id"])
    assert [e["data"]["outcome"] for e in recorded if e["data"]["action"] == "login"] == ["success"]


def jwt_claims(tokens):
    return jwt.decode(tokens["access_token"], options={"verify_signature": False})


async def test_a_login_takes_one_redis_round_trip(client, runtime, user, monkeypatch):
    # The address's rate limit and the account+address throttle are read in one pipeline:
    # each Redis round trip costs the event loop CPU the hashing threads could use.
    redis = runtime.redis
    trips: list[str] = []
    send, pipeline = redis.execute_command, redis.pipeline

    async def command(*args, **options):
        trips.append(str(args[0]))
        return await send(*args, **options)

    def counted_pipeline(*args, **kwargs):
        pipe = pipeline(*args, **kwargs)
        execute = pipe.execute

        async def counted(*a, **k):
            trips.append("pipeline")
            return await execute(*a, **k)

        pipe.execute = counted
        return pipe

    await login(client, user)  # warm: keys, connections
    monkeypatch.setattr(redis, "execute_command", command)
    monkeypatch.setattr(redis, "pipeline", counted_pipeline)
    await login(client, user)
    assert trips == ["pipeline"]
