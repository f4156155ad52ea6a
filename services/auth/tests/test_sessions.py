"""Logout, the session list, revoking one or all sessions."""

import redis.asyncio as aioredis
from auth_testkit import API, audit_actions, bearer, login, outbox_events, redis_unreachable

from swe_common.security import REVOKED_JTI_KEY, TOKENS_NOT_BEFORE_KEY


async def test_logout_revokes_the_access_token_at_once(client, tokens):
    response = await client.post(f"{API}/logout", headers=bearer(tokens))
    assert response.status_code == 204
    assert (await client.get(f"{API}/me", headers=bearer(tokens))).status_code == 401


async def test_logout_revokes_the_refresh_family(client, tokens):
    await client.post(f"{API}/logout", headers=bearer(tokens))
    refresh = await client.post(f"{API}/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401


async def test_logout_denylists_the_jti_in_redis_until_the_token_expires(client, tokens, settings):
    import jwt

    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    await client.post(f"{API}/logout", headers=bearer(tokens))
    redis = aioredis.from_url(settings.redis_url.get_secret_value())
    try:
        key = settings.redis_key_prefix + REVOKED_JTI_KEY.format(jti=claims["jti"])
        ttl = await redis.ttl(key)
    finally:
        await redis.aclose()
    assert 0 < ttl <= 900


async def test_logout_publishes_token_revoked(client, user, tokens, runtime):
    await client.post(f"{API}/logout", headers=bearer(tokens))
    events = await outbox_events(runtime, "auth.token.revoked", subject=user["id"])
    assert any(e["data"]["reason"] == "logout" and e["data"]["jti"] for e in events)
    assert ("logout", "success") in await audit_actions(runtime, user["id"])


async def test_revoked_token_stays_revoked_when_redis_is_unreachable(client, tokens, runtime):
    await client.post(f"{API}/logout", headers=bearer(tokens))
    async with redis_unreachable(runtime):
        status = (await client.get(f"{API}/me", headers=bearer(tokens))).status_code
    assert status == 401


async def test_login_logout_work_while_redis_is_unreachable(client, user, runtime):
    async with redis_unreachable(runtime):
        tokens = await login(client, user)
        assert (await client.post(f"{API}/logout", headers=bearer(tokens))).status_code == 204
        assert (await client.get(f"{API}/me", headers=bearer(tokens))).status_code == 401


async def test_start_up_copies_revocations_from_the_database_back_to_redis(
    client, tokens, runtime, settings
):
    import jwt

    jti = jwt.decode(tokens["access_token"], options={"verify_signature": False})["jti"]
    await client.post(f"{API}/logout", headers=bearer(tokens))
    key = settings.redis_key_prefix + REVOKED_JTI_KEY.format(jti=jti)
    await runtime.redis.delete(key)  # Redis lost it (flush, failover)
    async with runtime.db.transaction() as session:
        await runtime.revocations.resync(session, cutoff_ttl=1020)
    assert await runtime.redis.get(key) == "1"


async def test_user_lists_their_sessions_with_agent_and_address(client, user):
    first = await login(client, user)
    await client.post(
        f"{API}/login",
        json={"username": user["username"], "password": user["password"]},
        headers={"User-Agent": "second-device/1.0"},
    )
    sessions = (await client.get(f"{API}/sessions", headers=bearer(first))).json()
    assert len(sessions) == 2
    assert sum(s["current"] for s in sessions) == 1
    assert {"second-device/1.0"} <= {s["user_agent"] for s in sessions}
    assert all(s["ip"] and s["created_at"] and s["last_used_at"] for s in sessions)


async def test_revoking_one_session_ends_it_and_keeps_the_others(client, user):
    mine = await login(client, user)
    other = await login(client, user)
    sessions = (await client.get(f"{API}/sessions", headers=bearer(mine))).json()
    other_id = next(s["id"] for s in sessions if not s["current"])
    response = await client.delete(f"{API}/sessions/{other_id}", headers=bearer(mine))
    assert response.status_code == 204
    assert (await client.get(f"{API}/me", headers=bearer(other))).status_code == 401
    assert (
        await client.post(f"{API}/refresh", json={"refresh_token": other["refresh_token"]})
    ).status_code == 401
    assert (await client.get(f"{API}/me", headers=bearer(mine))).status_code == 200


async def test_someone_elses_session_answers_404(client, user, tokens):
    from auth_testkit import register

    stranger = await register(client)
    stranger_tokens = await login(client, stranger)
    sessions = (await client.get(f"{API}/sessions", headers=bearer(stranger_tokens))).json()
    response = await client.delete(f"{API}/sessions/{sessions[0]['id']}", headers=bearer(tokens))
    assert response.status_code == 404


async def test_log_out_everywhere_revokes_every_token_at_once(client, user, settings):
    first = await login(client, user)
    second = await login(client, user)
    response = await client.delete(f"{API}/sessions", headers=bearer(first))
    assert response.status_code == 204
    for tokens in (first, second):
        assert (await client.get(f"{API}/me", headers=bearer(tokens))).status_code == 401
        refresh = await client.post(
            f"{API}/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refresh.status_code == 401
    redis = aioredis.from_url(settings.redis_url.get_secret_value())
    try:
        cutoff = await redis.get(
            settings.redis_key_prefix + TOKENS_NOT_BEFORE_KEY.format(sub=user["id"])
        )
    finally:
        await redis.aclose()
    assert cutoff is not None
    assert (
        await client.get(f"{API}/me", headers=bearer(await login(client, user)))
    ).status_code == 200


async def test_session_records_the_forwarded_client_behind_a_trusted_proxy(client, user):
    tokens = await login(client, user)  # the in-process client connects from 127.0.0.1
    await client.post(
        f"{API}/login",
        json={"username": user["username"], "password": user["password"]},
        headers={"X-Forwarded-For": "203.0.113.50"},
    )
    sessions = (await client.get(f"{API}/sessions", headers=bearer(tokens))).json()
    assert "203.0.113.50" in {s["ip"] for s in sessions}


async def test_forwarded_header_from_an_untrusted_peer_is_ignored(app, user):
    from auth_testkit import client_from

    async with client_from(app, "198.51.100.20") as outsider:
        tokens = await login(outsider, user)
        await outsider.post(
            f"{API}/login",
            json={"username": user["username"], "password": user["password"]},
            headers={"X-Forwarded-For": "203.0.113.51"},
        )
        sessions = (await outsider.get(f"{API}/sessions", headers=bearer(tokens))).json()
    assert {s["ip"] for s in sessions} == {"198.51.100.20"}


async def test_revocation_made_while_redis_was_down_reaches_redis_when_it_is_back(
    client, tokens, runtime, settings
):
    import jwt

    from swe_common.testing import eventually

    jti = jwt.decode(tokens["access_token"], options={"verify_signature": False})["jti"]
    key = settings.redis_key_prefix + REVOKED_JTI_KEY.format(jti=jti)
    async with redis_unreachable(runtime):
        assert (await client.post(f"{API}/logout", headers=bearer(tokens))).status_code == 204
    # The gateway reads Redis only: the background loop must copy the revocation there.
    assert await eventually(lambda: runtime.redis.get(key), timeout=10)
