"""Refresh tokens rotate on use; reuse of a rotated one revokes its family; expiry windows."""

import asyncio

from auth_testkit import API, audit_actions, bearer, login, outbox_events


async def _refresh(client, token):
    return await client.post(f"{API}/refresh", json={"refresh_token": token})


async def test_refresh_rotates_the_refresh_token(client, tokens):
    response = await _refresh(client, tokens["refresh_token"])
    assert response.status_code == 200
    fresh = response.json()
    assert fresh["refresh_token"] != tokens["refresh_token"]
    assert (await client.get(f"{API}/me", headers=bearer(fresh))).status_code == 200


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(
    client, user, tokens, clock, runtime
):
    fresh = (await _refresh(client, tokens["refresh_token"])).json()
    clock.advance(5)
    reuse = await _refresh(client, tokens["refresh_token"])
    assert reuse.status_code == 401
    # The thief's copy and the user's newer token both die, and so does the newest access token.
    assert (await _refresh(client, fresh["refresh_token"])).status_code == 401
    assert (await client.get(f"{API}/me", headers=bearer(fresh))).status_code == 401
    assert ("refresh_reuse", "failure") in await audit_actions(runtime, user["id"])
    revoked = await outbox_events(runtime, "auth.token.revoked", subject=user["id"])
    assert any(e["data"]["reason"] == "refresh_reuse" for e in revoked)


async def test_two_concurrent_refreshes_let_exactly_one_succeed(client, tokens):
    first, second = await asyncio.gather(
        _refresh(client, tokens["refresh_token"]), _refresh(client, tokens["refresh_token"])
    )
    codes = sorted([first.status_code, second.status_code])
    assert codes == [200, 401]
    winner = first if first.status_code == 200 else second
    # A race is not a theft: the winner's session goes on.
    assert (await _refresh(client, winner.json()["refresh_token"])).status_code == 200


async def test_refresh_token_expires_after_seven_idle_days(client, tokens, clock):
    clock.advance(7 * 86400 + 1)
    assert (await _refresh(client, tokens["refresh_token"])).status_code == 401


async def test_refresh_keeps_the_session_alive_while_used(client, tokens, clock):
    token = tokens["refresh_token"]
    for _ in range(3):
        clock.advance(6 * 86400)
        response = await _refresh(client, token)
        assert response.status_code == 200
        token = response.json()["refresh_token"]


async def test_refresh_stops_after_thirty_days_however_active(client, tokens, clock):
    token = tokens["refresh_token"]
    for _ in range(4):
        clock.advance(6 * 86400)
        token = (await _refresh(client, token)).json()["refresh_token"]
    clock.advance(6.5 * 86400)  # day 30.5: idle for less than 7 days, but past the 30
    assert (await _refresh(client, token)).status_code == 401


async def test_unknown_refresh_token_answers_401(client):
    response = await _refresh(client, "rt_not-a-real-token")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_disabled_user_cannot_refresh(client, admin, user):
    tokens = await login(client, user)
    await client.post(f"{API}/admin/users/{user['id']}/disable", headers=bearer(admin["tokens"]))
    assert (await _refresh(client, tokens["refresh_token"])).status_code == 401
