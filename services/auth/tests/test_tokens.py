"""Access tokens: their shape, the JWKS, key rotation, and every forgery the verifier refuses."""

import asyncio
import base64
import json
import time
import uuid
from typing import Any

import jwt
from auth_testkit import API, bearer, login, register
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from swe_auth import cli
from swe_common.security import JWKSClient, TokenVerifier


def _claims(user_id, **overrides):
    now = int(time.time())
    claims = {
        "iss": "swe-auth",
        "aud": "swe-platform",
        "sub": user_id,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "roles": ["admin"],
        "scope": "",
    }
    claims.update(overrides)
    return claims


async def _signed(runtime, claims, **headers):
    key = await runtime.keyring.signing_key()
    return jwt.encode(
        claims,
        key.private_key,
        algorithm="ES256",
        headers={"kid": key.kid, "typ": "at+jwt", **headers},
    )


async def _me_status(client, token):
    return (await client.get(f"{API}/me", headers=bearer(token))).status_code


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_access_token_carries_the_agreed_header_and_claims(client, user):
    tokens = await login(client, user)
    header = jwt.get_unverified_header(tokens["access_token"])
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert header["alg"] == "ES256" and header["typ"] == "at+jwt" and header["kid"]
    assert claims["iss"] == "swe-auth" and claims["aud"] == "swe-platform"
    assert claims["sub"] == user["id"]
    assert claims["roles"] == ["user"]
    assert claims["exp"] - claims["iat"] == 900
    assert {"jti", "nbf", "scope"} <= set(claims)
    # Who the account is, for services recording who wrote something (a comment's author);
    # the e-mail address is not spread to every service.
    assert claims["preferred_username"] == user["username"]
    assert claims["name"] == "Test User"
    assert "email" not in claims


async def test_jwks_publishes_the_signing_key_by_kid(client, user):
    tokens = await login(client, user)
    kid = jwt.get_unverified_header(tokens["access_token"])["kid"]
    jwks = (await client.get(f"{API}/.well-known/jwks.json")).json()
    published = {k["kid"]: k for k in jwks["keys"]}
    assert published[kid]["kty"] == "EC" and published[kid]["crv"] == "P-256"
    assert "d" not in published[kid]


async def test_common_lib_verifier_accepts_tokens_through_the_jwks(client, user):
    tokens = await login(client, user)
    keys = JWKSClient("http://unused.invalid/jwks.json")
    keys.load((await client.get(f"{API}/.well-known/jwks.json")).json())
    verifier = TokenVerifier(keys, issuer="swe-auth", audience="swe-platform")
    principal = await verifier.verify(tokens["access_token"])
    assert principal.subject == user["id"] and principal.roles == frozenset({"user"})


async def test_token_with_alg_none_is_refused(client, user):
    token = f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{_b64(_claims(user['id']))}."
    assert await _me_status(client, token) == 401


async def test_hs256_token_signed_with_the_public_key_is_refused(client, user, runtime):
    key = await runtime.keyring.signing_key()
    public_pem = key.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "at+jwt", "kid": key.kid}
    signing_input = f"{_b64(header)}.{_b64(_claims(user['id']))}"
    import hashlib
    import hmac

    signature = base64.urlsafe_b64encode(
        hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    ).rstrip(b"=")
    assert await _me_status(client, f"{signing_input}.{signature.decode()}") == 401


async def test_token_with_unknown_kid_is_refused(client, user):
    stranger = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(
        _claims(user["id"]),
        stranger,
        algorithm="ES256",
        headers={"kid": "unknown-kid", "typ": "at+jwt"},
    )
    assert await _me_status(client, token) == 401


async def test_token_naming_its_own_key_is_refused(client, user, runtime):
    for header in (
        {"jku": "http://127.0.0.1:1/jwks"},
        {"x5u": "http://127.0.0.1:1/cert"},
        {"jwk": {"kty": "EC"}},
    ):
        token = await _signed(runtime, _claims(user["id"]), **header)
        assert await _me_status(client, token) == 401, header


async def test_token_with_wrong_issuer_or_audience_is_refused(client, user, runtime):
    assert await _me_status(client, await _signed(runtime, _claims(user["id"], iss="evil"))) == 401
    assert await _me_status(client, await _signed(runtime, _claims(user["id"], aud="other"))) == 401


async def test_expired_token_is_refused(client, user, runtime):
    past = int(time.time()) - 3600
    token = await _signed(runtime, _claims(user["id"], iat=past, nbf=past, exp=past + 600))
    assert await _me_status(client, token) == 401


async def test_not_yet_valid_token_is_refused(client, user, runtime):
    future = int(time.time()) + 3600
    token = await _signed(runtime, _claims(user["id"], nbf=future, iat=future, exp=future + 600))
    assert await _me_status(client, token) == 401


async def test_tampered_token_is_refused(client, user):
    tokens = await login(client, user)
    header, payload, signature = tokens["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["roles"] = ["admin"]
    assert await _me_status(client, f"{header}.{_b64(claims)}.{signature}") == 401


async def test_token_not_typed_as_access_token_is_refused(client, user, runtime):
    key = await runtime.keyring.signing_key()
    token = jwt.encode(
        _claims(user["id"]),
        key.private_key,
        algorithm="ES256",
        headers={"kid": key.kid, "typ": "JWT"},
    )
    assert await _me_status(client, token) == 401


async def test_refresh_token_presented_as_access_token_is_refused(client, user):
    tokens = await login(client, user)
    assert await _me_status(client, tokens["refresh_token"]) == 401


async def test_reset_token_presented_as_access_token_is_refused(client, runtime):
    from auth_testkit import outbox_events

    user = await register(client)
    await client.post(f"{API}/password-reset/request", json={"email": user["email"]})
    [event] = await outbox_events(runtime, "auth.password_reset.requested", subject=user["id"])
    assert await _me_status(client, event["data"]["reset_token"]) == 401


async def test_missing_bearer_token_answers_401_problem(client):
    response = await client.get(f"{API}/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_rotated_key_signs_new_tokens_and_old_ones_stay_valid(
    client, user, runtime, settings, monkeypatch
):
    before = await login(client, user)
    old_kid = jwt.get_unverified_header(before["access_token"])["kid"]
    monkeypatch.setenv("AUTH_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("AUTH_ENVIRONMENT", "test")
    assert await asyncio.to_thread(cli.main, ["rotate-keys"]) == 0
    runtime.keyring.reload_seconds = 0  # what the periodic reload does within 30 s
    try:
        after = await login(client, user)
    finally:
        runtime.keyring.reload_seconds = 30.0
    new_kid = jwt.get_unverified_header(after["access_token"])["kid"]
    assert new_kid != old_kid
    assert await _me_status(client, before["access_token"]) == 200
    assert await _me_status(client, after["access_token"]) == 200
    kids = [k["kid"] for k in (await client.get(f"{API}/.well-known/jwks.json")).json()["keys"]]
    assert kids[:2] == [new_kid, old_kid]


async def test_retired_key_leaves_the_jwks_once_its_tokens_have_expired(client, runtime, clock):
    from swe_auth.keys.service import rotate

    async with runtime.db.transaction() as session:
        await rotate(session, runtime.box, runtime.clock)
    await runtime.keyring.load()
    jwks = (await client.get(f"{API}/.well-known/jwks.json")).json()
    newest = jwks["keys"][0]["kid"]
    assert len(jwks["keys"]) >= 2
    clock.advance(900 + 120)
    later = (await client.get(f"{API}/.well-known/jwks.json")).json()
    assert [k["kid"] for k in later["keys"]] == [newest]
