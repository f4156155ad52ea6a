"""Changing a password (needs the current one, ends other sessions) and resetting it."""

from auth_testkit import (
    API,
    PASSWORD,
    audit_actions,
    bearer,
    login,
    register,
    requested_reset_token,
)

NEW_PASSWORD = "a brand new passphrase 7"


async def _change(client, tokens, current=PASSWORD, new=NEW_PASSWORD):
    return await client.post(
        f"{API}/change-password",
        json={"current_password": current, "new_password": new},
        headers=bearer(tokens),
    )


async def test_change_password_needs_the_current_password(client, tokens):
    response = await _change(client, tokens, current="not my password at all")
    assert response.status_code == 401


async def test_change_password_applies_the_policy(client, tokens):
    response = await _change(client, tokens, new="short")
    assert response.status_code == 422


async def test_change_password_ends_other_sessions_and_keeps_mine(client, user, runtime):
    mine = await login(client, user)
    other = await login(client, user)
    response = await _change(client, mine)
    assert response.status_code == 200
    fresh = response.json()
    assert (await client.get(f"{API}/me", headers=bearer(other))).status_code == 401
    assert (
        await client.post(f"{API}/refresh", json={"refresh_token": other["refresh_token"]})
    ).status_code == 401
    assert (await client.get(f"{API}/me", headers=bearer(fresh))).status_code == 200
    assert (
        await client.post(f"{API}/refresh", json={"refresh_token": fresh["refresh_token"]})
    ).status_code == 200
    assert ("password_change", "success") in await audit_actions(runtime, user["id"])


async def test_after_a_change_only_the_new_password_works(client, user, tokens):
    await _change(client, tokens)
    old = await client.post(
        f"{API}/login", json={"username": user["username"], "password": PASSWORD}
    )
    new = await client.post(
        f"{API}/login", json={"username": user["username"], "password": NEW_PASSWORD}
    )
    assert (old.status_code, new.status_code) == (401, 200)


async def test_reset_request_answers_the_same_for_unknown_addresses(client, user):
    known = await client.post(f"{API}/password-reset/request", json={"email": user["email"]})
    unknown = await client.post(
        f"{API}/password-reset/request", json={"email": "nobody@example.com"}
    )
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()


async def test_reset_token_travels_only_in_the_event(client, runtime, user):
    response = await client.post(f"{API}/password-reset/request", json={"email": user["email"]})
    token = await requested_reset_token(client, runtime, user)
    assert token.startswith("prt_")
    assert token not in response.text


async def test_reset_sets_the_new_password_and_revokes_sessions(client, runtime, user, tokens):
    token = await requested_reset_token(client, runtime, user)
    response = await client.post(
        f"{API}/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 204
    assert (await client.get(f"{API}/me", headers=bearer(tokens))).status_code == 401
    await login(client, {**user, "password": NEW_PASSWORD})
    assert ("password_reset", "success") in await audit_actions(runtime, user["id"])


async def test_reset_token_works_only_once(client, runtime, user):
    token = await requested_reset_token(client, runtime, user)
    body = {"token": token, "new_password": NEW_PASSWORD}
    assert (await client.post(f"{API}/password-reset/confirm", json=body)).status_code == 204
    again = await client.post(
        f"{API}/password-reset/confirm", json={**body, "new_password": "yet another passphrase 9"}
    )
    assert again.status_code == 400


async def test_reset_token_expires(client, runtime, user, clock):
    token = await requested_reset_token(client, runtime, user)
    clock.advance(31 * 60)
    response = await client.post(
        f"{API}/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 400


async def test_reset_token_is_stored_hashed(client, runtime, user):
    import sqlalchemy as sa

    token = await requested_reset_token(client, runtime, user)
    async with runtime.db.sessionmaker() as session:
        stored = (
            (await session.execute(sa.text("SELECT token_hash FROM auth.password_resets")))
            .scalars()
            .all()
        )
    assert token not in stored
    assert all(len(h) == 64 for h in stored)


async def test_reset_ends_the_wait_of_the_address_that_reset(client, runtime):
    user = await register(client)
    for _ in range(5):
        await client.post(
            f"{API}/login", json={"username": user["username"], "password": "nope nope nope"}
        )
    token = await requested_reset_token(client, runtime, user)
    await client.post(
        f"{API}/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    await login(client, {**user, "password": NEW_PASSWORD})
