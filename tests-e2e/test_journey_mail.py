"""Journey: mail reaches the user. Auth mails through a real SMTP server process the stack was
started with; the user follows the links in what it received, through the gateway.

A user forgets their password, asks for a reset, opens the mailed link (the console's page,
served by the gateway) and sets a new password with its token; the old password stops working.
A new address gets a verification link that verifies it; registering with a taken address is
answered like a new one and the owner is told by mail.
"""

from __future__ import annotations

import re
from email.message import EmailMessage

import httpx
import pytest
from e2e_support import PASSWORD, Stack, User, expect

NEW_PASSWORD = "a brand new passphrase 2026"


def _smtp(stack: Stack):
    if stack.smtp is None:
        pytest.fail("this journey reads the stack's mail: run it on a stack the tests start")
    return stack.smtp


def link_in(stack: Stack, mail: EmailMessage, page: str) -> tuple[str, str]:
    """The link to the console's ``page`` in the mail's text part, and its token."""
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    text = str(body.get_content())
    match = re.search(re.escape(f"{stack.base_url}{page}") + r"\?token=([\w-]+)", text)
    assert match, f"no {page} link to this stack's console in:\n{text}"
    return match.group(0), match.group(1)


async def test_a_user_resets_a_forgotten_password_from_the_mailed_link(
    stack: Stack, make_user, anonymous: httpx.AsyncClient
) -> None:
    user: User = await make_user("forgetful")
    smtp = _smtp(stack)
    expect(
        await anonymous.post("/api/v1/auth/password-reset/request", json={"email": user.email}),
        202,
    )
    mail = await smtp.wait_for(user.email, "password_reset", within=60)
    link, token = link_in(stack, mail, "/reset-password")

    page = await anonymous.get(link.removeprefix(stack.base_url))
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    expect(
        await anonymous.post(
            "/api/v1/auth/password-reset/confirm",
            json={"token": token, "new_password": NEW_PASSWORD},
        ),
        204,
    )
    old = await anonymous.post(
        "/api/v1/auth/login", json={"username": user.username, "password": PASSWORD}
    )
    assert old.status_code == 401
    expect(
        await anonymous.post(
            "/api/v1/auth/login", json={"username": user.username, "password": NEW_PASSWORD}
        ),
        200,
    )


async def test_a_new_address_is_verified_from_its_mail_and_a_taken_one_is_not_revealed(
    stack: Stack, make_user, anonymous: httpx.AsyncClient
) -> None:
    user: User = await make_user("verifier")
    smtp = _smtp(stack)
    assert expect(await user.http.get("/api/v1/auth/me"), 200)["email_verified"] is False
    _, token = link_in(
        stack, await smtp.wait_for(user.email, "email_verification", within=60), "/verify-email"
    )
    expect(
        await anonymous.post("/api/v1/auth/email-verification/confirm", json={"token": token}),
        204,
    )
    assert expect(await user.http.get("/api/v1/auth/me"), 200)["email_verified"] is True

    again = expect(
        await anonymous.post(
            "/api/v1/auth/register",
            json={"email": user.email, "username": f"{user.username}-2", "password": PASSWORD},
        ),
        201,
    )
    assert again["id"] != user.id and again["email_verified"] is False
    await smtp.wait_for(user.email, "registration_attempted", within=60)
