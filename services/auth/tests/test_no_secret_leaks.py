"""No response, log line or event carries a password, a hash, a refresh token or a key secret
(beyond the one response that hands a token or key to its owner)."""

import io
import logging

import pytest
import sqlalchemy as sa
from auth_testkit import API, bearer, new_identity

PASSWORD = "leak canary passphrase 31"
NEW_PASSWORD = "second canary passphrase 32"
WRONG = "wrong canary passphrase 33"


@pytest.fixture
def captured_logs():
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(root.handlers[0].formatter)
    handler.setLevel(logging.DEBUG)
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


async def _full_journey(client, runtime):
    """Every credential flow once; returns (responses, secrets handed out)."""
    responses = []

    async def call(method, path, **kwargs):
        response = await client.request(method, f"{API}{path}", **kwargs)
        responses.append(response)
        return response

    identity = new_identity()
    user = (await call("POST", "/register", json={**identity, "password": PASSWORD})).json()
    await call("POST", "/login", json={"username": identity["username"], "password": WRONG})
    tokens = (
        await call("POST", "/login", json={"username": identity["username"], "password": PASSWORD})
    ).json()
    refreshed = (
        await call("POST", "/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).json()
    await call("POST", "/refresh", json={"refresh_token": "rt_made_up_value"})
    key = (
        await call(
            "POST",
            "/api-keys",
            json={"name": "k", "scopes": ["projects:read"]},
            headers=bearer(refreshed),
        )
    ).json()
    await call("POST", "/api-keys/exchange", headers={"X-API-Key": key["key"]})
    await call("POST", "/api-keys/exchange", headers={"X-API-Key": key["key"] + "x"})
    await call("POST", "/password-reset/request", json={"email": identity["email"]})
    async with runtime.db.sessionmaker() as session:
        reset_token = (
            await session.execute(
                sa.text(
                    "SELECT payload->'data'->>'reset_token' FROM auth.event_outbox "
                    "WHERE event_type = 'auth.password_reset.requested' "
                    "AND payload->>'subject' = :id"
                ),
                {"id": user["id"]},
            )
        ).scalar_one()
    await call(
        "POST", "/password-reset/confirm", json={"token": reset_token, "new_password": NEW_PASSWORD}
    )
    latest = (
        await call(
            "POST", "/login", json={"username": identity["username"], "password": NEW_PASSWORD}
        )
    ).json()
    await call(
        "POST",
        "/change-password",
        json={"current_password": NEW_PASSWORD, "new_password": PASSWORD},
        headers=bearer(latest),
    )
    secrets = {
        "refresh": [tokens["refresh_token"], refreshed["refresh_token"]],
        "api_key": [key["key"], key["key"].split("_", 2)[2]],
        "reset": [reset_token],
    }
    return user, responses, secrets


async def test_logs_never_contain_passwords_hashes_or_token_secrets(client, runtime, captured_logs):
    _user, _responses, secrets = await _full_journey(client, runtime)
    logs = captured_logs.getvalue()
    assert "request" in logs  # the capture works
    for value in [
        PASSWORD,
        NEW_PASSWORD,
        WRONG,
        "$argon2",
        *secrets["refresh"],
        *secrets["api_key"],
        *secrets["reset"],
    ]:
        assert value not in logs, f"log leaked {value[:12]}..."


async def test_responses_never_contain_passwords_or_hashes(client, runtime):
    _user, responses, secrets = await _full_journey(client, runtime)
    for response in responses:
        for value in (PASSWORD, NEW_PASSWORD, WRONG, "$argon2", *secrets["reset"]):
            assert value not in response.text, response.request.url


async def test_secrets_appear_only_in_the_response_that_hands_them_out(client, runtime):
    _user, responses, secrets = await _full_journey(client, runtime)
    for value in secrets["refresh"] + secrets["api_key"][:1]:
        assert sum(value in r.text for r in responses) == 1


async def test_events_carry_no_password_hash_refresh_token_or_key_secret(client, runtime):
    _user, _responses, secrets = await _full_journey(client, runtime)
    async with runtime.db.sessionmaker() as session:
        payloads = (
            (await session.execute(sa.text("SELECT payload::text FROM auth.event_outbox")))
            .scalars()
            .all()
        )
    everything = "\n".join(payloads)
    for value in [
        PASSWORD,
        NEW_PASSWORD,
        WRONG,
        "$argon2",
        *secrets["refresh"],
        *secrets["api_key"],
    ]:
        assert value not in everything
    assert sum(secrets["reset"][0] in p for p in payloads) == 1
