"""Operating the service: settings discipline, the first admin, health and metrics."""

import asyncio
import uuid
from typing import Any

import pytest
from auth_testkit import API, PASSWORD, SERVICE_DIR, bearer, login, new_identity
from pydantic import SecretStr

from swe_auth import cli
from swe_auth.main import create_app
from swe_auth.settings import Settings
from swe_common.migrations import upgrade_head
from swe_common.testing import create_test_database, drop_test_database, running_app


def test_production_refuses_an_empty_key_encryption_key():
    with pytest.raises(ValueError, match="AUTH_KEY_ENCRYPTION_KEY"):
        Settings(environment="production", key_encryption_key="")


def test_production_refuses_a_placeholder_key_encryption_key():
    with pytest.raises(ValueError, match="AUTH_KEY_ENCRYPTION_KEY"):
        Settings(environment="production", key_encryption_key="changeme")


def test_production_accepts_a_real_key_encryption_key():
    settings = Settings(environment="production", key_encryption_key="k" * 16 + uuid.uuid4().hex)
    assert settings.is_production


async def test_create_admin_command_takes_the_password_from_the_environment(
    client, settings, monkeypatch
):
    identity = new_identity()
    monkeypatch.setenv("AUTH_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("AUTH_BOOTSTRAP_ADMIN_PASSWORD", PASSWORD)
    code = await asyncio.to_thread(
        cli.main, ["create-admin", "--email", identity["email"], "--username", identity["username"]]
    )
    assert code == 0
    tokens = await login(client, {**identity, "password": PASSWORD})
    assert "admin" in (await client.get(f"{API}/me", headers=bearer(tokens))).json()["roles"]


async def test_create_admin_command_applies_the_password_policy(settings, monkeypatch, capsys):
    identity = new_identity()
    monkeypatch.setenv("AUTH_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("AUTH_BOOTSTRAP_ADMIN_PASSWORD", "admin")
    code = await asyncio.to_thread(
        cli.main, ["create-admin", "--email", identity["email"], "--username", identity["username"]]
    )
    assert code == 1
    assert "at least 12 characters" in capsys.readouterr().err


async def test_create_admin_without_a_password_source_refuses(settings, monkeypatch):
    monkeypatch.setenv("AUTH_DATABASE_URL", settings.database_url)
    monkeypatch.delenv("AUTH_BOOTSTRAP_ADMIN_PASSWORD", raising=False)
    with pytest.raises(SystemExit, match="AUTH_BOOTSTRAP_ADMIN_PASSWORD"):
        await asyncio.to_thread(
            cli.main, ["create-admin", "--email", "a@example.com", "--username", "abc"]
        )


async def test_bootstrap_admin_from_environment_when_none_exists(settings, database_url):
    url = create_test_database("swe_test_auth_boot")
    try:
        await asyncio.to_thread(upgrade_head, SERVICE_DIR, url)
        identity = new_identity()
        boot = settings.model_copy(
            update={
                "database_url": url,
                "bootstrap_admin_email": identity["email"],
                "bootstrap_admin_username": identity["username"],
                "bootstrap_admin_password": SecretStr(PASSWORD),
            }
        )
        async with running_app(create_app(boot)) as client:
            tokens = await login(client, {**identity, "password": PASSWORD})
            me = (await client.get(f"{API}/me", headers=bearer(tokens))).json()
        assert "admin" in me["roles"]
    finally:
        drop_test_database(url)


async def test_health_live_and_ready(client):
    assert (await client.get("/health/live")).status_code == 200
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


async def test_detailed_health_is_for_admins_and_reaches_the_smtp_server(client, tokens, admin):
    assert (await client.get("/health/detailed")).status_code == 401
    user = await client.get(
        "/health/detailed", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert user.status_code == 403
    assert "smtp" not in user.text
    bearer = {"Authorization": f"Bearer {admin['tokens']['access_token']}"}
    body = (await client.get("/health/detailed", headers=bearer)).json()
    assert body["service"] == "auth"
    checks = body["checks"]
    assert checks["smtp"]["status"] == "ok" and checks["smtp"]["backend"] == "smtp"
    assert checks["database"]["migrations"]["at_head"] is True
    assert checks["queues"]["items"]  # the mail and projects consumers' queues
    assert all(q["dead_letters"] is not None for q in checks["queues"]["items"].values())


async def test_metrics_count_logins_by_outcome_and_lockouts(client, user):
    await client.post(
        f"{API}/login", json={"username": user["username"], "password": "nope nope nope"}
    )
    await login(client, user)
    body = (await client.get("/metrics")).text
    assert 'swe_auth_logins_total{outcome="ok"}' in body
    assert 'swe_auth_logins_total{outcome="failed"}' in body
    assert "swe_auth_lockouts_total" in body
    assert 'swe_auth_tokens_issued_total{kind="user"}' in body
    assert "swe_auth_refresh_reuse_detected_total" in body


async def test_garbage_input_never_answers_5xx(client, tokens):
    probes: list[tuple[str, str, dict[str, Any]]] = [
        (
            "POST",
            "/login",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
        ),
        ("POST", "/login", {"json": {"username": "x" * 5000, "password": "y"}}),
        ("POST", "/token", {"data": {"username": "a"}}),
        ("POST", "/refresh", {"json": {"refresh_token": 12}}),
        ("POST", "/register", {"json": ["not", "an", "object"]}),
        ("GET", "/admin/users/not-a-uuid", {"headers": bearer(tokens)}),
        ("DELETE", "/sessions/not-a-uuid", {"headers": bearer(tokens)}),
        ("POST", "/api-keys/exchange", {"headers": {"X-API-Key": "swe_\x00_\x01"}}),
        ("POST", "/password-reset/confirm", {"json": {"token": "nope", "new_password": "x"}}),
        ("GET", "/github/callback", {"params": {"code": "x", "state": "y"}}),
        ("GET", "/me", {"headers": {"Authorization": "Bearer a.b.c"}}),
        ("POST", "/totp/confirm", {"json": {"code": "12345678"}, "headers": bearer(tokens)}),
    ]
    for method, path, kwargs in probes:
        response = await client.request(method, f"{API}{path}", **kwargs)
        assert response.status_code < 500, (path, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json", path
