"""Token verification every service and the gateway rely on (real Redis for revocation)."""

from __future__ import annotations

import asyncio
import time
import uuid

import jwt
import pytest
import redis.asyncio as aioredis

from swe_common.security import (
    REVOKED_API_KEY_KEY,
    REVOKED_JTI_KEY,
    REVOKED_SESSION_KEY,
    TOKENS_NOT_BEFORE_KEY,
    CachingTokenVerifier,
    InvalidToken,
    Principal,
    announce_revocation,
    follow_revocations,
    redis_revocation_check,
    until_revoked,
    url_carries_token,
    websocket_subprotocol_token,
)
from swe_common.testing import TokenFactory, eventually


@pytest.fixture
def factory() -> TokenFactory:
    return TokenFactory()


@pytest.fixture
async def redis():
    client = aioredis.from_url("redis://127.0.0.1:6379/0", decode_responses=True)
    written: list[str] = []
    client.written = written  # type: ignore[attr-defined]
    yield client
    if written:
        await client.delete(*written)
    await client.aclose()


async def _set(redis, key: str, value: str = "1") -> None:
    redis.written.append(key)
    await redis.set(key, value, ex=60)


async def test_a_well_formed_token_gives_its_principal(factory):
    user = uuid.uuid4()
    principal = await factory.verifier().verify(factory.token(user, roles=("admin",)))
    assert principal.subject == str(user)
    assert principal.user_id == user
    assert principal.is_admin


def test_a_subject_that_is_not_a_user_id_has_no_user_id():
    assert Principal(subject="service:projects", roles=frozenset()).user_id is None


async def test_an_expired_token_is_refused(factory):
    token = factory.token(ttl_seconds=-120)
    with pytest.raises(InvalidToken):
        await factory.verifier().verify(token)


async def test_alg_none_is_refused(factory):
    claims = jwt.decode(factory.token(), options={"verify_signature": False})
    # An unsigned token, forged on purpose: PyJWT takes None as the key of alg "none".
    forged = jwt.encode(claims, None, algorithm="none", headers={"kid": factory.kid})  # type: ignore[arg-type]
    with pytest.raises(InvalidToken):
        await factory.verifier().verify(forged)


async def test_a_token_naming_its_own_key_is_refused(factory):
    claims = jwt.decode(factory.token(), options={"verify_signature": False})
    forged = jwt.encode(
        claims,
        factory.private_key,
        algorithm="ES256",
        headers={"kid": factory.kid, "typ": "at+jwt", "jku": "https://evil.example/jwks"},
    )
    with pytest.raises(InvalidToken):
        await factory.verifier().verify(forged)


async def test_a_token_from_another_key_is_refused(factory):
    other = TokenFactory()
    other.kid = factory.kid  # same kid, different key: the signature must not verify
    with pytest.raises(InvalidToken):
        await factory.verifier().verify(other.token())


async def test_a_denylisted_jti_is_refused(factory, redis):
    verifier = factory.verifier(is_revoked=redis_revocation_check(redis))
    token = factory.token()
    principal = await verifier.verify(token)
    await _set(redis, REVOKED_JTI_KEY.format(jti=principal.token_id))
    with pytest.raises(InvalidToken):
        await verifier.verify(token)


async def test_a_token_issued_before_the_users_cutoff_is_refused(factory, redis):
    verifier = factory.verifier(is_revoked=redis_revocation_check(redis))
    user = uuid.uuid4()
    token = factory.token(user)
    await _set(redis, TOKENS_NOT_BEFORE_KEY.format(sub=user), str(int(time.time()) + 5))
    with pytest.raises(InvalidToken):
        await verifier.verify(token)


async def test_a_token_of_a_revoked_api_key_is_refused(factory, redis):
    verifier = factory.verifier(is_revoked=redis_revocation_check(redis))
    key_id = str(uuid.uuid4())
    token = factory.token(api_key_id=key_id, scopes=("projects:read",))
    assert (await verifier.verify(token)).api_key_id == key_id
    await _set(redis, REVOKED_API_KEY_KEY.format(key_id=key_id))
    with pytest.raises(InvalidToken):
        await verifier.verify(token)


class CountingCheck:
    """A revocation check that counts its calls and answers what the test says."""

    def __init__(self) -> None:
        self.calls = 0
        self.revoked = False
        self.error: Exception | None = None

    async def __call__(self, principal: Principal) -> bool:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.revoked


async def test_a_cached_token_is_verified_once_and_rechecked_for_revocation_within_the_bound(
    factory,
):
    check = CountingCheck()
    cached = CachingTokenVerifier(factory.verifier(is_revoked=check), recheck_seconds=0.2)
    token = factory.token()
    first = await cached.verify(token)
    for _ in range(20):
        assert await cached.verify(token) is first
    assert check.calls == 1  # the verification's own check; no Redis call per request
    check.revoked = True
    await asyncio.sleep(0.25)
    with pytest.raises(InvalidToken):
        await cached.verify(token)
    with pytest.raises(InvalidToken):  # forgotten, so verified afresh (and refused again)
        await cached.verify(token)


async def test_a_revoked_token_in_redis_stops_passing_the_cache_within_the_recheck_bound(
    factory, redis
):
    cached = CachingTokenVerifier(
        factory.verifier(is_revoked=redis_revocation_check(redis)), recheck_seconds=0.2
    )
    token = factory.token()
    principal = await cached.verify(token)
    await _set(redis, REVOKED_JTI_KEY.format(jti=principal.token_id))

    async def refused() -> bool:
        try:
            await cached.verify(token)
        except InvalidToken:
            return True
        return False

    assert await eventually(refused, timeout=2)


async def test_the_default_bound_refuses_a_revoked_token_within_a_second_without_a_feed(
    factory, redis
):
    from swe_common.settings import ServiceSettings

    bound = ServiceSettings(service_name="example").revocation_recheck_seconds
    assert 0 < bound <= 1  # at most one Redis check a second per token, none per request
    check = CountingCheck()
    cached = CachingTokenVerifier(factory.verifier(is_revoked=check), recheck_seconds=bound)
    token = factory.token()
    await cached.verify(token)
    for _ in range(50):
        await cached.verify(token)
    assert check.calls == 1
    check.revoked = True
    revoked_at = time.monotonic()

    async def refused() -> bool:
        try:
            await cached.verify(token)
        except InvalidToken:
            return True
        return False

    assert await eventually(refused, timeout=bound + 1, interval=0.05)
    assert time.monotonic() - revoked_at <= bound + 0.2
    assert check.calls == 2  # one check inside the bound, not one per request


async def test_an_announced_revocation_is_refused_at_once_despite_a_long_bound(factory, redis):
    prefix = f"test:{uuid.uuid4().hex}:"
    cached = CachingTokenVerifier(
        factory.verifier(is_revoked=redis_revocation_check(redis, prefix=prefix)),
        recheck_seconds=60,
    )
    feed = asyncio.create_task(follow_revocations(redis, cached, prefix=prefix))
    try:
        token = factory.token()
        principal = await cached.verify(token)
        other = factory.token()
        await cached.verify(other)
        await asyncio.sleep(0.1)  # subscribed
        await _set(redis, prefix + REVOKED_JTI_KEY.format(jti=principal.token_id))
        await announce_revocation(redis, prefix)

        async def refused() -> bool:
            try:
                await cached.verify(token)
            except InvalidToken:
                return True
            return False

        # The announcement arrives within milliseconds; without it the cache would answer
        # from its last check for a minute.
        assert await eventually(refused, timeout=1, interval=0.01)
        assert (await cached.verify(other)).subject  # re-checked, and still valid
    finally:
        feed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await feed


async def test_a_revocation_checked_while_announced_is_checked_again(factory):
    """A check already under way when a revocation is announced may have read Redis before
    the revocation was written: its answer must not stand for the new generation."""
    check = CountingCheck()
    cached = CachingTokenVerifier(factory.verifier(is_revoked=check), recheck_seconds=60)
    token = factory.token()
    await cached.verify(token)
    release = asyncio.Event()

    async def slow(principal: Principal) -> bool:
        await release.wait()
        return False

    cached.verifier.is_revoked = slow
    cached.recheck_all()
    under_way = asyncio.create_task(cached.verify(token))
    await asyncio.sleep(0)
    cached.recheck_all()  # announced while the check waits on Redis
    release.set()
    await under_way
    cached.verifier.is_revoked = check
    check.revoked = True
    with pytest.raises(InvalidToken):
        await cached.verify(token)


async def test_a_failed_recheck_raises_and_the_next_request_checks_again(factory):
    check = CountingCheck()
    cached = CachingTokenVerifier(factory.verifier(is_revoked=check), recheck_seconds=0.05)
    token = factory.token()
    await cached.verify(token)
    await asyncio.sleep(0.06)
    check.error = ConnectionError("redis down")
    with pytest.raises(ConnectionError):
        await cached.verify(token)
    check.error = None
    check.revoked = True
    with pytest.raises(InvalidToken):
        await cached.verify(token)


async def test_the_cache_never_serves_a_token_past_its_expiry(factory):
    check = CountingCheck()
    cached = CachingTokenVerifier(factory.verifier(is_revoked=check))
    token = factory.token(ttl_seconds=-1)  # expired, yet within the verifier's 30 s leeway
    await cached.verify(token)
    await cached.verify(token)
    assert check.calls == 2  # verified afresh each time, never answered from the cache


async def test_the_cache_is_bounded_and_forgets_on_demand(factory):
    cached = CachingTokenVerifier(factory.verifier(), size=3)
    tokens = [factory.token() for _ in range(5)]
    for token in tokens:
        await cached.verify(token)
    assert list(cached._tokens) == tokens[2:]
    cached.forget()
    assert not cached._tokens


async def test_an_unreachable_redis_fails_open_only_when_asked(factory):
    down = aioredis.from_url(
        "redis://127.0.0.1:1/0", socket_connect_timeout=0.2, socket_timeout=0.2
    )
    try:
        lenient = factory.verifier(is_revoked=redis_revocation_check(down, fail_open=True))
        assert (await lenient.verify(factory.token())).subject
        strict = factory.verifier(is_revoked=redis_revocation_check(down))
        with pytest.raises(Exception) as raised:
            await strict.verify(factory.token())
        assert not isinstance(raised.value, InvalidToken)
    finally:
        await down.aclose()


async def test_every_token_of_a_revoked_session_is_refused_not_only_the_newest(factory, redis):
    verifier = factory.verifier(is_revoked=redis_revocation_check(redis))
    sid = str(uuid.uuid4())
    first, newest = factory.token(sid=sid), factory.token(sid=sid)
    other_session = factory.token(sid=str(uuid.uuid4()))
    await _set(redis, REVOKED_SESSION_KEY.format(sid=sid))
    for token in (first, newest):
        with pytest.raises(InvalidToken):
            await verifier.verify(token)
    assert (await verifier.verify(other_session)).subject


async def test_until_revoked_returns_once_the_session_is_revoked(factory, redis):
    sid = str(uuid.uuid4())
    principal = await factory.verifier().verify(factory.token(sid=sid))
    check, checks = redis_revocation_check(redis), 0

    async def counted(watched: Principal) -> bool:
        nonlocal checks
        checks += 1
        return await check(watched)

    async def checked_three_times() -> bool:
        return checks >= 3

    watch = asyncio.create_task(until_revoked(principal, counted, 0.05))
    await eventually(checked_three_times)
    assert not watch.done(), "three checks found the session alive: it is still watched"
    await _set(redis, REVOKED_SESSION_KEY.format(sid=sid))
    await asyncio.wait_for(watch, 5)


def test_a_websocket_token_is_read_from_the_bearer_subprotocol():
    assert websocket_subprotocol_token(["swe.v1", "bearer.abc.def"]) == ("abc.def", ["swe.v1"])
    assert websocket_subprotocol_token(["bearer", "abc", "chat"]) == ("abc", ["chat"])
    assert websocket_subprotocol_token(["swe.v1"]) == (None, ["swe.v1"])


def test_a_token_in_a_websocket_url_is_recognised():
    assert url_carries_token(b"since=3&access_token=abc")
    assert not url_carries_token(b"since=3")


async def test_a_service_built_by_the_app_factory_verifies_through_the_cache(database_url):
    from swe_common.app import ServiceSpec, create_service_app
    from swe_common.settings import LogFormat, ServiceSettings
    from swe_common.testing import running_app

    from .conftest import example_router

    settings = ServiceSettings(
        service_name="example",
        database_url=database_url,
        log_format=LogFormat.json,
        token_cache_size=7,
        revocation_recheck_seconds=3,
    )
    app = create_service_app(ServiceSpec(settings=settings, title="x", routers=[example_router()]))
    async with running_app(app):
        verifier = app.state.token_verifier
        assert isinstance(verifier, CachingTokenVerifier)
        assert (verifier.size, verifier.recheck_seconds) == (7, 3)


async def test_a_service_built_by_the_app_factory_follows_auths_announcements(database_url, redis):
    from swe_common.app import ServiceSpec, create_service_app
    from swe_common.settings import LogFormat, ServiceSettings
    from swe_common.testing import running_app

    from .conftest import example_router

    settings = ServiceSettings(
        service_name="example", database_url=database_url, log_format=LogFormat.json
    )
    spec = ServiceSpec(settings=settings, title="x", routers=[example_router()], use_redis=True)
    app = create_service_app(spec)
    async with running_app(app):
        verifier = app.state.token_verifier
        assert isinstance(verifier, CachingTokenVerifier)
        assert verifier.recheck_seconds == 1.0

        async def following() -> bool:
            return verifier._generation > 0  # subscribed (it re-checks all on subscribing)

        assert await eventually(following, timeout=2, interval=0.02)
        before = verifier._generation
        await announce_revocation(redis)

        async def heard() -> bool:
            return verifier._generation > before

        assert await eventually(heard, timeout=1, interval=0.01)
