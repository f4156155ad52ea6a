"""The console's Account and Administration pages in a real browser (Chromium), on the real stack.

An administrator locks a user by keyboard alone: the user's next request fails and their page
says why; unlocked, they sign in again; a non-admin never sees the way to the admin pages and
gets "not found" on their URLs. An API key made on the account page opens its scope's family and
no other, from a plain HTTP client, and stops when revoked. TOTP is enrolled from the QR code the
page draws (read back by a QR decoder), then used to sign in; another session is revoked from
the sessions list. axe-core checks every page (no serious or critical violation); each page is
saved to docs/screenshots/.
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
import uuid
from typing import Any

import pyotp
from browser_support import INSTALL_HINT, ROOT, admin_on_gateway_page, axe, screenshot, sign_in
from e2e_support import PASSWORD, Stack, User, create_admin, expect, gateway_client
from playwright.async_api import Locator, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import expect as see

from .conftest import NewPage

JSQR = ROOT / "tests-e2e" / "web" / "node_modules" / "jsqr" / "dist" / "jsQR.js"
# Decodes the PNG of what the page shows (an element screenshot), as a phone camera would.
DECODE_QR = """async (png) => {
  const image = new Image();
  image.src = "data:image/png;base64," + png;
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
  const found = jsQR(pixels.data, canvas.width, canvas.height);
  return found ? found.data : null;
}"""


async def _read_qr(page: Page, code: Locator) -> str:
    if not JSQR.is_file():
        raise AssertionError(f"jsqr is not installed ({JSQR}): {INSTALL_HINT}")
    if not await page.evaluate("() => typeof window.jsQR === 'function'"):
        await page.evaluate(JSQR.read_text())  # through DevTools, as axe is: the CSP holds
    png = base64.b64encode(await code.screenshot()).decode()
    decoded = await page.evaluate(DECODE_QR, png)
    assert decoded, "the QR code the page shows could not be read"
    return str(decoded)


async def _tab_to(page: Page, name: str | re.Pattern[str], presses: int = 120) -> None:
    """Press Tab until the focused element's accessible name matches: it is keyboard-reachable."""
    wanted = re.compile(re.escape(name)) if isinstance(name, str) else name
    seen: list[str] = []
    for _ in range(presses):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(
            """() => { const e = document.activeElement; if (!e) return "";
              return (e.getAttribute("aria-label") || e.textContent || "").trim(); }"""
        )
        seen.append(focused)
        if wanted.fullmatch(focused):
            return
    raise AssertionError(f"Tab never reached {wanted.pattern!r}; focus went through {seen[:60]}")


async def _click_unless_signed_out(page: Page, target: Locator) -> None:
    """Click `target`, unless the page goes to sign in by itself first (the target is gone then)."""
    try:
        await target.click(timeout=5_000)
    except PlaywrightTimeout:
        if "/sign-in" not in page.url:
            raise


async def _open_account_menu(page: Page) -> None:
    await page.get_by_role("button", name=re.compile("^Account menu")).click()


# -- administration ----------------------------------------------------------------------------


async def test_an_admin_locks_a_user_who_is_told_why_then_unlocks_them_and_others_see_no_admin(
    stack: Stack, page: Page, new_page: NewPage, make_user: Any
) -> None:
    admin_name = await asyncio.to_thread(create_admin, stack)
    user: User = await make_user("web-locked")

    # The user works in their own browser; they see no way to the administration pages.
    user_page = await new_page()
    await user_page.goto(f"{stack.base_url}/sign-in")
    await sign_in(user_page, user.username)
    await see(user_page.get_by_role("heading", name=re.compile("^Welcome"))).to_be_visible()
    main_nav = user_page.get_by_role("navigation", name="Main navigation")
    await see(main_nav.get_by_role("link", name="Projects")).to_be_visible()
    await see(user_page.get_by_role("link", name=re.compile("Admin"))).to_have_count(0)
    await _open_account_menu(user_page)
    await see(user_page.get_by_role("menuitem", name="Your account")).to_be_visible()
    await see(user_page.get_by_role("menuitem", name=re.compile("Admin"))).to_have_count(0)
    await user_page.keyboard.press("Escape")
    for path in ("/admin", "/admin/users", "/admin/audit", "/admin/gateway"):
        await user_page.goto(f"{stack.base_url}{path}")
        await see(user_page.get_by_role("heading", name="Not found")).to_be_visible()
        await see(user_page.get_by_role("table")).to_have_count(0)
    await axe(user_page)
    # The API refuses them too (the page is not the only guard).
    expect(await user.http.get("/api/v1/auth/admin/users"), 403)
    expect(await user.http.get("/api/v1/gateway/admin/services"), 403)
    await user_page.goto(f"{stack.base_url}/")
    await see(user_page.get_by_role("heading", name=re.compile("^Welcome"))).to_be_visible()

    # The administrator finds the user and locks them, by keyboard alone.
    await page.goto(f"{stack.base_url}/sign-in")
    await sign_in(page, admin_name)
    await page.get_by_role("link", name="Administration").click()
    await see(page).to_have_url(f"{stack.base_url}/admin/users")
    await see(page.get_by_role("heading", name="Administration", level=1)).to_be_visible()
    await page.get_by_label("Search users").fill(user.username)
    await see(page).to_have_url(re.compile(rf"\?q={re.escape(user.username)}"))
    row = page.get_by_test_id("user-row").filter(has_text=user.username)
    await see(page.get_by_test_id("user-row")).to_have_count(1)
    await see(row.get_by_text("active", exact=True)).to_be_visible()
    await page.get_by_label("Search users").focus()
    await _tab_to(page, f"Lock {user.username}")
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    await see(dialog.get_by_text("Every session of theirs ends at once")).to_be_visible()
    await axe(page)
    await _tab_to(page, "Lock account", presses=10)
    await page.keyboard.press("Enter")
    await see(dialog).to_have_count(0)
    await see(row.get_by_text("locked", exact=True)).to_be_visible()
    await see(row.get_by_role("button", name=f"Unlock {user.username}")).to_be_visible()

    # The user's page says why: at their next request, or at once when the live notifications
    # connection is closed first (whichever notices the lock first sends them to sign in).
    await _click_unless_signed_out(user_page, user_page.get_by_role("link", name="Projects").first)
    await see(user_page).to_have_url(re.compile(r"/sign-in\?.*reason=ended"))
    # Signed in again, they return where they were going: Projects, or Home if the page left first.
    return_heading = (
        "Projects" if "redirect=%2Fprojects" in user_page.url else "Welcome, web-locked"
    )
    notice = user_page.get_by_role("alert").filter(has_text="You have been signed out")
    await see(notice).to_be_visible()
    await see(notice).to_contain_text("an administrator locked or disabled your account")
    await axe(user_page)
    await screenshot(user_page, "signed-out-by-the-server")
    await sign_in(user_page, user.username)
    await see(user_page.get_by_text("Incorrect username or password")).to_be_visible()

    # Every admin page, with the lock in the audit log.
    await axe(page)
    await screenshot(page, "admin-users")
    await row.get_by_role("link", name="Audit").click()
    await see(page).to_have_url(re.compile(r"/admin/audit\?user_id="))
    locked = page.get_by_test_id("audit-row").filter(has_text="user_locked")
    await see(locked).to_have_count(1)
    await see(locked.get_by_role("link", name=admin_name)).to_be_visible()  # who did it
    await page.get_by_label("Action", exact=True).select_option("user_locked")
    await see(page).to_have_url(re.compile(r"action=user_locked"))
    await see(page.get_by_test_id("audit-row")).to_have_count(1)
    await page.get_by_role("button", name="Clear filters").click()
    await see(page.get_by_test_id("audit-row").first).to_be_visible()
    await axe(page)
    await screenshot(page, "admin-audit")

    # Unlocked, the user signs in again.
    await page.get_by_role("link", name="Users").click()
    await page.get_by_label("Search users").fill(user.username)
    await see(page.get_by_test_id("user-row")).to_have_count(1)
    await page.get_by_role("button", name=f"Unlock {user.username}").click()
    await see(row.get_by_text("active", exact=True)).to_be_visible()
    await sign_in(user_page, user.username)
    await see(user_page.get_by_role("heading", name=return_heading, level=1)).to_be_visible()


async def test_an_admin_adds_drains_and_removes_a_gateway_instance_and_resets_a_breaker(
    stack: Stack, page: Page
) -> None:
    services = await admin_on_gateway_page(stack, page)
    analytics = next(s for s in services if s["name"] == "analytics")
    # The same analytics process under another name: a second, healthy instance.
    extra = analytics["instances"][0]["url"].replace("127.0.0.1", "localhost")

    card = page.get_by_role("region", name="analytics", exact=True)
    await see(card.get_by_text("Circuit breaker:")).to_be_visible()
    await see(card.get_by_text("closed", exact=True)).to_be_visible()
    await card.get_by_label("New instance of analytics").fill(extra)
    await card.get_by_label("Weight", exact=True).fill("2")
    await card.get_by_role("button", name="Add instance").click()
    added = card.get_by_test_id("instance-row").filter(has_text=extra)
    await see(added).to_have_count(1)
    await see(added.get_by_label(f"Weight of {extra}", exact=True)).to_have_value("2")
    await see(added.get_by_text("healthy", exact=True)).to_be_visible()
    await axe(page)
    await screenshot(page, "admin-gateway")

    await added.get_by_role("button", name=f"Drain {extra}").click()
    await page.get_by_role("dialog").get_by_role("button", name="Drain instance").click()
    await see(added.get_by_text("drained", exact=True)).to_be_visible()
    await see(added.get_by_label(f"Weight of {extra}", exact=True)).to_have_value("0")
    await added.get_by_role("button", name=f"Remove {extra}").click()
    await page.get_by_role("dialog").get_by_role("button", name="Remove instance").click()
    await see(added).to_have_count(0)
    await see(card.get_by_test_id("instance-row")).to_have_count(len(analytics["instances"]))

    await card.get_by_role("button", name="Reset breaker of analytics").click()
    await see(card.get_by_text("closed", exact=True)).to_be_visible()
    await see(page.get_by_role("alert")).to_have_count(0)

    # An address the gateway refuses (422 naming the url field): the reason at the field, a
    # summary with the request id above the form.
    address = card.get_by_label("New instance of analytics")
    await address.fill("http://:8011")
    await card.get_by_role("button", name="Add instance").click()
    refused = card.get_by_role("alert")
    await see(refused).to_contain_text("Check the highlighted fields")
    await see(refused).to_contain_text("Request id")
    await see(address).to_have_attribute("aria-invalid", "true")
    await axe(page)


async def test_an_admin_registers_a_service_and_removes_it_from_the_gateway_page(
    stack: Stack, page: Page
) -> None:
    services = await admin_on_gateway_page(stack, page)
    analytics = next(s for s in services if s["name"] == "analytics")
    taken = analytics["routes"][0]
    # A local, live process for the new service: analytics' own, under another host name.
    address = analytics["instances"][0]["url"].replace("127.0.0.1", "localhost")
    name = f"reports-{uuid.uuid4().hex[:6]}"
    prefix = f"/api/v1/{name}"

    form = page.get_by_role("form", name="Register a service")
    await form.get_by_label("Service name", exact=True).fill(name)
    await form.get_by_label("Route prefix 1", exact=True).fill(prefix)
    await form.get_by_role("button", name="Add a route prefix").click()
    # A prefix analytics owns: the gateway refuses (409) and the page says whose it is.
    await form.get_by_label("Route prefix 2", exact=True).fill(taken)
    await form.get_by_label("Instance 1 URL", exact=True).fill(address)
    await form.get_by_label("Instance 1 weight", exact=True).fill("2")
    await form.get_by_role("button", name="Register service").click()
    refused = form.get_by_role("alert")
    await see(refused).to_contain_text(f"{taken} is already routed to analytics")
    await see(form.get_by_label("Route prefix 2", exact=True)).to_have_attribute(
        "aria-invalid", "true"
    )
    await see(page.get_by_role("region", name=name, exact=True)).to_have_count(0)
    await axe(page)

    await form.get_by_role("button", name="Remove route prefix 2").click()
    await form.get_by_role("button", name="Register service").click()
    await see(form.get_by_role("status")).to_contain_text(f"Registered {name}")
    card = page.get_by_role("region", name=name, exact=True)
    await see(card.get_by_text("registered here", exact=True)).to_be_visible()
    await see(card.get_by_text(prefix, exact=True)).to_be_visible()
    row = card.get_by_test_id("instance-row")
    await see(row).to_have_count(1)
    await see(row.get_by_label(f"Weight of {address}", exact=True)).to_have_value("2")
    await see(row.get_by_text("healthy", exact=True)).to_be_visible(timeout=30_000)

    await card.get_by_role("button", name=f"Remove service {name}").click()
    dialog = page.get_by_role("dialog")
    await see(dialog).to_contain_text(prefix)
    await axe(page)
    await dialog.get_by_role("button", name="Remove service").click()
    await see(card).to_have_count(0)
    await see(page.get_by_role("region", name="analytics", exact=True)).to_be_visible()
    await axe(page)


# -- account -----------------------------------------------------------------------------------


async def test_an_api_key_opens_its_scopes_family_only_and_stops_working_once_revoked(
    stack: Stack, page: Page, make_user: Any
) -> None:
    user: User = await make_user("web-keys")
    await page.goto(f"{stack.base_url}/sign-in")
    await sign_in(page, user.username)
    await _open_account_menu(page)
    await page.get_by_role("menuitem", name="Your account").click()
    await see(page).to_have_url(f"{stack.base_url}/account")
    await see(page.get_by_role("heading", name="Your account", level=1)).to_be_visible()
    await page.get_by_label("Full name").fill("Grace Hopper")
    await page.get_by_role("button", name="Save profile").click()
    await see(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    await axe(page)
    await screenshot(page, "account")

    await page.get_by_role("link", name="API keys").click()
    await page.get_by_label(re.compile("^Name")).fill("e2e reader")
    await _tab_to(page, "Create key")  # past every scope and the expiry
    projects = page.get_by_role("radiogroup", name=re.compile("^Projects"))
    await projects.get_by_role("radio", name="Read", exact=True).check()
    await page.get_by_label("Expires", exact=True).select_option("30")
    await page.get_by_role("button", name="Create key").click()
    await see(page.get_by_role("button", name="Copy key")).to_be_visible()
    key = (await page.get_by_test_id("secret-value").inner_text()).strip()
    assert re.fullmatch(r"swe_[0-9a-f]{12}_\S+", key), key
    row = page.get_by_test_id("api-key-row").filter(has_text="e2e reader")
    await see(row.get_by_text("projects:read")).to_be_visible()
    await axe(page)
    await screenshot(page, "account-api-keys")
    await page.get_by_role("button", name="I have stored it").click()
    await see(page.get_by_test_id("secret-value")).to_have_count(0)

    async with gateway_client(stack) as http:
        # The gateway trades an X-API-Key header for the key's token at the edge.
        allowed = await http.get("/api/v1/projects", headers={"X-API-Key": key})
        assert allowed.status_code == 200, allowed.text
        refused = await http.get("/api/v1/issues", headers={"X-API-Key": key})
        assert refused.status_code == 403, refused.text
        assert refused.json().get("missing_scope") == "issues:read", refused.text
        writes = await http.post("/api/v1/projects", headers={"X-API-Key": key}, json={})
        assert writes.status_code == 403, writes.text  # read, not write
        assert writes.json().get("missing_scope") == "projects:write", writes.text

        await row.get_by_role("button", name="Revoke the key e2e reader").click()
        await page.get_by_role("dialog").get_by_role("button", name="Revoke key").click()
        await see(row).to_have_count(0)
        await page.get_by_label("Show revoked keys").check()
        await see(row.get_by_text("revoked", exact=True)).to_be_visible()
        await axe(page)

        after = await http.get("/api/v1/projects", headers={"X-API-Key": key})
        assert after.status_code == 401, after.text


async def test_totp_enrolled_from_the_qr_code_signs_in_and_another_session_is_revoked(
    stack: Stack, page: Page, make_user: Any
) -> None:
    # make_user signs in over the API too: that is the other session (python-httpx).
    user: User = await make_user("web-2fa")
    await page.goto(f"{stack.base_url}/sign-in?redirect=%2Faccount%2Fsecurity")
    await sign_in(page, user.username)
    await see(page.get_by_role("heading", name="Change password")).to_be_visible()
    await _tab_to(page, "Set up two-factor authentication")  # every control by keyboard
    await page.keyboard.press("Enter")
    qr = page.get_by_role("img", name="QR code to scan with an authenticator app")
    await see(qr).to_be_visible()
    secret = re.sub(r"\s+", "", await page.get_by_test_id("totp-secret").inner_text())
    uri = await _read_qr(page, qr)
    assert uri.startswith("otpauth://totp/"), uri
    assert f"secret={secret}" in uri, (uri, secret)
    await axe(page)
    await screenshot(page, "account-security")

    authenticator = pyotp.TOTP(secret)
    await page.get_by_label("Authentication code").fill("000000")
    await page.get_by_role("button", name="Turn on two-factor authentication").click()
    await see(page.get_by_text("The TOTP code is not valid")).to_be_visible()
    await page.get_by_label("Authentication code").fill(authenticator.now())
    await page.get_by_role("button", name="Turn on two-factor authentication").click()
    await see(page.get_by_text("Every sign-in now asks for a code")).to_be_visible()
    await see(page.get_by_role("button", name="Turn off two-factor authentication")).to_be_visible()
    await axe(page)

    await _open_account_menu(page)
    await page.get_by_role("menuitem", name="Sign out").click()
    await see(page).to_have_url(re.compile(r"/sign-in"))
    await page.goto(f"{stack.base_url}/sign-in?redirect=%2Faccount%2Fsessions")
    await sign_in(page, user.username)
    await see(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    # The confirming code's step is spent; the next step's code is within the allowed drift.
    await page.get_by_label("Authentication code").fill(authenticator.at(time.time() + 30))
    await page.get_by_role("button", name="Verify").click()
    await see(page).to_have_url(f"{stack.base_url}/account/sessions")

    rows = page.get_by_test_id("session-row")
    this_device = rows.filter(has_text="this device")
    other = rows.filter(has_text="Python (httpx)")
    await see(this_device).to_have_count(1)
    await see(other).to_have_count(1)
    await see(this_device.get_by_role("button")).to_have_count(0)  # sign out instead
    await axe(page)
    await screenshot(page, "account-sessions")
    expect(await user.http.get("/api/v1/auth/me"), 200)
    await other.get_by_role("button", name=re.compile("^Revoke the session of Python")).click()
    await page.get_by_role("dialog").get_by_role("button", name="Revoke session").click()
    await see(other).to_have_count(0)
    await see(this_device).to_have_count(1)
    # That session's access token dies with it.
    expect(await user.http.get("/api/v1/auth/me"), 401)


async def test_a_password_change_keeps_this_browser_signed_in_past_a_refresh(
    stack: Stack, page: Page, make_user: Any
) -> None:
    user: User = await make_user("web-passwd")
    new_password = f"a new passphrase {uuid.uuid4().hex[:6]}"
    await page.goto(f"{stack.base_url}/sign-in?redirect=%2Faccount%2Fsecurity")
    await sign_in(page, user.username)
    await page.get_by_label(re.compile("^Current password")).fill("not the password at all")
    await page.get_by_label(re.compile("^New password")).fill(new_password)
    await page.get_by_label(re.compile("^Repeat the new password")).fill(new_password)
    await page.get_by_role("button", name="Change password").click()
    await see(page.get_by_text("The current password is incorrect")).to_be_visible()
    await see(page).to_have_url(f"{stack.base_url}/account/security")  # still signed in

    await page.get_by_label(re.compile("^Current password")).fill(PASSWORD)
    await page.get_by_role("button", name="Change password").click()
    await see(page.get_by_text("Your other sessions have ended")).to_be_visible()
    expect(await user.http.get("/api/v1/auth/me"), 401)  # the API session was another one

    # A reload refreshes with the cookie the change set: the session lives on.
    await page.reload()
    await see(page.get_by_role("heading", name="Change password")).to_be_visible()
    async with gateway_client(stack) as http:
        old = await http.post(
            "/api/v1/auth/login", json={"username": user.username, "password": PASSWORD}
        )
        new = await http.post(
            "/api/v1/auth/login", json={"username": user.username, "password": new_password}
        )
    assert (old.status_code, new.status_code) == (401, 200)
