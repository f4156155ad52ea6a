"""An operator's view of the running platform: GET /health/detailed at the gateway is for admins
only and reports every service's own checks; the public answer stays the verdict."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from e2e_support import Stack, User, create_admin, expect, log_in

DB_SERVICES = ("auth", "projects", "agents", "issues", "analytics")


async def test_detailed_health_is_for_admins_and_reports_every_service(
    make_user: Any, stack: Stack, anonymous: httpx.AsyncClient
) -> None:
    refused = await anonymous.get("/health/detailed")
    assert refused.status_code == 401 and "services" not in refused.text
    user: User = await make_user("ops")
    forbidden = await user.http.get("/health/detailed")
    assert forbidden.status_code == 403 and "services" not in forbidden.text
    assert set((await anonymous.get("/health")).json()) == {"status"}
    if stack.env is None:
        pytest.skip("an admin can be created only on a stack these tests started")

    admin = await log_in(anonymous, await asyncio.to_thread(create_admin, stack))
    bearer = {"Authorization": f"Bearer {admin['access_token']}"}
    body = expect(await anonymous.get("/health/detailed", headers=bearer), 200)
    services = body["services"]
    for name in DB_SERVICES:
        reports = list(services[name]["instances"].values())
        assert reports, name
        for report in reports:
            assert report["service"] == name
            database = report["checks"]["database"]
            assert database["status"] == "ok", (name, database)
            assert database["migrations"]["at_head"] is True, (name, database)
            assert report["checks"]["broker"]["status"] == "ok", name
            assert report["build"].keys() == {"commit", "time"}
    auth = next(iter(services["auth"]["instances"].values()))
    assert "smtp" in auth["checks"] and auth["checks"]["queues"]["items"]
    agents = next(iter(services["agents"]["instances"].values()))
    assert agents["checks"]["queues"]["items"], agents["checks"]
    assert "worker" in agents["checks"]
    assert body["gateway"]["checks"]["redis"]["status"] == "ok"
