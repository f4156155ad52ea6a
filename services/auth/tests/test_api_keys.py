"""API keys: shown once, stored hashed, listed by prefix, revoked; exchanged for scoped tokens."""

import jwt
import pytest
import sqlalchemy as sa
from auth_testkit import API, audit_actions, bearer, login, register


async def _create(client, tokens, **body):
    payload = {"name": "ci", "scopes": ["projects:read", "issues:write"], **body}
    response = await client.post(f"{API}/api-keys", json=payload, headers=bearer(tokens))
    assert response.status_code == 201, response.text
    return response.json()


async def _exchange(client, key):
    return await client.post(f"{API}/api-keys/exchange", headers={"X-API-Key": key})


async def test_created_key_is_shown_once_with_its_prefix(client, tokens):
    created = await _create(client, tokens)
    assert created["key"].startswith(f"swe_{created['prefix']}_")
    listed = (await client.get(f"{API}/api-keys", headers=bearer(tokens))).json()
    assert listed["total"] == 1
    assert listed["items"][0]["prefix"] == created["prefix"]
    assert "key" not in listed["items"][0]
    assert created["key"] not in str(listed)


async def test_key_secret_is_stored_hashed(client, tokens, runtime):
    created = await _create(client, tokens)
    secret = created["key"].split("_", 2)[2]
    async with runtime.db.sessionmaker() as session:
        row = (
            await session.execute(
                sa.text("SELECT secret_hash FROM auth.api_keys WHERE prefix = :p"),
                {"p": created["prefix"]},
            )
        ).one()
    assert secret not in row[0] and len(row[0]) == 64


async def test_exchange_gives_a_short_lived_token_with_the_keys_scopes(client, user, tokens):
    created = await _create(client, tokens)
    response = await _exchange(client, created["key"])
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 300
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["scope"] == "issues:write projects:read"
    assert claims["api_key_id"] == created["id"]
    assert claims["sub"] == user["id"]
    assert claims["preferred_username"] == user["username"]  # what it writes names its owner


async def test_exchange_accepts_the_key_in_a_json_body(client, tokens):
    created = await _create(client, tokens)
    response = await client.post(f"{API}/api-keys/exchange", json={"api_key": created["key"]})
    assert response.status_code == 200


async def test_exchange_refuses_a_wrong_secret_with_401_problem(client, tokens):
    created = await _create(client, tokens)
    forged = created["key"][:-4] + "AAAA"
    for key in (forged, "garbage", f"swe_{created['prefix']}_"):
        response = await _exchange(client, key)
        assert response.status_code == 401, key
        assert response.headers["content-type"] == "application/problem+json"


async def test_exchange_without_a_key_is_401(client):
    assert (await client.post(f"{API}/api-keys/exchange")).status_code == 401


async def test_revoked_key_no_longer_exchanges(client, user, tokens, runtime):
    created = await _create(client, tokens)
    assert (
        await client.delete(f"{API}/api-keys/{created['id']}", headers=bearer(tokens))
    ).status_code == 204
    assert (await _exchange(client, created["key"])).status_code == 401
    actions = await audit_actions(runtime, user["id"])
    assert ("api_key_created", "success") in actions and ("api_key_revoked", "success") in actions


async def test_expired_key_no_longer_exchanges(client, tokens, clock):
    from datetime import UTC, datetime, timedelta

    expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    created = await _create(client, tokens, expires_at=expires)
    assert (await _exchange(client, created["key"])).status_code == 200
    clock.advance(86400 + 1)
    assert (await _exchange(client, created["key"])).status_code == 401


async def test_expiry_in_the_past_is_refused(client, tokens):
    response = await client.post(
        f"{API}/api-keys",
        json={"name": "x", "expires_at": "2020-01-01T00:00:00Z"},
        headers=bearer(tokens),
    )
    assert response.status_code == 422


async def test_malformed_scope_is_refused(client, tokens):
    response = await client.post(
        f"{API}/api-keys", json={"name": "x", "scopes": ["everything"]}, headers=bearer(tokens)
    )
    assert response.status_code == 422


async def test_a_scope_of_an_unknown_family_is_refused(client, tokens):
    # A typo would give a key that silently opens nothing.
    response = await client.post(
        f"{API}/api-keys", json={"name": "x", "scopes": ["project:read"]}, headers=bearer(tokens)
    )
    assert response.status_code == 422
    assert "scopes" in response.text


async def test_someone_elses_key_answers_404(client, tokens):
    created = await _create(client, tokens)
    stranger = await login(client, await register(client))
    assert (
        await client.delete(f"{API}/api-keys/{created['id']}", headers=bearer(stranger))
    ).status_code == 404
    assert (await client.get(f"{API}/api-keys", headers=bearer(stranger))).json()["total"] == 0


async def test_api_key_token_cannot_create_more_keys(client, tokens):
    created = await _create(client, tokens)
    key_token = (await _exchange(client, created["key"])).json()["access_token"]
    response = await client.post(f"{API}/api-keys", json={"name": "x"}, headers=bearer(key_token))
    assert response.status_code == 403


async def test_disabled_owner_key_no_longer_exchanges(client, admin):
    owner = await register(client)
    created = await _create(client, await login(client, owner))
    await client.post(f"{API}/admin/users/{owner['id']}/disable", headers=bearer(admin["tokens"]))
    assert (await _exchange(client, created["key"])).status_code == 401


async def test_revoking_a_key_stops_tokens_already_exchanged_for_it(client, tokens, app):
    # What every service and the gateway ask: the verifier with the Redis revocation check.
    from swe_common.security import InvalidToken

    created = await _create(client, tokens, scopes=["projects:read"])
    exchanged = (await _exchange(client, created["key"])).json()["access_token"]
    verifier = app.state.token_verifier
    assert (await verifier.verify(exchanged)).api_key_id == created["id"]
    assert (
        await client.delete(f"{API}/api-keys/{created['id']}", headers=bearer(tokens))
    ).status_code == 204
    with pytest.raises(InvalidToken):
        await verifier.verify(exchanged)


# -- a key's own request budget at the gateway --------------------------------------------------


async def test_a_key_made_with_a_budget_carries_it_to_the_gateway_in_its_token(client, tokens):
    created = await _create(client, tokens, rate_limits={"minute": 30, "hour": 500})
    assert created["rate_limits"] == {"minute": 30, "hour": 500}
    listed = (await client.get(f"{API}/api-keys", headers=bearer(tokens))).json()["items"]
    assert listed[0]["rate_limits"] == {"minute": 30, "hour": 500}
    token = (await _exchange(client, created["key"])).json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["rate_limits"] == {"minute": 30, "hour": 500}


async def test_a_key_without_a_budget_has_no_budget_claim(client, tokens):
    created = await _create(client, tokens)
    assert created["rate_limits"] is None
    token = (await _exchange(client, created["key"])).json()["access_token"]
    assert "rate_limits" not in jwt.decode(token, options={"verify_signature": False})


async def test_a_key_budget_above_its_owners_is_refused_naming_the_window(client, tokens):
    # A user's budget is 60 a minute and 1,000 an hour (swe_common.rate_budgets).
    response = await client.post(
        f"{API}/api-keys",
        json={"name": "greedy", "rate_limits": {"minute": 30, "hour": 1001}},
        headers=bearer(tokens),
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["rate_limits.hour"]
    assert "1000" in errors[0]["message"]
    listed = (await client.get(f"{API}/api-keys", headers=bearer(tokens))).json()
    assert listed["total"] == 0


async def test_an_admin_may_give_a_key_up_to_the_admin_budget(client, admin):
    created = await _create(client, admin["tokens"], rate_limits={"minute": 300})
    assert created["rate_limits"] == {"minute": 300}


@pytest.mark.parametrize(
    "budget", [{"fortnight": 10}, {"minute": 0}, {"minute": "many"}, {"minute": 10**12}]
)
async def test_a_malformed_key_budget_is_refused(client, tokens, budget):
    response = await client.post(
        f"{API}/api-keys", json={"name": "x", "rate_limits": budget}, headers=bearer(tokens)
    )
    assert response.status_code == 422
    assert "rate_limits" in response.text
