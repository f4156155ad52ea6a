"""Browser cookie mode: the refresh token only ever in an HttpOnly cookie, CSRF double-submit."""

import uuid
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
import pytest
from auth_fake_github import GitHubUser
from auth_testkit import API, audit_actions, bearer, client_from, login, register

REFRESH_ATTRIBUTES = ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1/auth"]
CSRF_ATTRIBUTES = ["Secure", "SameSite=Strict", "Path=/"]


def _cookies(response: httpx.Response) -> dict[str, tuple[str, list[str]]]:
    """name -> (value, attributes) of every Set-Cookie header, attributes as sent."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        pair, *attributes = [part.strip() for part in header.split(";")]
        name, _, value = pair.partition("=")
        found[name] = (value, attributes)
    return found


def _max_age(attributes: list[str]) -> int:
    return int(next(a for a in attributes if a.startswith("Max-Age=")).split("=", 1)[1])


def _cookie_header(jar: dict[str, tuple[str, list[str]]]) -> dict[str, str]:
    """What a browser sends back to /api/v1/auth: both cookies, and the CSRF header."""
    refresh, csrf = jar["swe_refresh"][0], jar["swe_csrf"][0]
    return {"Cookie": f"swe_refresh={refresh}; swe_csrf={csrf}", "X-CSRF-Token": csrf}


@pytest.fixture
async def browser(app):
    async with client_from(app, "203.0.113.77") as http:
        yield http


async def _cookie_login(browser, user):
    response = await browser.post(
        f"{API}/login",
        json={"username": user["username"], "password": user["password"], "cookie": True},
    )
    assert response.status_code == 200, response.text
    return response


async def _cookie_refresh(browser, headers):
    return await browser.post(f"{API}/refresh", headers=headers)


async def test_cookie_login_sets_the_refresh_and_csrf_cookies_with_exact_attributes(browser, user):
    response = await _cookie_login(browser, user)
    jar = _cookies(response)
    refresh_value, refresh_attributes = jar["swe_refresh"]
    csrf_value, csrf_attributes = jar["swe_csrf"]
    ttl = response.json()["refresh_expires_in"]
    assert refresh_value.startswith("rt_")
    assert refresh_attributes == [*REFRESH_ATTRIBUTES, f"Max-Age={ttl}"]
    assert csrf_attributes == [*CSRF_ATTRIBUTES, f"Max-Age={ttl}"]
    assert "HttpOnly" not in csrf_attributes  # the page reads it for the header
    assert len(csrf_value) >= 32 and csrf_value.replace("-", "").replace("_", "").isalnum()


async def test_cookie_login_answers_tokens_without_the_refresh_token(browser, user):
    response = await _cookie_login(browser, user)
    body = response.json()
    assert body["refresh_token"] is None
    assert body["token_type"] == "bearer"
    assert _cookies(response)["swe_refresh"][0] not in response.text
    assert (await browser.get(f"{API}/me", headers=bearer(body))).status_code == 200


async def test_cookie_refresh_rotates_and_sets_both_cookies_anew(browser, user):
    first = _cookies(await _cookie_login(browser, user))
    response = await _cookie_refresh(browser, _cookie_header(first))
    assert response.status_code == 200, response.text
    second = _cookies(response)
    assert second["swe_refresh"][0] != first["swe_refresh"][0]
    assert second["swe_csrf"][0] != first["swe_csrf"][0]
    assert second["swe_refresh"][1][:4] == REFRESH_ATTRIBUTES
    assert second["swe_csrf"][1][:3] == CSRF_ATTRIBUTES
    assert response.json()["refresh_token"] is None
    assert second["swe_refresh"][0] not in response.text
    assert (await browser.get(f"{API}/me", headers=bearer(response.json()))).status_code == 200


async def test_cookie_refresh_accepts_an_empty_json_body(browser, user):
    jar = _cookies(await _cookie_login(browser, user))
    response = await browser.post(f"{API}/refresh", json={}, headers=_cookie_header(jar))
    assert response.status_code == 200, response.text


async def test_reused_refresh_cookie_is_refused_and_revokes_the_session(
    browser, user, clock, runtime
):
    first = _cookies(await _cookie_login(browser, user))
    rotated = await _cookie_refresh(browser, _cookie_header(first))
    second = _cookies(rotated)
    clock.advance(5)  # beyond the two-second race grace: this is a replay
    replay = await _cookie_refresh(browser, _cookie_header(first))
    assert replay.status_code == 401
    assert replay.headers["content-type"] == "application/problem+json"
    # Reuse detection as in JSON mode: the newer cookie and its access token die too.
    assert (await _cookie_refresh(browser, _cookie_header(second))).status_code == 401
    me = await browser.get(f"{API}/me", headers=bearer(rotated.json()))
    assert me.status_code == 401
    assert ("refresh_reuse", "failure") in await audit_actions(runtime, user["id"])


async def test_cookie_refresh_without_the_csrf_header_answers_403(browser, user):
    headers = _cookie_header(_cookies(await _cookie_login(browser, user)))
    del headers["X-CSRF-Token"]
    response = await _cookie_refresh(browser, headers)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert "X-CSRF-Token" in response.json()["detail"]


async def test_cookie_refresh_with_a_mismatched_csrf_header_answers_403(browser, user):
    headers = _cookie_header(_cookies(await _cookie_login(browser, user)))
    headers["X-CSRF-Token"] = "forged-value"
    response = await _cookie_refresh(browser, headers)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


async def test_csrf_cookie_planted_by_another_site_does_not_pass(browser, user):
    jar = _cookies(await _cookie_login(browser, user))
    planted = "planted-by-a-sibling-subdomain"
    headers = {
        "Cookie": f"swe_refresh={jar['swe_refresh'][0]}; swe_csrf={planted}",
        "X-CSRF-Token": planted,
    }
    assert (await _cookie_refresh(browser, headers)).status_code == 403


async def test_refresh_without_cookie_or_body_answers_401(browser):
    response = await browser.post(f"{API}/refresh", headers={"X-CSRF-Token": "anything"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_json_refresh_is_unchanged_next_to_cookie_mode(client, tokens):
    response = await client.post(f"{API}/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 200
    assert response.json()["refresh_token"].startswith("rt_")
    assert "set-cookie" not in response.headers


async def test_cookie_logout_revokes_the_session_and_clears_both_cookies(browser, user):
    login_response = await _cookie_login(browser, user)
    jar = _cookies(login_response)
    headers = {**_cookie_header(jar), **bearer(login_response.json())}
    response = await browser.post(f"{API}/logout", headers=headers)
    assert response.status_code == 204
    cleared = _cookies(response)
    assert cleared["swe_refresh"] == ("", [*REFRESH_ATTRIBUTES, "Max-Age=0"])
    assert cleared["swe_csrf"] == ("", [*CSRF_ATTRIBUTES, "Max-Age=0"])
    assert (await _cookie_refresh(browser, _cookie_header(jar))).status_code == 401
    assert (
        await browser.get(f"{API}/me", headers=bearer(login_response.json()))
    ).status_code == 401


async def test_cookie_logout_without_the_csrf_header_answers_403(browser, user):
    login_response = await _cookie_login(browser, user)
    headers = {**_cookie_header(_cookies(login_response)), **bearer(login_response.json())}
    del headers["X-CSRF-Token"]
    response = await browser.post(f"{API}/logout", headers=headers)
    assert response.status_code == 403
    assert (
        await browser.get(f"{API}/me", headers=bearer(login_response.json()))
    ).status_code == 200


async def test_json_logout_sets_no_cookies(client):
    user = await register(client)
    tokens = await login(client, user)
    response = await client.post(f"{API}/logout", headers=bearer(tokens))
    assert response.status_code == 204
    assert "set-cookie" not in response.headers


async def test_cookie_login_works_through_the_totp_step(browser, client, runtime, clock):
    user = await register(client)
    tokens = await login(client, user)
    secret = (await client.post(f"{API}/totp/enroll", headers=bearer(tokens))).json()["secret"]
    code = pyotp.TOTP(secret).at(clock())
    confirmed = await client.post(
        f"{API}/totp/confirm", json={"code": code}, headers=bearer(tokens)
    )
    assert confirmed.status_code == 204, confirmed.text
    credentials = {"username": user["username"], "password": user["password"], "cookie": True}
    pending = await browser.post(f"{API}/login", json=credentials)
    assert pending.status_code == 401 and pending.json()["mfa_required"] is True
    assert "set-cookie" not in pending.headers
    clock.advance(30)  # a code is good once: the next step's code
    credentials["totp_code"] = pyotp.TOTP(secret).at(clock())
    response = await browser.post(f"{API}/login", json=credentials)
    assert response.status_code == 200, response.text
    assert response.json()["refresh_token"] is None
    assert _cookies(response)["swe_refresh"][1][:4] == REFRESH_ATTRIBUTES


async def test_github_sign_in_in_browser_mode_sets_cookies_and_redirects_home(
    app, client, fake_github
):
    gid = uuid.uuid4().int % 10**9
    email = {"email": f"octo{gid}@users.example.com", "primary": True, "verified": True}
    fake_github.next_user = GitHubUser(id=gid, login=f"octo{gid}", name="Octo", emails=[email])
    async with client_from(app, "203.0.113.78") as browser:
        start = await browser.get(f"{API}/github/login", params={"mode": "cookie"})
        assert start.status_code == 302
        async with httpx.AsyncClient() as github_side:
            approval = await github_side.get(start.headers["location"])
        params = parse_qs(urlparse(approval.headers["location"]).query)
        response = await browser.get(
            f"{API}/github/callback",
            params={"code": params["code"][0], "state": params["state"][0]},
        )
    assert response.status_code == 302
    assert response.headers["location"] == "/"
    jar = _cookies(response)
    assert jar["swe_refresh"][0].startswith("rt_")
    assert jar["swe_refresh"][1][:4] == REFRESH_ATTRIBUTES
    assert jar["swe_csrf"][1][:3] == CSRF_ATTRIBUTES
    assert jar["swe_refresh"][0] not in response.text
    async with client_from(app, "203.0.113.78") as browser:
        refreshed = await _cookie_refresh(browser, _cookie_header(jar))
    assert refreshed.status_code == 200, refreshed.text


async def test_password_change_in_cookie_mode_keeps_this_browser_signed_in(browser, user, clock):
    # The change rotates this session's refresh token: a browser only keeps its session when
    # the new one comes back as the cookie (page scripts never see a refresh token).
    signed_in = await _cookie_login(browser, user)
    jar = _cookies(signed_in)
    changed = await browser.post(
        f"{API}/change-password",
        json={
            "current_password": user["password"],
            "new_password": "a brand new passphrase 7",
            "cookie": True,
        },
        headers=bearer(signed_in.json()),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["refresh_token"] is None
    fresh = _cookies(changed)
    assert fresh["swe_refresh"][1][:4] == REFRESH_ATTRIBUTES
    assert fresh["swe_refresh"][0] not in changed.text
    clock.advance(5)
    again = await _cookie_refresh(browser, _cookie_header(fresh))
    assert again.status_code == 200, again.text
    assert (await browser.get(f"{API}/me", headers=bearer(again.json()))).status_code == 200
    assert (await _cookie_refresh(browser, _cookie_header(jar))).status_code == 401
