"""An issue resolver's run page in a real browser (Chromium), against the real stack.

The owner of a project (its own GitHub token; a fake GitHub and a fake model provider stand
in for the internet, ``fake_internet.py``) assigns an issue to a resolver agent and keeps the
run's page open: the run completes, then its Resolution section shows the draft pull request's
link as soon as GitHub took it, without a reload, with one toast saying so and a single
completion toast. The section shows the evidence (the reproduction test that failed before
and passes after, the repository's test that still passes) and the patch. A second project's
GitHub refuses the branch: its run's page shows why. axe-core checks both pages, and they are
saved to docs/screenshots/.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from browser_support import PageProblems, api_headers, axe, screenshot, signed_in_account
from e2e_support import EVENT_TIMEOUT, RUN_TIMEOUT, Stack, gateway_client
from fake_internet import FakeInternet
from playwright.async_api import Browser, BrowserContext, Page, WebSocket
from playwright.async_api import expect as see
from resolution_support import assign_issue, delivery_of

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("E2E_BASE_URL")),
    reason="needs the fake GitHub and model provider of a stack these tests start",
)
TIMEOUT_MS = (RUN_TIMEOUT + EVENT_TIMEOUT) * 1000


@pytest.fixture
async def owner(
    browser: Browser, stack: Stack, page_problems: PageProblems
) -> AsyncIterator[tuple[BrowserContext, str]]:
    async with signed_in_account(browser, stack, page_problems, "resolver-owner") as owner:
        yield owner


async def test_a_resolved_runs_page_shows_its_pull_request_live_and_a_refusals_reason(
    stack: Stack,
    page: Page,
    owner: tuple[BrowserContext, str],
    fake_internet: FakeInternet,
    tmp_path: Path,
) -> None:
    context, username = owner
    async with gateway_client(stack, headers=await api_headers(stack, username)) as http:
        # The model holds its first answer until the page follows the run notifications:
        # what happens after is news (toasted), not history.
        assigned = await assign_issue(http, fake_internet, tmp_path, hold=60)
    await page.close()  # the harness's page has no session
    tab = await context.new_page()
    live = asyncio.Event()

    def follow(socket: WebSocket) -> None:
        if "/ws/notifications" in socket.url:
            socket.on(
                "framereceived", lambda frame: live.set() if '"ready"' in str(frame) else None
            )

    tab.on("websocket", follow)

    # The run's page, open while the run works; it stays open (no reload) to the end.
    await tab.goto(f"/runs/{assigned.run_id}")
    await see(tab.get_by_role("heading", level=1)).to_be_visible()
    await tab.evaluate("() => { window.__sameDocument = true; }")
    await asyncio.wait_for(live.wait(), 30)
    fake_internet.release()
    section = tab.get_by_role("region", name="Resolution")
    link = section.get_by_role("link", name=re.compile(r"^Draft pull request #\d+$"))
    await see(link).to_be_visible(timeout=TIMEOUT_MS)
    assert await tab.evaluate("() => window.__sameDocument === true"), "the page was reloaded"
    # A toast of its own for the pull request.
    opened = re.compile(r"^Draft pull request #\d+ opened$")
    await see(tab.get_by_text(opened)).to_have_count(1)

    async with gateway_client(stack, headers=await api_headers(stack, username)) as http:
        done = await delivery_of(http, assigned)
    outcome = done.pull_request
    assert outcome["status"] == "opened", outcome
    await see(link).to_have_attribute("href", outcome["url"])
    await see(link).to_have_attribute("target", "_blank")
    # The evidence and the patch.
    await see(section.get_by_text("Resolved", exact=True)).to_be_visible()
    fail_to_pass = section.get_by_test_id("fail-to-pass")
    await see(fail_to_pass).to_contain_text("Tests that failed before and pass after (1)")
    await see(fail_to_pass).to_contain_text("test_sub")
    await see(section.get_by_test_id("pass-to-pass")).to_contain_text("test_add")
    await see(section.get_by_test_id("resolution-patch")).to_contain_text("def sub(a: int, b: int)")
    await axe(tab)
    # The toasts (fixed over the page) close by themselves (10 s): the picture is of the page.
    toasts = tab.get_by_role("button", name="Close this notification")
    await see(toasts).to_have_count(0, timeout=20_000)
    await screenshot(tab, "run-resolution")

    # The bell lists the run's changes: it completed once, then its pull request opened (the
    # delivery is a notice of its own, not a second completion).
    await tab.get_by_role("button", name=re.compile(r"^Notifications")).click()
    changes = tab.get_by_role("list", name="Latest run changes")
    await see(changes.get_by_role("link", name="Run of resolver completed")).to_have_count(1)
    delivered = changes.get_by_role("link", name=f"Draft pull request #{outcome['number']} opened")
    await see(delivered).to_have_count(1)
    await see(delivered).to_have_attribute("href", f"/runs/{assigned.run_id}")
    await tab.keyboard.press("Escape")

    # Another project's GitHub refuses the branch: the page says what GitHub answered.
    async with gateway_client(stack, headers=await api_headers(stack, username)) as http:
        refused = await assign_issue(http, fake_internet, tmp_path, refused=("POST /git/refs", 403))
        failed = await delivery_of(http, refused)
    assert failed.pull_request["status"] == "failed", failed.pull_request
    await tab.goto(f"/runs/{refused.run_id}")
    section = tab.get_by_role("region", name="Resolution")
    alert = section.get_by_role("alert")
    await see(alert).to_contain_text("The draft pull request was not opened")
    await see(alert).to_contain_text("Resource not accessible by integration")
    await see(alert).to_contain_text("GitHub answered 403 to POST")
    await see(alert.get_by_text("GitHub answered 403.", exact=True)).to_have_count(0)
    await see(section.get_by_role("link", name=re.compile("Draft pull request"))).to_have_count(0)
    await axe(tab)
    await screenshot(tab, "run-resolution-failed")
