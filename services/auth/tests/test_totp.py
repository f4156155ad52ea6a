"""Optional TOTP second factor: enrol, confirm, then login needs the code; disable."""

import pyotp
from auth_testkit import API, audit_actions, bearer


async def _enable(client, tokens):
    enrollment = (await client.post(f"{API}/totp/enroll", headers=bearer(tokens))).json()
    secret = enrollment["secret"]
    code = pyotp.TOTP(secret).now()
    response = await client.post(f"{API}/totp/confirm", json={"code": code}, headers=bearer(tokens))
    assert response.status_code == 204, response.text
    return secret


async def _login(client, user, **extra):
    return await client.post(
        f"{API}/login", json={"username": user["username"], "password": user["password"], **extra}
    )


async def test_enrolment_gives_a_secret_and_an_otpauth_uri(client, tokens):
    response = await client.post(f"{API}/totp/enroll", headers=bearer(tokens))
    assert response.status_code == 200
    body = response.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/")
    assert len(body["secret"]) >= 16


async def test_confirm_refuses_a_wrong_code(client, tokens):
    await client.post(f"{API}/totp/enroll", headers=bearer(tokens))
    response = await client.post(
        f"{API}/totp/confirm", json={"code": "000000"}, headers=bearer(tokens)
    )
    assert response.status_code == 400


async def test_login_needs_the_code_once_enabled(client, user, tokens, runtime):
    await _enable(client, tokens)
    response = await _login(client, user)
    assert response.status_code == 401
    assert response.json()["mfa_required"] is True
    assert ("mfa_enabled", "success") in await audit_actions(runtime, user["id"])


async def test_login_with_the_right_code_succeeds(client, user, tokens, clock):
    secret = await _enable(client, tokens)
    clock.advance(30)  # the confirming code's step is spent
    code = pyotp.TOTP(secret).at(runtime_now(clock))
    assert (await _login(client, user, totp_code=code)).status_code == 200


async def test_a_code_cannot_be_replayed(client, user, tokens, clock):
    secret = await _enable(client, tokens)
    clock.advance(30)
    code = pyotp.TOTP(secret).at(runtime_now(clock))
    assert (await _login(client, user, totp_code=code)).status_code == 200
    assert (await _login(client, user, totp_code=code)).status_code == 401


async def test_wrong_code_answers_like_a_wrong_password(client, user, tokens):
    await _enable(client, tokens)
    response = await _login(client, user, totp_code="123456")
    assert response.status_code == 401
    assert response.json()["detail"] == "Incorrect username or password"


async def test_wrong_password_never_says_a_code_is_needed(client, user, tokens):
    await _enable(client, tokens)
    response = await client.post(
        f"{API}/login", json={"username": user["username"], "password": "not it, not it"}
    )
    assert "mfa_required" not in response.json()


async def test_disable_needs_password_and_code(client, user, tokens, clock):
    secret = await _enable(client, tokens)
    clock.advance(30)
    code = pyotp.TOTP(secret).at(runtime_now(clock))
    refused = await client.post(
        f"{API}/totp/disable",
        json={"code": code, "password": "wrong wrong wrong"},
        headers=bearer(tokens),
    )
    assert refused.status_code == 401
    response = await client.post(
        f"{API}/totp/disable",
        json={"code": code, "password": user["password"]},
        headers=bearer(tokens),
    )
    assert response.status_code == 204
    assert (await _login(client, user)).status_code == 200


def runtime_now(clock):
    return clock()
