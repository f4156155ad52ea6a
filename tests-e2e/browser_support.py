"""Helpers for tests that drive the console in a real browser (Debian's Chromium, headless,
through Playwright): accessibility checks with axe-core, screenshots for the README, accounts
signed in through the API or the form, and a record of every console error, page error and CSP
violation.

Waiting is Playwright's: its locators and ``expect`` retry until their deadline; nothing here
sleeps a fixed time.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e_support import PASSWORD, Stack, create_admin, expect, gateway_client, log_in
from playwright.async_api import APIRequestContext, Browser, BrowserContext, ConsoleMessage, Page

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "tests-e2e" / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
NETWORK_LOG = "Failed to load resource: the server responded with a status of"
INSTALL_HINT = "run `make tools` (scripts/install-test-tools.sh: chromium, axe-core)"
# Recorded in the page before any of its scripts run: the browser reports a CSP violation to
# the page as an event as well as on the console.
RECORD_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


@dataclass
class PageProblems:
    """Console errors, uncaught exceptions and CSP violations seen by a test's pages."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def _on_console(self, message: ConsoleMessage) -> None:
        # Chromium logs every non-2xx answer as "Failed to load resource": those are HTTP
        # answers the app handles (the 401 of the session probe on a signed-out load), not
        # script errors. Everything else logged as an error counts, CSP reports included.
        if message.type == "error" and not message.text.startswith(NETWORK_LOG):
            self.console_errors.append(message.text)

    def allow(self, pattern: str) -> None:
        """A test that provokes an error on purpose (the CSP test) names the one it expects."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self, violations: list[str] | None = None) -> list[str]:
        seen = [f"console: {t}" for t in self.console_errors]
        seen += [f"uncaught: {t}" for t in self.page_errors]
        seen += [f"Content Security Policy: {v}" for v in violations or []]
        return [s for s in seen if not any(p.search(s) for p in self.allowed)]


async def watched_context(
    browser: Browser, base_url: str, problems: PageProblems
) -> BrowserContext:
    """One more person's browser session (its own cookie jar), set up like the harness's own
    context, with every page it opens watched for errors."""
    context = await browser.new_context(
        base_url=base_url, viewport={"width": 1280, "height": 800}, locale="en-US"
    )
    context.set_default_timeout(15_000)
    await context.add_init_script(RECORD_CSP)
    context.on("page", problems.watch)
    return context


async def csp_violations(page: Page) -> list[str]:
    return list(await page.evaluate("() => window.__cspViolations || []"))


# Waits (at most 3 s) for the running finite animations and transitions; spinners never end.
SETTLED = """async () => {
  const finite = document.getAnimations().filter(
    (a) => a.effect && a.effect.getComputedTiming().endTime !== Infinity
  );
  const done = Promise.all(finite.map((a) => a.finished.catch(() => null)));
  await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 3000))]);
}"""


async def axe(page: Page, *, impacts: tuple[str, ...] = ("serious", "critical")) -> None:
    """Run axe-core in the page; fail listing every serious or critical violation readably."""
    if not AXE.is_file():
        raise AssertionError(f"axe-core is not installed ({AXE}): {INSTALL_HINT}")
    # Evaluated through the DevTools protocol, as an extension's script would be, so the
    # page's CSP (no inline script) does not apply to it; nothing is loaded from a CDN.
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(AXE.read_text())
    # Check the page as it settles, not a frame of a fade: a dialog still fading in has its
    # text at part opacity, which axe reads as too little contrast (seen on a loaded machine).
    await page.evaluate(SETTLED)
    results: dict[str, Any] = await page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    found = [v for v in results["violations"] if v.get("impact") in impacts]
    if found:
        lines = [f"axe found {len(found)} {'/'.join(impacts)} violation(s) on {page.url}:"]
        for violation in found:
            lines.append(f"- [{violation['impact']}] {violation['id']}: {violation['help']}")
            lines.append(f"  {violation['helpUrl']}")
            for node in violation["nodes"][:5]:
                lines.append(f"    at {', '.join(map(str, node['target']))}")
                summary = node.get("failureSummary", "").replace("\n", " ")
                lines.append(f"       {summary[:300]}")
        raise AssertionError("\n".join(lines))


async def screenshot(page: Page, name: str) -> Path:
    """A full-page PNG at docs/screenshots/<name>.png (committed; the README shows them)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise ValueError(f"screenshot names are lowercase words with dashes: {name!r}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    # From the top: a full-page capture of a scrolled page (keyboard focus scrolls it) draws
    # the fixed header in the middle of the picture.
    await page.evaluate("() => window.scrollTo(0, 0)")
    await page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path


async def register_through_api(request: APIRequestContext, prefix: str) -> tuple[str, str]:
    """A fresh account; (username, password)."""
    import uuid

    username = f"{prefix}-{uuid.uuid4().hex[:10]}"
    response = await request.post(
        "/api/v1/auth/register",
        data={
            "email": f"{username}@example.com",
            "username": username,
            "password": PASSWORD,
            "full_name": prefix,
        },
    )
    assert response.status == 201, f"register: {response.status} {await response.text()}"
    return username, PASSWORD


async def sign_in_through_api(context: BrowserContext, username: str, password: str) -> str:
    """Sign in as the console does (browser mode): the HttpOnly refresh cookie lands in the
    browser context, so the next page load restores the session. Returns the access token,
    for setting data up through the API."""
    response = await context.request.post(
        "/api/v1/auth/login", data={"username": username, "password": password, "cookie": True}
    )
    assert response.status == 200, f"login: {response.status} {await response.text()}"
    body = await response.json()
    assert body["refresh_token"] is None, "browser mode keeps the refresh token in a cookie"
    return str(body["access_token"])


async def sign_in(page: Page, login: str, password: str = PASSWORD) -> None:
    """Fill in and submit the console's sign-in form."""
    await page.get_by_label("Username or email").fill(login)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def api_headers(stack: Stack, username: str) -> dict[str, str]:
    """Fresh credentials for a test's own API calls (a browser stack's tokens live 60 s)."""
    async with gateway_client(stack) as anonymous:
        token = (await log_in(anonymous, username))["access_token"]
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def signed_in_account(
    browser: Browser, stack: Stack, problems: PageProblems, prefix: str
) -> AsyncIterator[tuple[BrowserContext, str]]:
    """A fresh account (a project's owner to be) signed in in a browser session of its own,
    closed on exit; yields the session and the username."""
    context = await watched_context(browser, stack.base_url, problems)
    username, password = await register_through_api(context.request, prefix)
    await sign_in_through_api(context, username, password)
    try:
        yield context, username
    finally:
        await context.close()


async def admin_on_gateway_page(stack: Stack, page: Page) -> list[dict[str, Any]]:
    """A new administrator signs in through the console's form, which leads to the gateway's
    admin page; returns the gateway's services as its admin API lists them then."""
    admin_name = await asyncio.to_thread(create_admin, stack)
    async with gateway_client(stack, headers=await api_headers(stack, admin_name)) as http:
        services: list[dict[str, Any]] = expect(
            await http.get("/api/v1/gateway/admin/services"), 200
        )["items"]
    await page.goto(f"{stack.base_url}/sign-in?redirect=%2Fadmin%2Fgateway")
    await sign_in(page, admin_name)
    return services
