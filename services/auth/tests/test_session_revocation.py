"""Ending a session ends every access token issued in it, not only the newest one: logout,
refresh-token reuse, revoking one session, password change, admin lock and disable."""

import jwt
from auth_testkit import API, PASSWORD, bearer, login, redis_unreachable

from swe_common.security import REVOCATIONS_CHANNEL, REVOKED_SESSION_KEY


async def _refresh(client, tokens):
    response = await client.post(f"{API}/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 200, response.text
    return response.json()


def _sid(tokens) -> str:
    return jwt.decode(tokens["access_token"], options={"verify_signature": False})["sid"]


async def _passes(client, tokens) -> bool:
    return (await client.get(f"{API}/me", headers=bearer(tokens))).status_code == 200


async def test_logout_ends_the_first_access_token_of_a_refreshed_session(client, tokens):
    newest = await _refresh(client, tokens)
    assert (await client.post(f"{API}/logout", headers=bearer(newest))).status_code == 204
    assert not await _passes(client, tokens)
    changed = await client.patch(f"{API}/me", json={"full_name": "Thief"}, headers=bearer(tokens))
    assert changed.status_code == 401


async def test_refresh_token_reuse_ends_every_access_token_of_the_family(client, tokens, clock):
    second = await _refresh(client, tokens)
    third = await _refresh(client, second)
    clock.advance(5)
    reuse = await client.post(f"{API}/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert reuse.status_code == 401
    assert [await _passes(client, t) for t in (tokens, second, third)] == [False] * 3


async def test_revoking_one_session_ends_its_earlier_access_tokens(client, user, tokens):
    _newer = await _refresh(client, tokens)
    other = await login(client, user)
    response = await client.delete(f"{API}/sessions/{_sid(tokens)}", headers=bearer(other))
    assert response.status_code == 204
    assert not await _passes(client, tokens)
    assert await _passes(client, other)


async def test_password_change_ends_the_other_sessions_and_keeps_this_one(client, user, tokens):
    other = await login(client, user)
    changed = await client.post(
        f"{API}/change-password",
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase 7"},
        headers=bearer(tokens),
    )
    assert changed.status_code == 200, changed.text
    assert not await _passes(client, other)
    assert await _passes(client, changed.json())


async def test_admin_lock_ends_the_users_access_tokens(client, admin, user, tokens):
    first = await _refresh(client, tokens)
    headers = bearer(admin["tokens"])
    assert (await client.post(f"{API}/admin/users/{user['id']}/lock", headers=headers)).is_success
    assert not await _passes(client, tokens)
    assert not await _passes(client, first)


async def test_logout_marks_the_session_revoked_in_redis_as_long_as_a_token_lives(
    client, tokens, runtime, settings
):
    await client.post(f"{API}/logout", headers=bearer(tokens))
    key = settings.redis_key_prefix + REVOKED_SESSION_KEY.format(sid=_sid(tokens))
    ttl = await runtime.redis.ttl(key)
    assert settings.access_token_ttl_seconds < ttl <= settings.revocation_ttl_seconds


async def test_a_revocation_is_announced_to_the_verifiers_that_cache_tokens(
    client, tokens, runtime, settings
):
    pubsub = runtime.redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(settings.redis_key_prefix + REVOCATIONS_CHANNEL)
    try:
        assert (await client.post(f"{API}/logout", headers=bearer(tokens))).status_code == 204
        message = None
        for _ in range(20):  # the first reads may be the subscription's confirmation
            message = await pubsub.get_message(timeout=0.1)
            if message is not None:
                break
        assert message is not None and message["type"] == "message"
    finally:
        await pubsub.aclose()


async def test_a_lost_session_revocation_is_copied_back_to_redis(client, tokens, runtime, settings):
    await client.post(f"{API}/logout", headers=bearer(tokens))
    key = settings.redis_key_prefix + REVOKED_SESSION_KEY.format(sid=_sid(tokens))
    await runtime.redis.delete(key)  # Redis lost it (flush, failover)
    async with runtime.db.transaction() as session:
        await runtime.revocations.resync(session, cutoff_ttl=settings.revocation_ttl_seconds)
    assert await runtime.redis.get(key) == "1"


async def test_an_ended_session_stays_ended_when_redis_is_unreachable(client, tokens, runtime):
    newest = await _refresh(client, tokens)
    await client.post(f"{API}/logout", headers=bearer(newest))
    async with redis_unreachable(runtime):
        assert not await _passes(client, tokens)
