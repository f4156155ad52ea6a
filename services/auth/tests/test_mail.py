"""Mail reaches the user: a real SMTP server process (aiosmtpd) receives what auth sends, and
the tests follow the links in it."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import aio_pika
import sqlalchemy as sa
from auth_testkit import API, PASSWORD, bearer, login, new_identity, outbox_events, overridden
from conftest import CONSOLE
from prometheus_client import REGISTRY

from swe_common.events import build_event
from swe_common.events.broker import event_message
from swe_common.events.dlq import list_dead_letters, replay_dead_letters
from swe_common.testing import eventually, free_port
from swe_common.testing_mail import html_part, text_part

NEW_PASSWORD = "another long passphrase 77"


def link_in(text: str, path: str) -> str:
    match = re.search(re.escape(f"{CONSOLE}{path}") + r"\?token=([A-Za-z0-9_\-]+)", text)
    assert match, text
    return match.group(1)


def mails(kind: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value("swe_auth_mails_total", {"kind": kind, "outcome": outcome})
    return value or 0.0


def handled(settings: Any, event_type: str, outcome: str = "ok") -> float:
    labels = {"queue": f"{settings.consumer_queue_prefix}.mail", "type": event_type}
    value = REGISTRY.get_sample_value("swe_events_handled_total", {**labels, "outcome": outcome})
    return value or 0.0


async def publish(settings: Any, type_: str, data: dict[str, Any], **kwargs: Any) -> Any:
    """Publish an event as its producer's relay would (or a known one again: a redelivery)."""
    event = kwargs.pop("event", None) or build_event(
        source="/tests", type_=type_, data=data, subject=str(data.get("id", "x"))
    )
    connection = await aio_pika.connect(settings.amqp_url.get_secret_value(), timeout=10)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(settings.events_exchange)
        await exchange.publish(event_message(event), routing_key=event.type)
    return event


async def register_body(client, **fields: str) -> dict[str, Any]:
    body = {**new_identity(), **fields, "password": PASSWORD}
    response = await client.post(f"{API}/register", json=body)
    assert response.status_code == 201, response.text
    return {**response.json(), "password": PASSWORD}


async def verified_user(client, smtp) -> dict[str, Any]:
    user = await register_body(client)
    mail = await smtp.wait_for(user["email"], "email_verification")
    token = link_in(text_part(mail), "/verify-email")
    response = await client.post(f"{API}/email-verification/confirm", json={"token": token})
    assert response.status_code == 204, response.text
    return {**user, "tokens": await login(client, user)}


async def test_a_reset_mail_links_to_the_console_page_that_resets_the_password(client, user, smtp):
    response = await client.post(f"{API}/password-reset/request", json={"email": user["email"]})
    assert response.status_code == 202

    mail = await smtp.wait_for(user["email"], "password_reset")
    assert mail["Subject"] == "Reset your password"
    token = link_in(text_part(mail), "/reset-password")
    assert f'href="{CONSOLE}/reset-password?token={token}"' in html_part(mail)

    confirm = {"token": token, "new_password": NEW_PASSWORD}
    response = await client.post(f"{API}/password-reset/confirm", json=confirm)
    assert response.status_code == 204, response.text
    await login(client, {**user, "password": NEW_PASSWORD})


async def test_registration_mails_a_link_that_verifies_the_address(client, smtp):
    user = await register_body(client)
    assert user["email_verified"] is False

    mail = await smtp.wait_for(user["email"], "email_verification")
    token = link_in(text_part(mail), "/verify-email")
    response = await client.post(f"{API}/email-verification/confirm", json={"token": token})
    assert response.status_code == 204

    me = await client.get(f"{API}/me", headers=bearer(await login(client, user)))
    assert me.json()["email_verified"] is True
    again = await client.post(f"{API}/email-verification/confirm", json={"token": token})
    assert again.status_code == 400


async def test_a_taken_address_is_answered_as_if_new_and_its_owner_is_mailed(client, smtp, runtime):
    owner = await register_body(client)
    attempt = {**new_identity(), "email": owner["email"].upper(), "password": PASSWORD}
    response = await client.post(f"{API}/register", json=attempt)

    assert response.status_code == 201, response.text
    answer = response.json()
    assert set(answer) == set(owner) - {"password"}
    assert answer["id"] != owner["id"]
    assert answer["username"] == attempt["username"]
    # Nothing was created: the visitor cannot sign in with what they sent.
    refused = await client.post(
        f"{API}/login", json={"username": attempt["username"], "password": PASSWORD}
    )
    assert refused.status_code == 401

    notice = await smtp.wait_for(owner["email"], "registration_attempted")
    assert f"{CONSOLE}/reset-password" in text_part(notice)
    assert len(smtp.received(owner["email"], "email_verification")) == 1


async def test_changing_the_address_unverifies_it_and_mails_the_new_one(client, smtp):
    user = await verified_user(client, smtp)
    new_email = f"moved{uuid.uuid4().hex[:8]}@example.com"
    response = await client.patch(
        f"{API}/me",
        json={"email": new_email, "current_password": PASSWORD},
        headers=bearer(user["tokens"]),
    )
    assert response.status_code == 200, response.text
    assert response.json()["email_verified"] is False

    mail = await smtp.wait_for(new_email, "email_verification")
    token = link_in(text_part(mail), "/verify-email")
    assert (
        await client.post(f"{API}/email-verification/confirm", json={"token": token})
    ).status_code == 204
    me = await client.get(f"{API}/me", headers=bearer(user["tokens"]))
    assert me.json()["email_verified"] is True


async def test_a_resent_link_for_an_old_address_verifies_nothing(client, smtp):
    user = await register_body(client)
    tokens = await login(client, user)
    first = link_in(
        text_part(await smtp.wait_for(user["email"], "email_verification")), "/verify-email"
    )
    new_email = f"moved{uuid.uuid4().hex[:8]}@example.com"
    await client.patch(
        f"{API}/me", json={"email": new_email, "current_password": PASSWORD}, headers=bearer(tokens)
    )
    response = await client.post(f"{API}/email-verification/confirm", json={"token": first})
    assert response.status_code == 400
    resend = await client.post(f"{API}/email-verification/request", headers=bearer(tokens))
    assert resend.status_code == 202
    await eventually(lambda: _count(smtp, new_email, "email_verification", 2), timeout=30)


async def _count(smtp, to: str, kind: str, n: int) -> bool:
    return len(smtp.received(to, kind)) >= n


async def test_a_redelivered_event_sends_no_second_mail(client, user, smtp, runtime, settings):
    await client.post(f"{API}/password-reset/request", json={"email": user["email"]})
    await smtp.wait_for(user["email"], "password_reset")
    stored = (await outbox_events(runtime, "auth.password_reset.requested", user["id"]))[-1]
    before = handled(settings, "auth.password_reset.requested", "duplicate")

    from swe_common.events import CloudEvent

    await publish(settings, "", {}, event=CloudEvent.model_validate(stored))
    await eventually(
        lambda: _above(handled(settings, "auth.password_reset.requested", "duplicate"), before),
        timeout=30,
    )
    assert len(smtp.received(user["email"], "password_reset")) == 1


async def test_a_mail_sent_before_its_transaction_was_lost_is_not_sent_again(
    client, user, smtp, runtime, settings
):
    """The SMTP server took the mail but the handler's transaction (its inbox row) was lost:
    the redelivery finds the sent-mail record and sends nothing."""
    await client.post(f"{API}/password-reset/request", json={"email": user["email"]})
    await smtp.wait_for(user["email"], "password_reset")
    stored = (await outbox_events(runtime, "auth.password_reset.requested", user["id"]))[-1]

    async def inbox_row_deleted() -> bool:
        # The mail reaches the server before the handler's transaction commits its inbox row:
        # wait for that row, or the delete finds nothing and the inbox drops the redelivery.
        async with runtime.db.transaction() as session:
            deleted = await session.execute(
                sa.text("DELETE FROM auth.event_inbox WHERE event_id = :id"), {"id": stored["id"]}
            )
        return bool(deleted.rowcount)

    await eventually(inbox_row_deleted, timeout=30)
    before = mails("password_reset", "duplicate")

    from swe_common.events import CloudEvent

    await publish(settings, "", {}, event=CloudEvent.model_validate(stored))
    await eventually(lambda: _above(mails("password_reset", "duplicate"), before), timeout=30)
    assert len(smtp.received(user["email"], "password_reset")) == 1


async def _above(value: float, before: float) -> bool:
    return value > before


async def test_an_unreachable_smtp_server_is_retried_until_it_answers(client, user, smtp, settings):
    before = mails("password_reset", "failed")
    with overridden(settings, smtp_port=free_port()):
        await client.post(f"{API}/password-reset/request", json={"email": user["email"]})
        await eventually(lambda: _above(mails("password_reset", "failed"), before), timeout=30)
    # The next attempt (after the backoff delay) reaches the server again.
    await smtp.wait_for(user["email"], "password_reset")
    assert len(smtp.received(user["email"], "password_reset")) == 1


async def test_a_mail_that_keeps_failing_is_dead_lettered_and_can_be_replayed(
    client, user, smtp, settings, runtime
):
    queue = f"{settings.consumer_queue_prefix}.mail"
    amqp = settings.amqp_url.get_secret_value()
    with overridden(settings, smtp_port=free_port()):
        await client.post(f"{API}/password-reset/request", json={"email": user["email"]})
        stored = (await outbox_events(runtime, "auth.password_reset.requested", user["id"]))[-1]

        async def dead_lettered() -> bool:
            letters = await list_dead_letters(amqp, queue)
            return any(letter.event_id == stored["id"] for letter in letters)

        await eventually(dead_lettered, timeout=30)
    assert smtp.received(user["email"], "password_reset") == []

    await replay_dead_letters(amqp, queue, event_ids=[stored["id"]])
    await smtp.wait_for(user["email"], "password_reset")


async def test_notices_are_off_until_the_user_turns_them_on(client, smtp):
    user = await verified_user(client, smtp)
    headers = bearer(user["tokens"])
    response = await client.get(f"{API}/me/notifications", headers=headers)
    assert response.json() == {
        "issue_assigned": False,
        "review_finished": False,
        "run_failed": False,
    }

    response = await client.patch(
        f"{API}/me/notifications", json={"run_failed": True}, headers=headers
    )
    assert response.status_code == 200
    assert response.json() == {
        "issue_assigned": False,
        "review_finished": False,
        "run_failed": True,
    }
    assert (await client.get(f"{API}/me/notifications", headers=headers)).json()["run_failed"]
    bad = await client.patch(
        f"{API}/me/notifications", json={"run_failed": "maybe"}, headers=headers
    )
    assert bad.status_code == 422


async def _project_of(settings, owner_id: str, name: str) -> str:
    project_id = str(uuid.uuid4())
    now = datetime.now(UTC).isoformat()
    snapshot = {"id": project_id, "name": name, "owner_id": owner_id, "updated_at": now}
    before = (
        REGISTRY.get_sample_value(
            "swe_events_handled_total",
            {
                "queue": f"{settings.consumer_queue_prefix}.projects",
                "type": "projects.project.created",
                "outcome": "ok",
            },
        )
        or 0.0
    )
    await publish(settings, "projects.project.created", snapshot)

    async def seen() -> bool:
        value = REGISTRY.get_sample_value(
            "swe_events_handled_total",
            {
                "queue": f"{settings.consumer_queue_prefix}.projects",
                "type": "projects.project.created",
                "outcome": "ok",
            },
        )
        return (value or 0.0) > before

    await eventually(seen, timeout=30)
    return project_id


async def test_a_failed_run_is_mailed_to_the_project_owner_who_asked_for_it(client, smtp, settings):
    owner = await verified_user(client, smtp)
    quiet = await verified_user(client, smtp)
    await client.patch(
        f"{API}/me/notifications", json={"run_failed": True}, headers=bearer(owner["tokens"])
    )
    mine = await _project_of(settings, owner["id"], "rocket")
    theirs = await _project_of(settings, quiet["id"], "quiet")
    run_id = str(uuid.uuid4())
    before = handled(settings, "agents.run.failed")
    for project_id, run in ((theirs, str(uuid.uuid4())), (mine, run_id)):
        await publish(
            settings,
            "agents.run.failed",
            {
                "run_id": run,
                "agent_id": str(uuid.uuid4()),
                "agent_type": "analysis",
                "project_id": project_id,
                "status": "failed",
                "exit_reason": "timeout",
                "error": "took too long",
            },
        )
    mail = await smtp.wait_for(owner["email"], "run_failed")
    text = text_part(mail)
    assert f"{CONSOLE}/runs/{run_id}" in text
    assert "rocket" in text and "timeout" in text
    await eventually(lambda: _above(handled(settings, "agents.run.failed"), before + 1), timeout=30)
    assert smtp.received(quiet["email"], "run_failed") == []


async def test_a_finished_review_is_mailed_to_the_project_owner(client, smtp, settings):
    owner = await verified_user(client, smtp)
    await client.patch(
        f"{API}/me/notifications", json={"review_finished": True}, headers=bearer(owner["tokens"])
    )
    project_id = await _project_of(settings, owner["id"], "reviewed")
    pr_id = str(uuid.uuid4())
    await publish(
        settings,
        "issues.pr.reviewed",
        {
            "review_id": str(uuid.uuid4()),
            "pull_request_id": pr_id,
            "project_id": project_id,
            "approval": "approve",
            "quality_score": 8.5,
            "comment_count": 2,
        },
    )
    mail = await smtp.wait_for(owner["email"], "review_finished")
    assert f"{CONSOLE}/projects/{project_id}/pulls/{pr_id}" in text_part(mail)
    assert "approve, 2 comments" in text_part(mail)


async def test_an_assigned_issue_is_mailed_to_whoever_opened_it(client, smtp, settings):
    author = await verified_user(client, smtp)
    await client.patch(
        f"{API}/me/notifications", json={"issue_assigned": True}, headers=bearer(author["tokens"])
    )
    project_id = await _project_of(settings, str(uuid.uuid4()), "shared")
    issue_id = str(uuid.uuid4())
    now = datetime.now(UTC).isoformat()
    await publish(
        settings,
        "issues.issue.assigned",
        {
            "id": issue_id,
            "project_id": project_id,
            "title": "Crash on <start>",
            "description": "",
            "status": "open",
            "priority": "high",
            "labels": [],
            "assigned_agent_id": str(uuid.uuid4()),
            "created_by": author["id"],
            "created_at": now,
            "updated_at": now,
            "resolved_at": None,
        },
    )
    mail = await smtp.wait_for(author["email"], "issue_assigned")
    assert f"{CONSOLE}/projects/{project_id}/issues/{issue_id}" in text_part(mail)
    assert "Crash on <start>" in text_part(mail)
    # Values are escaped in the HTML part.
    assert "Crash on &lt;start&gt;" in html_part(mail)


async def test_an_unverified_address_gets_no_notices(client, smtp, settings):
    user = await register_body(client)
    tokens = await login(client, user)
    await client.patch(f"{API}/me/notifications", json={"run_failed": True}, headers=bearer(tokens))
    project_id = await _project_of(settings, user["id"], "unverified")
    before = handled(settings, "agents.run.failed")
    await publish(
        settings,
        "agents.run.failed",
        {
            "run_id": str(uuid.uuid4()),
            "agent_id": str(uuid.uuid4()),
            "agent_type": "analysis",
            "project_id": project_id,
            "status": "failed",
        },
    )
    await eventually(lambda: _above(handled(settings, "agents.run.failed"), before), timeout=30)
    assert smtp.received(user["email"], "run_failed") == []
