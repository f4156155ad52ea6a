"""The console in a real browser (Chromium): it loads under its CSP without an error, passes
axe's serious/critical checks, a script injected into the page as an XSS payload would be never
runs, and the same-origin WebSocket the live views use is allowed while other origins are not.
"""

from __future__ import annotations

from browser_support import (
    PageProblems,
    axe,
    csp_violations,
    register_through_api,
    sign_in_through_api,
)
from playwright.async_api import BrowserContext, Page, expect

INJECT_INLINE_SCRIPT = """
() => {
  const script = document.createElement("script");
  script.textContent = "window.__injected = 'ran'";
  document.body.appendChild(script);
  const img = document.createElement("img");
  img.setAttribute("src", "data:,not-an-image");
  img.setAttribute("onerror", "window.__injectedHandler = 'ran'");
  document.body.appendChild(img);
}
"""


async def test_the_sign_in_page_loads_cleanly_and_passes_axe(page: Page):
    await page.goto("/sign-in")
    await expect(page.get_by_label("Username or email")).to_be_visible()
    await axe(page)
    assert await csp_violations(page) == []


async def test_an_injected_inline_script_never_runs(page: Page, page_problems: PageProblems):
    page_problems.allow(r"Content Security Policy")
    await page.goto("/sign-in")
    await expect(page.get_by_label("Username or email")).to_be_visible()
    await page.evaluate(INJECT_INLINE_SCRIPT)
    # The browser reports each blocked script as a violation event; wait for both.
    await page.wait_for_function("() => window.__cspViolations.length >= 2")
    assert await page.evaluate("() => window.__injected") is None
    assert await page.evaluate("() => window.__injectedHandler") is None
    violations = await csp_violations(page)
    assert all(v.startswith("script-src") for v in violations), violations


async def test_same_origin_websockets_are_allowed_and_other_origins_refused(
    page: Page, page_problems: PageProblems
):
    # The gateway refuses this unauthenticated socket (the test is about the CSP, not the
    # socket): the browser logs that the handshake failed.
    page_problems.allow(r"WebSocket connection to .* failed")
    page_problems.allow(r"Content Security Policy")
    await page.goto("/sign-in")
    await expect(page.get_by_label("Username or email")).to_be_visible()
    same_origin = await page.evaluate(
        """() => new Promise((resolve) => {
             const ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/ws/csp-probe");
             ws.onclose = () => resolve("closed");
             ws.onerror = () => resolve("error");
           })"""
    )
    assert same_origin in ("closed", "error")
    assert await csp_violations(page) == [], "'self' must cover same-origin ws:"
    refused = await page.evaluate(
        """() => { try { new WebSocket("ws://example.invalid/ws"); return "created"; }
                   catch (e) { return e.name; } }"""
    )
    await page.wait_for_function("() => window.__cspViolations.length >= 1")
    violations = await csp_violations(page)
    assert violations[0].startswith("connect-src"), (refused, violations)


async def test_a_signed_in_user_reaches_the_projects_list(context: BrowserContext, page: Page):
    username, password = await register_through_api(context.request, "browser")
    token = await sign_in_through_api(context, username, password)
    for name, repo in (("payments-api", "billing/payments"), ("web-shop", "shop/storefront")):
        created = await context.request.post(
            "/api/v1/projects",
            data={"name": name, "repository_url": f"https://github.com/{repo}"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status == 201, await created.text()
    await page.goto("/projects")
    await expect(page.get_by_role("link", name="payments-api")).to_be_visible()
    await expect(page.get_by_role("link", name="web-shop")).to_be_visible()
    await axe(page)
    assert await csp_violations(page) == []
