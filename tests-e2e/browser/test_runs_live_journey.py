"""Runs as they change, in a real browser (Chromium) against the real stack.

The owner of a project on a local repository with planted defects keeps the project's Runs tab
open while a run, started elsewhere (the API), is queued, runs and completes: the row changes
on the page without a reload, a toast says the run completed, and the header's bell counts it
and lists it with a link to the run (marked read on request). On the run's page, a finding's
"Source" shows the lines kept around it, its line marked, as text. A second run's page follows
its status with the live log's WebSocket refused (only the run notifications bring the
changes). The notification socket carries no token in its URL. axe-core checks each new page
(the bell's list open), and the pages are saved to docs/screenshots/.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import pytest
from browser_support import (
    PageProblems,
    api_headers,
    axe,
    screenshot,
    signed_in_account,
)
from e2e_support import (
    DEFECTS_PY,
    RUN_TIMEOUT,
    PlantedRepo,
    Stack,
    expect,
    gateway_client,
    line_of,
    planted_repo,
)
from playwright.async_api import Browser, BrowserContext, Page, WebSocketRoute
from playwright.async_api import expect as see

EVAL_LINE = line_of(DEFECTS_PY, "eval(expr)")
TIMEOUT_MS = RUN_TIMEOUT * 1000


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> PlantedRepo:
    return planted_repo(tmp_path_factory.mktemp("runs-live-repo") / "live-service")


@pytest.fixture
async def owner(
    browser: Browser, stack: Stack, page_problems: PageProblems
) -> AsyncIterator[tuple[BrowserContext, str]]:
    async with signed_in_account(browser, stack, page_problems, "runs-owner") as owner:
        yield owner


async def _start(stack: Stack, username: str, agent_id: str) -> dict[str, str]:
    async with gateway_client(stack, headers=await api_headers(stack, username)) as http:
        run: dict[str, str] = expect(
            await http.post(f"/api/v1/agents/{agent_id}/start", json={}), 202
        )
    return run


async def test_runs_change_on_screen_with_notifications_and_a_findings_source(
    stack: Stack, page: Page, owner: tuple[BrowserContext, str], repo: PlantedRepo
) -> None:
    context, username = owner
    async with gateway_client(stack, headers=await api_headers(stack, username)) as http:
        project = expect(
            await http.post(
                "/api/v1/projects",
                json={"name": f"live-{uuid.uuid4().hex[:6]}", "repository_url": repo.url},
            ),
            201,
        )
        agent = expect(
            await http.post(
                "/api/v1/agents",
                json={
                    "project_id": project["id"],
                    "name": "Live analysis",
                    "type": "code_analyzer",
                },
            ),
            201,
        )
    await page.close()  # the harness's page has no session
    tab = await context.new_page()
    feeds: list[str] = []
    tab.on(
        "websocket",
        lambda ws: feeds.append(ws.url) if "/ws/notifications" in ws.url else None,
    )

    # The project's Runs tab, empty; it stays open (no reload) while a run goes through.
    await tab.goto(f"/projects/{project['id']}/runs")
    await see(tab.get_by_text("No runs yet")).to_be_visible()
    await see(tab.get_by_role("link", name="Runs", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    await axe(tab)
    await tab.evaluate("() => { window.__sameDocument = true; }")
    run = await _start(stack, username, agent["id"])
    row = tab.locator(f"tr[data-run-id='{run['id']}']")
    await see(row).to_be_visible()
    await see(row).to_contain_text("Completed", timeout=TIMEOUT_MS)
    await see(row).to_contain_text("Live analysis")
    await see(row.locator("td").nth(6)).to_have_text(re.compile(r"^\d+(\.\d+)?$"))
    assert await tab.evaluate("() => window.__sameDocument === true"), "the page was reloaded"

    # The toast, and the bell: the run's changes, unread, with a link to the run.
    toast = tab.get_by_text("Run of Live analysis completed").first
    await see(toast).to_be_visible()
    bell = tab.get_by_role("button", name=re.compile(r"^Notifications, \d+ unread$"))
    await see(bell).to_be_visible()
    await screenshot(tab, "project-runs")
    await bell.click()
    panel = tab.get_by_role("region", name="Notifications")
    changes = panel.get_by_role("list", name="Latest run changes")
    await see(changes.get_by_role("listitem")).to_have_count(3)  # queued, started, completed
    completed = changes.get_by_role("link", name="Run of Live analysis completed")
    await see(completed).to_have_attribute("href", f"/runs/{run['id']}")
    await see(changes.get_by_role("listitem").first).to_contain_text(project["name"])
    await tab.wait_for_function("() => document.getAnimations().length === 0")
    await axe(tab)
    await screenshot(tab, "notifications")
    await panel.get_by_role("button", name="Mark all as read").click()
    await see(tab.get_by_role("button", name="Notifications", exact=True)).to_be_visible()
    await tab.keyboard.press("Escape")

    # The run's page: the eval finding's source lines, its line marked, as text.
    await tab.get_by_role("link", name=re.compile(r"^\w{3} \d+, \d{4}|^\d")).first.click()
    await see(tab).to_have_url(re.compile(f"/runs/{run['id']}$"))
    findings = tab.get_by_role("region", name="Findings")
    await findings.get_by_label("Search").fill("eval")
    show = findings.get_by_role("button", name=f"Source of app/defects.py:{EVAL_LINE}").first
    await show.click()
    source = tab.get_by_role("region", name="app/defects.py source")
    await see(source).to_be_visible()
    marked = source.locator("[data-current]")
    await see(marked).to_have_attribute("data-line", str(EVAL_LINE))
    await see(marked).to_contain_text("eval(expr)")
    # Five lines either side at least (the windows of nearby findings are merged), as in the file.
    lines = DEFECTS_PY.split("\n")
    shown = await source.locator("[data-line]").evaluate_all(
        "els => els.map(el => [Number(el.dataset.line), el.querySelector('code').textContent])"
    )
    texts = {number: text.removeprefix("Finding line: ") for number, text in shown}
    around = range(max(1, EVAL_LINE - 5), min(len(lines) - 1, EVAL_LINE + 5) + 1)
    assert set(around) <= set(texts), (sorted(texts), list(around))
    for number, text in texts.items():
        assert text == lines[number - 1], (number, text)
    await axe(tab)
    await source.scroll_into_view_if_needed()
    await screenshot(tab, "finding-source")

    # Another run's page with its live log refused: the status still follows, by notifications.
    async def refuse(ws: WebSocketRoute) -> None:
        await ws.close(code=4000, reason="refused by the test")

    await tab.route_web_socket(re.compile(r"/ws/logs/"), refuse)
    second = await _start(stack, username, agent["id"])
    await tab.goto(f"/runs/{second['id']}")
    await tab.evaluate("() => { window.__sameDocument = true; }")
    details = tab.get_by_role("region", name="Details")
    await see(details.get_by_text("Completed")).to_be_visible(timeout=TIMEOUT_MS)
    await see(tab.get_by_role("region", name="Quality")).to_be_visible()
    assert await tab.evaluate("() => window.__sameDocument === true"), "the page was reloaded"
    await see(tab.get_by_test_id("live-state")).not_to_have_text("Finished")

    assert feeds, "the console opened no notification feed"
    for url in feeds:
        assert "token" not in url and "bearer" not in url.lower(), url
