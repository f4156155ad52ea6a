"""The Agents pages in a real browser (Chromium), against the real stack.

The owner of a project on a local git repository with planted defects creates a code_analyzer
agent (the server's refusal of a configuration value shows under its field), starts a run and
watches its log arrive live over the gateway's WebSocket. The first connection is cut after
three lines (Playwright stands between the page and the gateway): the page reconnects, resumes
after the last line it kept, and ends up with every line exactly once, in order, the same as
the API's. The final status shows without a reload; the findings table lists the planted
``eval`` on its line; the SARIF download is valid SARIF 2.1.0. axe-core checks every page, the
keyboard reaches the controls, and the pages are saved to docs/screenshots/.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import jsonschema
import pytest
from browser_support import (
    PageProblems,
    axe,
    register_through_api,
    screenshot,
    sign_in_through_api,
    watched_context,
)
from e2e_support import (
    DEFECTS_PY,
    RUN_TIMEOUT,
    PlantedRepo,
    Stack,
    expect,
    gateway_client,
    line_of,
    log_in,
    planted_repo,
)
from playwright.async_api import Browser, BrowserContext, Locator, Page, WebSocketRoute
from playwright.async_api import expect as see

EVAL_LINE = line_of(DEFECTS_PY, "eval(expr)")
SARIF_SCHEMA = json.loads(
    (Path(__file__).parent.parent / "data" / "sarif-schema-2.1.0.json").read_text()
)
CUT_AFTER_LINES = 3


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> PlantedRepo:
    return planted_repo(tmp_path_factory.mktemp("agents-repo") / "demo-service")


@pytest.fixture
async def owner(
    browser: Browser, stack: Stack, page_problems: PageProblems
) -> AsyncIterator[tuple[BrowserContext, str, str]]:
    context = await watched_context(browser, stack.base_url, page_problems)
    username, password = await register_through_api(context.request, "agents-owner")
    token = await sign_in_through_api(context, username, password)
    yield context, token, username
    await context.close()


async def _tab_to(page: Page, target: Locator, presses: int = 80) -> None:
    """Press Tab until ``target`` has the focus: it is reachable by keyboard."""
    for _ in range(presses):
        if await target.evaluate("el => el === document.activeElement"):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{target} never took the focus in {presses} presses of Tab")


class LogSocketCutter:
    """Stands between the page and the gateway on /ws/logs/: forwards everything, except that
    the first connection is closed after ``CUT_AFTER_LINES`` log lines (a dropped connection
    mid-stream). Records each connection's URL (its ``since``)."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.cut = False
        self.closing: asyncio.Future[None] | None = None

    async def route(self, ws: WebSocketRoute) -> None:
        self.urls.append(ws.url)
        server = ws.connect_to_server()
        if self.cut:
            return  # later connections: frames go both ways untouched
        self.cut = True
        lines = 0

        def from_server(message: str | bytes) -> None:
            nonlocal lines
            if lines >= CUT_AFTER_LINES:
                return
            ws.send(message)
            if json.loads(message).get("type") == "log":
                lines += 1
                if lines == CUT_AFTER_LINES:
                    self.closing = asyncio.ensure_future(self._cut(ws, server))

        server.on_message(from_server)

    @staticmethod
    async def _cut(ws: WebSocketRoute, server: WebSocketRoute) -> None:
        await ws.close(code=4000, reason="cut by the test")
        await server.close()


async def _settled(page: Page) -> None:
    """Wait until no CSS transition runs (a dialog fading in is half transparent to axe)."""
    await page.wait_for_function("() => document.getAnimations().length === 0")


async def _seqs_shown(page: Page) -> list[int]:
    values = await page.locator("[role=log] [data-seq]").evaluate_all(
        "els => els.map(el => Number(el.dataset.seq))"
    )
    return [int(v) for v in values]


async def test_create_an_analyzer_run_it_live_and_read_its_findings(
    stack: Stack, page: Page, owner: tuple[BrowserContext, str, str], repo: PlantedRepo
) -> None:
    context, token, username = owner
    async with gateway_client(stack, headers={"Authorization": f"Bearer {token}"}) as http:
        project = expect(
            await http.post(
                "/api/v1/projects",
                json={"name": f"agents-{uuid.uuid4().hex[:6]}", "repository_url": repo.url},
            ),
            201,
        )
    await page.close()  # the harness's page has no session
    tab = await context.new_page()
    cutter = LogSocketCutter()
    await tab.route_web_socket(re.compile(r"/ws/logs/"), cutter.route)

    # The project's Agents tab, empty; a new agent's form with its type's defaults.
    await tab.goto(f"/projects/{project['id']}/agents")
    await see(tab.get_by_text("This project has no agents yet")).to_be_visible()
    await axe(tab)
    new_agent = tab.get_by_role("button", name="New agent")
    await _tab_to(tab, new_agent)
    await tab.keyboard.press("Enter")
    dialog = tab.get_by_role("dialog")
    await see(dialog.get_by_label("Type")).to_have_value("code_analyzer")
    threshold = dialog.get_by_label("Complexity threshold")
    await see(threshold).to_have_value("10")
    await see(dialog.get_by_label("Least severity reported")).to_have_value("info")
    await dialog.get_by_label(re.compile("^Name")).fill("Nightly analysis")
    # A value the service refuses: its 422 shows under the field.
    await threshold.fill("1")
    await dialog.get_by_role("button", name="Create agent").click()
    await see(threshold).to_have_attribute("aria-invalid", "true")
    await see(dialog.get_by_text(re.compile("greater than or equal to 2"))).to_be_visible()
    await _settled(tab)
    await axe(tab)
    await threshold.fill("12")
    await dialog.get_by_role("button", name="Create agent").click()

    # The agent's page; a run on the default branch.
    await see(tab.get_by_role("heading", name="Nightly analysis", level=1)).to_be_visible()
    await see(tab.get_by_text("No runs yet.")).to_be_visible()
    await see(tab.get_by_role("region", name="Configuration")).to_contain_text("12")
    await axe(tab)
    start = tab.get_by_role("button", name="Start a run")
    await _tab_to(tab, start)
    await tab.keyboard.press("Enter")
    await see(tab.get_by_role("dialog").get_by_label("Branch, tag or commit")).to_be_visible()
    await _settled(tab)
    await axe(tab)
    await tab.get_by_role("dialog").get_by_role("button", name="Start run").click()

    # The run's page: lines arrive live; the first connection is cut after three of them.
    await see(tab).to_have_url(re.compile(r"/runs/[0-9a-f-]{36}$"))
    run_id = tab.url.rsplit("/", 1)[1]
    log = tab.get_by_role("log", name="Run log")
    await see(log.locator("[data-seq='1']")).to_be_visible(timeout=RUN_TIMEOUT * 1000)
    await axe(tab)
    status = tab.get_by_role("region", name="Details")
    await see(status.get_by_text("Completed")).to_be_visible(timeout=RUN_TIMEOUT * 1000)
    await see(tab.get_by_test_id("live-state")).to_have_text("Finished")

    # Reconnected once, resuming after the last line kept; every line once, in order.
    assert len(cutter.urls) >= 2, cutter.urls
    assert cutter.urls[0].endswith("?since=0"), cutter.urls
    assert cutter.urls[1].endswith(f"?since={CUT_AFTER_LINES}"), cutter.urls
    for url in cutter.urls:
        assert token not in url and "token" not in url
    # The stack's access tokens live 60 s: a fresh one for the API's copy of the log.
    async with gateway_client(stack) as anonymous:
        fresh = (await log_in(anonymous, username))["access_token"]
    async with gateway_client(stack, headers={"Authorization": f"Bearer {fresh}"}) as http:
        stored = expect(
            await http.get(f"/api/v1/agents/runs/{run_id}/logs", params={"limit": 1000}), 200
        )
    expected = [line["seq"] for line in stored["items"]]
    assert len(expected) > CUT_AFTER_LINES, "the run logged too little to cut mid-stream"
    await see(log.locator("[data-seq]")).to_have_count(len(expected))
    assert await _seqs_shown(tab) == expected == list(range(1, len(expected) + 1))
    await see(log).to_contain_text(stored["items"][-1]["message"][:40])

    # The findings: the quality score, and the planted eval on its line.
    await see(tab.get_by_role("region", name="Quality")).to_contain_text("formula version 2")
    await see(tab.get_by_test_id("quality-score")).to_have_text(re.compile(r"^\d+(\.\d+)? / 100$"))
    findings = tab.get_by_role("region", name="Findings")
    search = findings.get_by_label("Search")
    await _tab_to(tab, search)
    await tab.keyboard.type("eval")
    eval_row = findings.get_by_role("row").filter(has_text=f"app/defects.py:{EVAL_LINE}")
    await see(eval_row.first).to_be_visible()
    await see(eval_row.first).to_contain_text("B307")
    await search.fill("")
    await findings.get_by_label("Severity").select_option("critical")
    await see(findings.get_by_role("row").filter(has_text="B307")).to_have_count(0)
    await findings.get_by_label("Severity").select_option("")
    await axe(tab)

    # The SARIF download is valid SARIF 2.1.0 and locates the eval.
    async with tab.expect_download() as waiting:
        await findings.get_by_role("button", name="SARIF").click()
    download = await waiting.value
    assert download.suggested_filename == f"run-{run_id}.sarif"
    sarif = json.loads(Path(await download.path()).read_text())
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    assert sarif["version"] == "2.1.0"
    located = [
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for run in sarif["runs"]
        for r in run["results"]
    ]
    assert any(
        rule == "B307" and uri.endswith("app/defects.py") and line == EVAL_LINE
        for rule, uri, line in located
    ), located
    async with tab.expect_download() as waiting:
        await findings.get_by_role("button", name="Markdown").click()
    markdown = Path(await (await waiting.value).path()).read_text()
    assert markdown.startswith("## Code analysis")
    await screenshot(tab, "agent-run")

    # The agent's page lists the run with its status, duration and score.
    await tab.get_by_role("link", name="Nightly analysis").first.click()
    runs = tab.get_by_role("region", name="Runs")
    await see(runs.get_by_role("row").nth(1)).to_contain_text("Completed")
    await see(runs.get_by_role("row").nth(1)).to_contain_text(re.compile(r"\d+(\.\d+)? s"))
    await axe(tab)
    await screenshot(tab, "agent")

    # The project's tab and the list across projects show it.
    await tab.goto(f"/projects/{project['id']}/agents")
    await see(tab.get_by_role("link", name="Nightly analysis")).to_be_visible()
    await axe(tab)
    await screenshot(tab, "agents")
    await (
        tab.get_by_role("navigation", name=re.compile("Main|main", re.I))
        .get_by_role("link", name="Agents")
        .click()
    )
    await see(tab.get_by_role("heading", name="Agents", level=1)).to_be_visible()
    await see(tab.get_by_role("row").filter(has_text="Nightly analysis")).to_contain_text(
        project["name"]
    )
    await axe(tab)
