"""Administration: list/search users, roles, lock/unlock, disable; the audit trail."""

from auth_testkit import API, PASSWORD, bearer, login, outbox_events, register


async def test_non_admin_gets_403_on_admin_routes(client, tokens):
    response = await client.get(f"{API}/admin/users", headers=bearer(tokens))
    assert response.status_code == 403


async def test_admin_searches_users_by_part_of_the_name(client, admin):
    user = await register(client)
    response = await client.get(
        f"{API}/admin/users", params={"q": user["username"][4:]}, headers=bearer(admin["tokens"])
    )
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 1 and page["items"][0]["id"] == user["id"]
    assert "password_hash" not in page["items"][0]


async def test_admin_filters_users_by_role(client, admin):
    response = await client.get(
        f"{API}/admin/users",
        params={"role": "admin", "limit": 100},
        headers=bearer(admin["tokens"]),
    )
    assert all("admin" in u["roles"] for u in response.json()["items"])
    assert admin["id"] in {u["id"] for u in response.json()["items"]}


async def test_unknown_sort_field_is_422(client, admin):
    response = await client.get(
        f"{API}/admin/users", params={"sort": "password_hash"}, headers=bearer(admin["tokens"])
    )
    assert response.status_code == 422


async def test_role_change_applies_to_new_tokens_and_revokes_old_ones(client, admin, user, runtime):
    old = await login(client, user)
    response = await client.put(
        f"{API}/admin/users/{user['id']}/roles",
        json={"roles": ["user", "agent"]},
        headers=bearer(admin["tokens"]),
    )
    assert response.status_code == 200 and response.json()["roles"] == ["agent", "user"]
    assert (await client.get(f"{API}/me", headers=bearer(old))).status_code == 401
    fresh = await login(client, user)
    assert (await client.get(f"{API}/me", headers=bearer(fresh))).json()["roles"] == [
        "agent",
        "user",
    ]
    events = await outbox_events(runtime, "auth.user.updated", subject=user["id"])
    assert events[-1]["data"]["roles"] == ["agent", "user"]


async def test_unknown_role_is_422(client, admin, user):
    response = await client.put(
        f"{API}/admin/users/{user['id']}/roles",
        json={"roles": ["superuser"]},
        headers=bearer(admin["tokens"]),
    )
    assert response.status_code == 422


async def test_admin_lock_blocks_login_until_unlocked(client, admin, user):
    headers = bearer(admin["tokens"])
    assert (await client.post(f"{API}/admin/users/{user['id']}/lock", headers=headers)).json()[
        "locked"
    ] is True
    assert (
        await client.post(f"{API}/login", json={"username": user["username"], "password": PASSWORD})
    ).status_code == 401
    await client.post(f"{API}/admin/users/{user['id']}/unlock", headers=headers)
    await login(client, user)


async def test_disabling_a_user_ends_their_tokens_and_publishes_user_disabled(
    client, admin, user, runtime
):
    tokens = await login(client, user)
    response = await client.post(
        f"{API}/admin/users/{user['id']}/disable", headers=bearer(admin["tokens"])
    )
    assert response.json()["is_active"] is False
    assert (await client.get(f"{API}/me", headers=bearer(tokens))).status_code == 401
    assert (
        await client.post(f"{API}/login", json={"username": user["username"], "password": PASSWORD})
    ).status_code == 401
    assert await outbox_events(runtime, "auth.user.disabled", subject=user["id"])


async def test_admin_cannot_disable_themselves(client, admin):
    response = await client.post(
        f"{API}/admin/users/{admin['id']}/disable", headers=bearer(admin["tokens"])
    )
    assert response.status_code == 409


async def test_unknown_user_id_is_404(client, admin):
    response = await client.get(
        f"{API}/admin/users/00000000-0000-0000-0000-000000000000", headers=bearer(admin["tokens"])
    )
    assert response.status_code == 404


async def test_admin_lists_the_audit_trail_filtered_by_user(client, admin, user):
    await client.post(
        f"{API}/login", json={"username": user["username"], "password": "bad bad bad bad"}
    )
    await login(client, user)
    response = await client.get(
        f"{API}/admin/audit",
        params={"user_id": user["id"], "action": "login"},
        headers=bearer(admin["tokens"]),
    )
    assert response.status_code == 200
    outcomes = [e["outcome"] for e in response.json()["items"]]
    assert sorted(outcomes) == ["failure", "success"]


async def test_audit_trail_is_for_admins_only(client, tokens):
    assert (await client.get(f"{API}/admin/audit", headers=bearer(tokens))).status_code == 403


async def test_profile_update_changes_only_profile_fields(client, user, tokens, runtime):
    response = await client.patch(
        f"{API}/me", json={"full_name": "New Name"}, headers=bearer(tokens)
    )
    assert response.status_code == 200 and response.json()["full_name"] == "New Name"
    refused = await client.patch(f"{API}/me", json={"roles": ["admin"]}, headers=bearer(tokens))
    assert refused.status_code == 422
    events = await outbox_events(runtime, "auth.user.updated", subject=user["id"])
    assert events[-1]["data"]["full_name"] == "New Name"


async def test_an_automation_account_gets_the_agent_role_and_no_administration(client, admin):
    """An admin makes an account an automation account; it manages its own account and its
    own API keys, and nothing of anyone else's (403 naming the permission, 404 for a key)."""
    bot = await register(client)
    other = await register(client)
    set_roles = await client.put(
        f"{API}/admin/users/{bot['id']}/roles",
        json={"roles": ["agent"]},
        headers=bearer(admin["tokens"]),
    )
    assert set_roles.status_code == 200 and set_roles.json()["roles"] == ["agent"]
    tokens = await login(client, bot)
    me = await client.get(f"{API}/me", headers=bearer(tokens))
    assert me.status_code == 200 and me.json()["roles"] == ["agent"]
    key = await client.post(
        f"{API}/api-keys", json={"name": "ci", "scopes": ["agents:write"]}, headers=bearer(tokens)
    )
    assert key.status_code == 201
    for method, path in (
        ("GET", f"{API}/admin/users"),
        ("GET", f"{API}/admin/audit"),
        ("PUT", f"{API}/admin/users/{other['id']}/roles"),
        ("POST", f"{API}/admin/users/{other['id']}/lock"),
    ):
        body = {"roles": ["admin"]} if method == "PUT" else None
        response = await client.request(method, path, json=body, headers=bearer(tokens))
        assert response.status_code == 403, (path, response.text)
        assert response.json()["permission"] == "users.admin"
    others_key = await client.post(
        f"{API}/api-keys",
        json={"name": "theirs", "scopes": ["issues:read"]},
        headers=bearer(await login(client, other)),
    )
    revoke = await client.delete(
        f"{API}/api-keys/{others_key.json()['id']}", headers=bearer(tokens)
    )
    assert revoke.status_code == 404
