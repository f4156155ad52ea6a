"""The caller's profile: the email address (where resets go) changes only with the password."""

from auth_testkit import API, PASSWORD, audit_actions, bearer, outbox_events


async def _patch_me(client, tokens, **fields):
    return await client.patch(f"{API}/me", json=fields, headers=bearer(tokens))


async def _email(client, tokens):
    return (await client.get(f"{API}/me", headers=bearer(tokens))).json()["email"]


async def test_changing_the_email_without_the_current_password_answers_422_naming_it(
    client, user, tokens
):
    response = await _patch_me(client, tokens, email="taken-over@example.com")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "current_password"
    assert await _email(client, tokens) == user["email"]


async def test_changing_the_email_with_a_wrong_current_password_answers_403(client, user, tokens):
    response = await _patch_me(
        client, tokens, email="taken-over@example.com", current_password="not my password 1"
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "current_password"
    assert await _email(client, tokens) == user["email"]


async def test_changing_the_email_with_the_current_password_works_and_is_audited(
    client, user, tokens, runtime
):
    new_email = f"moved-{user['username']}@example.com"
    response = await _patch_me(client, tokens, email=new_email, current_password=PASSWORD)
    assert response.status_code == 200, response.text
    assert response.json()["email"] == new_email
    assert ("email_change", "success") in await audit_actions(runtime, user["id"])
    updated = await outbox_events(runtime, "auth.user.updated", subject=user["id"])
    assert updated[-1]["data"]["email"] == new_email


async def test_other_profile_fields_change_without_the_current_password(client, user, tokens):
    response = await _patch_me(client, tokens, full_name="Renamed Person")
    assert response.status_code == 200
    assert response.json()["full_name"] == "Renamed Person"


async def test_a_refused_email_change_changes_no_other_field_either(client, user, tokens):
    response = await _patch_me(client, tokens, full_name="Sneaky", email="x-other@example.com")
    assert response.status_code == 422
    me = (await client.get(f"{API}/me", headers=bearer(tokens))).json()
    assert me["full_name"] == user["full_name"] and me["email"] == user["email"]
