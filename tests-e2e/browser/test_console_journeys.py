"""Journeys through the web console in a real browser (Chromium), against the real stack.

A new user registers and signs in, registers a repository, shares it with a viewer who sees
no write controls, and a stranger who gets "not found" for its URL; a TOTP account signs in
with its code; a session survives a reload and an expired access token; signing out in one tab
ends the session in the others. axe-core checks every page visited (no serious or critical
violation) and each main page is saved to docs/screenshots/.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pyotp
from browser_support import axe, screenshot, sign_in
from e2e_support import PASSWORD, Stack, User, expect
from playwright.async_api import BrowserContext, Page, Request
from playwright.async_api import expect as see

from .conftest import ACCESS_TOKEN_TTL_SECONDS, NewPage


async def test_register_create_project_share_with_a_viewer_and_hide_it_from_a_stranger(
    stack: Stack, page: Page, new_page: NewPage, make_user: Any
) -> None:
    owner_name = f"web-owner-{uuid.uuid4().hex[:8]}"

    # A visitor is sent to sign in, and comes back where they wanted to go.
    await page.goto(f"{stack.base_url}/projects")
    await see(page).to_have_url(re.compile(r"/sign-in\?redirect=%2Fprojects"))
    await axe(page)
    await screenshot(page, "sign-in")

    await page.get_by_role("link", name="Create an account").click()
    await page.get_by_label(re.compile("^Username")).fill(owner_name)
    await page.get_by_label(re.compile("^Email")).fill(f"{owner_name}@example.com")
    password = page.locator("input[autocomplete=new-password]")
    await password.fill("short")
    # The policy is shown live, rule by rule.
    await see(page.get_by_text("At least 12 characters (not met)")).to_be_attached()
    await axe(page)
    await screenshot(page, "register")
    await password.fill(PASSWORD)
    await see(page.get_by_text("At least 12 characters (met)")).to_be_attached()
    await page.get_by_role("button", name="Create account").click()
    await see(page.get_by_text("Account created")).to_be_visible()

    await page.get_by_role("link", name="Sign in").click()
    await page.goto(f"{stack.base_url}/sign-in?redirect=%2Fprojects")
    await sign_in(page, owner_name)
    await see(page).to_have_url(f"{stack.base_url}/projects")
    await see(page.get_by_role("heading", name="Projects", level=1)).to_be_visible()

    # The repository URL is checked by the server; its message appears under the field.
    await page.get_by_role("button", name="New project").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label(re.compile("^Name")).fill("Web journey")
    await dialog.get_by_label(re.compile("^Repository URL")).fill("ftp://example.com/repo")
    await dialog.get_by_role("button", name="Create project").click()
    await see(dialog.get_by_text(re.compile("scheme 'ftp' is not allowed"))).to_be_visible()
    await see(dialog.get_by_text(re.compile("Request id"))).to_be_visible()
    await axe(page)
    await dialog.get_by_label(re.compile("^Repository URL")).fill(
        f"https://github.com/e2e/web-{uuid.uuid4().hex[:6]}"
    )
    await dialog.get_by_role("button", name="Create project").click()
    # The webhook secret is shown once, with a copy button.
    await see(page.get_by_role("button", name="Copy secret")).to_be_visible()
    await see(page.get_by_role("dialog")).to_have_count(0)
    await axe(page)
    await screenshot(page, "projects")

    await page.get_by_role("link", name="Web journey").first.click()
    await see(page).to_have_url(re.compile(r"/projects/[0-9a-f-]{36}/issues$"))
    project_url = page.url.removesuffix("/issues")
    project_id = project_url.rsplit("/", 1)[1]
    await axe(page)

    # The session survives a reload (the refresh cookie restores it).
    await page.reload()
    await see(page.get_by_role("heading", name="Web journey", level=1)).to_be_visible()

    viewer: User = await make_user("web-viewer")
    await page.get_by_role("link", name="Members").click()
    await page.get_by_label("User id").fill(viewer.id)
    await page.get_by_role("button", name="Add member").click()
    await see(page.get_by_text(viewer.id)).to_be_visible()
    await axe(page)
    await screenshot(page, "project-members")
    await page.get_by_role("link", name="Settings").click()
    await see(page.get_by_role("button", name="Delete project")).to_be_visible()
    await axe(page)
    await screenshot(page, "project-settings")
    await page.get_by_role("link", name="Home").first.click()
    await see(page.get_by_role("heading", name="My projects", exact=True)).to_be_visible()
    await see(page.get_by_role("link", name="Web journey")).to_be_visible()
    await axe(page)
    await screenshot(page, "home")

    # The viewer sees the project and no control that would change it.
    viewer_page: Page = await new_page()
    await viewer_page.goto(f"{project_url}/members")
    await sign_in(viewer_page, viewer.username)
    await see(viewer_page.get_by_role("heading", name="Web journey", level=1)).to_be_visible()
    await see(viewer_page.get_by_text("your role: viewer")).to_be_visible()
    await see(viewer_page.get_by_text("Only the project's owner can add")).to_be_visible()
    await see(viewer_page.get_by_role("button", name="Add member")).to_have_count(0)
    await see(viewer_page.get_by_role("button", name="Remove")).to_have_count(0)
    await see(viewer_page.get_by_role("combobox")).to_have_count(0)
    await axe(viewer_page)
    await viewer_page.get_by_role("link", name="Settings").click()
    await see(viewer_page.get_by_text("You can read these settings")).to_be_visible()
    for name in ("Save", "Rotate secret", "Save token", "Delete project"):
        await see(viewer_page.get_by_role("button", name=name)).to_have_count(0)
    await see(viewer_page.get_by_role("textbox", name="Name")).not_to_be_editable()
    await axe(viewer_page)
    await screenshot(viewer_page, "project-settings-viewer")

    # A stranger gets "not found" for the same URL, with the request id to report.
    stranger: User = await make_user("web-stranger")
    stranger_page: Page = await new_page()
    await stranger_page.goto(f"{stack.base_url}/projects/{project_id}/settings")
    await sign_in(stranger_page, stranger.username)
    await see(stranger_page.get_by_role("heading", name="Not found")).to_be_visible()
    await see(stranger_page.get_by_text("or you do not have access")).to_be_visible()
    await see(stranger_page.get_by_text(re.compile("Request id"))).to_be_visible()
    await see(stranger_page.get_by_text("Web journey")).to_have_count(0)
    await axe(stranger_page)
    await screenshot(stranger_page, "not-found")


async def test_an_account_with_totp_signs_in_with_its_code(
    stack: Stack, page: Page, make_user: Any
) -> None:
    user: User = await make_user("web-totp")
    enrolled = expect(await user.http.post("/api/v1/auth/totp/enroll"), 200)
    authenticator = pyotp.TOTP(enrolled["secret"])
    expect(
        await user.http.post("/api/v1/auth/totp/confirm", json={"code": authenticator.now()}), 204
    )

    await page.goto(f"{stack.base_url}/sign-in")
    await sign_in(page, user.username)
    await see(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    await axe(page)
    await screenshot(page, "sign-in-totp")
    await page.get_by_label("Authentication code").fill("000000")
    await page.get_by_role("button", name="Verify").click()
    await see(page.get_by_role("alert")).to_be_visible()
    # The confirming code's step is spent; the next step's code is within the allowed drift.
    await page.get_by_label("Authentication code").fill(authenticator.at(time.time() + 30))
    await page.get_by_role("button", name="Verify").click()
    await see(page.get_by_role("heading", name=re.compile("^Welcome"))).to_be_visible()


async def test_signing_out_in_one_tab_ends_the_session_in_the_other(
    stack: Stack, context: BrowserContext, page: Page, make_user: Any
) -> None:
    user: User = await make_user("web-tabs")
    first = page
    await first.goto(f"{stack.base_url}/projects")
    await sign_in(first, user.username)
    await see(first.get_by_role("heading", name="Projects", level=1)).to_be_visible()
    second = await context.new_page()
    await second.goto(f"{stack.base_url}/")
    await see(second.get_by_role("heading", name=re.compile("^Welcome"))).to_be_visible()

    await first.get_by_role("button", name=re.compile("^Account menu")).click()
    await first.get_by_role("menuitem", name="Sign out").click()
    await see(first).to_have_url(re.compile(r"/sign-in"))
    await see(second).to_have_url(re.compile(r"/sign-in"))
    # Nor does a reload bring it back: the refresh cookie is gone.
    await second.reload()
    await see(second.get_by_role("heading", name="Sign in")).to_be_visible()


# -- an access token that expires while the user works ---------------------------------------


async def test_the_session_lives_on_after_the_access_token_expires(
    stack: Stack, page: Page, make_user: Any
) -> None:
    user: User = await make_user("web-ttl")
    refreshes: list[str] = []

    def on_request(req: Request) -> None:
        if req.url.endswith("/api/v1/auth/refresh"):
            refreshes.append(req.url)

    page.on("request", on_request)
    await page.goto(f"{stack.base_url}/sign-in?redirect=%2Fprojects")
    await sign_in(page, user.username)
    await see(page.get_by_role("heading", name="Projects", level=1)).to_be_visible()
    signed_in_refreshes = len(refreshes)

    async def still_working_after_a_refresh() -> None:
        # Moving between pages refetches (the lists are stale after 15 s); once the token has
        # expired, a call gets 401, the console refreshes once and retries.
        await page.get_by_role("link", name="Home").first.click()
        await see(page.get_by_role("heading", name="My projects", exact=True)).to_be_visible()
        await page.get_by_role("link", name="Projects").first.click()
        await see(page.get_by_role("heading", name="Projects", level=1)).to_be_visible()
        assert len(refreshes) > signed_in_refreshes, "no refresh yet"

    # The harness's stack issues 60 s tokens; the gateway allows 30 s of clock leeway.
    deadline = time.monotonic() + ACCESS_TOKEN_TTL_SECONDS + 30 + 90
    while True:
        try:
            await still_working_after_a_refresh()
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            await page.wait_for_timeout(2_000)  # a polling interval, bounded by the deadline
    await see(page).to_have_url(f"{stack.base_url}/projects")
    await see(page.get_by_role("alert")).to_have_count(0)
