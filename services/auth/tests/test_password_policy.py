"""Password policy (ASVS 5): length, common passwords, username/email, optional composition."""

from auth_testkit import API, new_identity

from swe_auth.passwords import common_passwords, policy_violations
from swe_auth.settings import Settings


async def _register(client, password, **fields):
    body = {**new_identity(), **fields, "password": password}
    return await client.post(f"{API}/register", json=body)


async def test_password_shorter_than_twelve_is_refused_with_its_own_message(client):
    response = await _register(client, "short pw 1")
    assert response.status_code == 422
    assert "at least 12 characters" in response.json()["detail"]


async def test_common_password_is_refused(client):
    response = await _register(client, "qwertyqwerty")
    assert response.status_code == 422
    assert "too common" in response.json()["detail"]


async def test_password_containing_username_is_refused(client):
    identity = new_identity()
    response = await _register(client, f"my {identity['username']} is great", **identity)
    assert response.status_code == 422
    assert "must not contain your username" in response.json()["detail"]


async def test_password_containing_email_name_is_refused(client):
    identity = new_identity()
    local = identity["email"].split("@")[0]
    response = await _register(client, f"zz{local.upper()}zz!", **identity)
    assert response.status_code == 422
    assert "email address" in response.json()["detail"]


async def test_each_failed_rule_is_listed_separately(client):
    response = await _register(client, "password")
    errors = response.json()["errors"]
    assert len(errors) == 2
    assert all(e["field"] == "password" for e in errors)


async def test_long_password_of_128_characters_is_accepted_without_truncation(client):
    long_password = "x7Y!" * 32
    response = await _register(client, long_password)
    assert response.status_code == 201
    identity = response.json()
    ok = await client.post(
        f"{API}/login", json={"username": identity["username"], "password": long_password}
    )
    assert ok.status_code == 200
    truncated = await client.post(
        f"{API}/login", json={"username": identity["username"], "password": long_password[:72]}
    )
    assert truncated.status_code == 401


async def test_password_over_the_maximum_is_refused(client):
    response = await _register(client, "a9!" * 50)
    assert response.status_code == 422
    assert "at most 128" in response.json()["detail"]


def test_composition_rule_is_available_as_a_setting():
    settings = Settings(password_require_composition=True)
    problems = policy_violations("only lower case words", settings)
    assert "must contain an upper-case letter" in problems
    assert "must contain a digit" in problems
    assert policy_violations("Only Lower 9 words!", settings) == []


def test_blocklist_ships_thousands_of_passwords():
    assert len(common_passwords()) > 10_000
    assert "123456" in common_passwords()
