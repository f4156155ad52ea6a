"""Sign in with GitHub against a fake GitHub speaking the real OAuth and REST wire format."""

import uuid
from urllib.parse import parse_qs, urlparse

import httpx
from auth_fake_github import GitHubUser
from auth_testkit import API, bearer, register


def _github_user(email=None, verified=True):
    gid = uuid.uuid4().int % 10**9
    return GitHubUser(
        id=gid,
        login=f"octo{gid}",
        name="Octo Cat",
        emails=[
            {
                "email": email or f"octo{gid}@users.example.com",
                "primary": True,
                "verified": verified,
            }
        ],
    )


async def _authorize(client, fake_github, github_user):
    """The browser's trip: our redirect, GitHub's approval, back with code and state."""
    fake_github.next_user = github_user
    start = await client.get(f"{API}/github/login")
    assert start.status_code == 302
    async with httpx.AsyncClient() as browser:
        approval = await browser.get(start.headers["location"])
    assert approval.status_code == 302
    back = urlparse(approval.headers["location"])
    return parse_qs(back.query)


async def test_login_redirects_to_github_with_client_id_and_state(client, fake_github):
    response = await client.get(f"{API}/github/login")
    assert response.status_code == 302
    target = urlparse(response.headers["location"])
    query = parse_qs(target.query)
    assert f"{target.scheme}://{target.netloc}" == fake_github.url
    assert target.path == "/login/oauth/authorize"
    assert query["client_id"] == [fake_github.client_id]
    assert query["state"][0]
    assert "swe_github_state" in response.headers["set-cookie"]
    assert "HttpOnly" in response.headers["set-cookie"]


async def test_callback_creates_the_user_and_returns_tokens(client, fake_github):
    github_user = _github_user()
    params = await _authorize(client, fake_github, github_user)
    response = await client.get(
        f"{API}/github/callback", params={"code": params["code"][0], "state": params["state"][0]}
    )
    assert response.status_code == 200, response.text
    me = (await client.get(f"{API}/me", headers=bearer(response.json()))).json()
    assert me["username"] == github_user.login
    assert me["email"] == github_user.emails[0]["email"]
    assert me["github_linked"] is True and me["roles"] == ["user"]
    assert fake_github.token_requests[-1]["client_secret"] == fake_github.client_secret


async def test_second_github_login_finds_the_same_user(client, fake_github):
    github_user = _github_user()
    ids = []
    for _ in range(2):
        params = await _authorize(client, fake_github, github_user)
        tokens = (
            await client.get(
                f"{API}/github/callback",
                params={"code": params["code"][0], "state": params["state"][0]},
            )
        ).json()
        ids.append((await client.get(f"{API}/me", headers=bearer(tokens))).json()["id"])
    assert ids[0] == ids[1]


async def test_github_login_links_an_existing_account_by_verified_email(client, fake_github):
    user = await register(client)
    params = await _authorize(client, fake_github, _github_user(email=user["email"]))
    tokens = (
        await client.get(
            f"{API}/github/callback",
            params={"code": params["code"][0], "state": params["state"][0]},
        )
    ).json()
    assert (await client.get(f"{API}/me", headers=bearer(tokens))).json()["id"] == user["id"]


async def test_unverified_email_does_not_link_an_existing_account(client, fake_github):
    user = await register(client)
    params = await _authorize(
        client, fake_github, _github_user(email=user["email"], verified=False)
    )
    response = await client.get(
        f"{API}/github/callback", params={"code": params["code"][0], "state": params["state"][0]}
    )
    assert response.status_code == 400


async def test_state_from_another_browser_is_refused(client, fake_github, app):
    params = await _authorize(client, fake_github, _github_user())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver"
    ) as other_browser:
        response = await other_browser.get(
            f"{API}/github/callback",
            params={"code": params["code"][0], "state": params["state"][0]},
        )
    assert response.status_code == 400


async def test_a_state_with_non_ascii_characters_is_refused_with_400(client, fake_github):
    params = await _authorize(client, fake_github, _github_user())
    response = await client.get(
        f"{API}/github/callback", params={"code": params["code"][0], "state": "état-ü"}
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_state_cannot_be_used_twice(client, fake_github):
    params = await _authorize(client, fake_github, _github_user())
    query = {"code": params["code"][0], "state": params["state"][0]}
    assert (await client.get(f"{API}/github/callback", params=query)).status_code == 200
    # Even with the cookie presented again, the state was spent.
    replay = await client.get(
        f"{API}/github/callback",
        params=query,
        headers={"Cookie": f"swe_github_state={query['state']}"},
    )
    assert replay.status_code == 400


async def test_bad_code_answers_401(client, fake_github):
    start = await client.get(f"{API}/github/login")
    state = parse_qs(urlparse(start.headers["location"]).query)["state"][0]
    response = await client.get(f"{API}/github/callback", params={"code": "bogus", "state": state})
    assert response.status_code == 401


async def test_user_who_denied_access_gets_a_clear_400(client):
    response = await client.get(f"{API}/github/callback", params={"error": "access_denied"})
    assert response.status_code == 400
    assert "access_denied" in response.json()["detail"]
