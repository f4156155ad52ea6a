"""Mail in a real browser (Chromium) on the real stack: a user who forgot their password asks
for a link on the sign-in page, opens the link from the mail the stack's SMTP server received,
sets a new password on the console's page and signs in with it. A new address is verified by
opening its mailed link; notices are switched on from the account's Notifications tab. axe-core
checks each page; the pages are saved to docs/screenshots/.
"""

from __future__ import annotations

import re
import uuid

from browser_support import axe, register_through_api, screenshot, sign_in
from e2e_support import Stack
from playwright.async_api import Page
from playwright.async_api import expect as see

NEW_PASSWORD = "a brand new passphrase 2026"


def _link(stack: Stack, mail, page: str) -> str:
    body = mail.get_body(preferencelist=("plain",))
    text = str(body.get_content())
    match = re.search(re.escape(f"{stack.base_url}{page}") + r"\?token=[\w-]+", text)
    assert match, text
    return match.group(0)


async def test_a_forgotten_password_is_reset_from_the_mailed_link(page: Page, stack: Stack):
    assert stack.smtp is not None, "the browser stack is started by the tests, with its SMTP"
    username, _ = await register_through_api(page.context.request, f"reset{uuid.uuid4().hex[:4]}")
    email = f"{username}@example.com"

    await page.goto(f"{stack.base_url}/sign-in")
    await page.get_by_role("link", name=re.compile("Forgot")).click()
    await see(page).to_have_url(f"{stack.base_url}/reset-password")
    await page.get_by_label("Email").fill(email)
    await page.get_by_role("button", name="Send reset link").click()
    await see(page.get_by_role("heading", name="Check your email")).to_be_visible()

    mail = await stack.smtp.wait_for(email, "password_reset", within=60)
    await page.goto(_link(stack, mail, "/reset-password"))
    await see(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    await axe(page)
    await screenshot(page, "reset-password")
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Set new password").click()
    await see(page.get_by_role("heading", name="Password changed")).to_be_visible()

    await page.get_by_role("link", name="Sign in").click()
    await sign_in(page, username, NEW_PASSWORD)
    await see(page.get_by_role("heading", name=re.compile("^Welcome"), level=1)).to_be_visible()


async def test_an_address_is_verified_from_its_mail_and_notices_are_switched_on(
    page: Page, stack: Stack
):
    assert stack.smtp is not None
    username, password = await register_through_api(
        page.context.request, f"verify{uuid.uuid4().hex[:4]}"
    )
    email = f"{username}@example.com"
    mail = await stack.smtp.wait_for(email, "email_verification", within=60)

    await page.goto(_link(stack, mail, "/verify-email"))
    await see(page.get_by_role("heading", name="Address verified")).to_be_visible()
    await axe(page)
    await screenshot(page, "verify-email")

    await page.goto(f"{stack.base_url}/sign-in?redirect=%2Faccount%2Fnotifications")
    await sign_in(page, username, password)
    switch = page.get_by_role("switch", name="An agent run of my project failed")
    await see(switch).not_to_be_checked()
    async with page.expect_response(
        lambda r: r.url.endswith("/api/v1/auth/me/notifications") and r.request.method == "PATCH"
    ) as saved:
        await switch.click()
    assert (await saved.value).status == 200
    await see(switch).to_be_checked()
    await page.reload()
    await see(page.get_by_role("switch", name="An agent run of my project failed")).to_be_checked()
    await axe(page)
    await screenshot(page, "account-notifications")
