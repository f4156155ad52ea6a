"""Registration: role user for all; roles, ids or flags in the body refused; a taken username
is a 409, a taken address is answered like a new one."""

from auth_testkit import API, PASSWORD, new_identity, outbox_events, register


async def test_registered_user_gets_role_user_only(client):
    user = await register(client)
    assert user["roles"] == ["user"]
    assert user["is_active"] is True
    assert "password" not in (await client.get(f"{API}/.well-known/jwks.json")).text


async def test_register_refuses_roles_in_the_body(client):
    body = {**new_identity(), "password": PASSWORD, "roles": ["admin"]}
    response = await client.post(f"{API}/register", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert any(e["field"] == "body.roles" for e in response.json()["errors"])


async def test_register_refuses_id_and_flags_in_the_body(client):
    for extra in ({"id": "00000000-0000-0000-0000-000000000001"}, {"is_active": False}):
        response = await client.post(
            f"{API}/register", json={**new_identity(), "password": PASSWORD, **extra}
        )
        assert response.status_code == 422, extra


async def test_duplicate_email_is_answered_like_a_new_one(client, runtime):
    """Whether an address has an account is not told to whoever registers (its owner gets a
    mail: test_mail.py); nothing is created."""
    user = await register(client)
    body = {**new_identity(), "email": user["email"].upper(), "password": PASSWORD}
    response = await client.post(f"{API}/register", json=body)
    assert response.status_code == 201
    assert response.json()["email"] == user["email"].lower()
    assert await outbox_events(runtime, "auth.user.registered", subject=response.json()["id"]) == []


async def test_duplicate_username_answers_409_whatever_the_case(client):
    user = await register(client)
    body = {**new_identity(), "username": user["username"].upper(), "password": PASSWORD}
    response = await client.post(f"{API}/register", json=body)
    assert response.status_code == 409
    assert "username" in response.json()["detail"]


async def test_invalid_email_and_username_are_422(client):
    response = await client.post(
        f"{API}/register",
        json={"email": "not-an-email", "username": "a b", "password": PASSWORD},
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"body.email", "body.username"} <= fields


async def test_registration_publishes_user_registered(client, runtime):
    user = await register(client)
    events = await outbox_events(runtime, "auth.user.registered", subject=user["id"])
    assert len(events) == 1
    data = events[0]["data"]
    assert data["user_id"] == user["id"]
    assert data["email"] == user["email"]
    assert data["roles"] == ["user"]
    assert "password" not in str(events[0])
