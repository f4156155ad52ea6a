"""The Pull requests pages in a real browser (Chromium), against the real stack.

The owner of a project on a real git repository tracks its pull request by hand (the
server's refusal of a number shows under the field), requests a thorough review and watches
it run until its result arrives; the review's comment on ``Popen(cmd, shell=True)`` sits under
exactly that changed line of ``app/clean.py`` in the diff, and the severity filter hides and
shows it. A viewer reads the same page without a single write control; a stranger gets "not
found". axe-core checks every page (no serious or critical violation), the keyboard reaches
every control, and the list and the page are saved to docs/screenshots/.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

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
    HEAD_CLEAN_PY,
    RUN_TIMEOUT,
    PlantedRepo,
    Stack,
    expect,
    gateway_client,
    line_of,
    planted_repo,
)
from playwright.async_api import Browser, BrowserContext, Locator, Page
from playwright.async_api import expect as see

POPEN_LINE = line_of(HEAD_CLEAN_PY, "Popen(cmd, shell=True)")
UNUSED_LINE = line_of(HEAD_CLEAN_PY, "unused = 1")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> PlantedRepo:
    return planted_repo(tmp_path_factory.mktemp("pulls-repo") / "demo-service")


@pytest.fixture
async def people(browser: Browser, stack: Stack, page_problems: PageProblems) -> AsyncIterator[Any]:
    """Signed-in browser contexts, one per person (with its API token and user id), watched
    for page errors like the harness's own page."""
    made: list[BrowserContext] = []

    async def person(prefix: str) -> tuple[BrowserContext, str, str]:
        context = await watched_context(browser, stack.base_url, page_problems)
        made.append(context)
        username, password = await register_through_api(context.request, prefix)
        token = await sign_in_through_api(context, username, password)
        me = await context.request.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}
        )
        return context, token, (await me.json())["id"]

    yield person
    for context in made:
        await context.close()


async def _project(stack: Stack, token: str, repo: PlantedRepo, viewer_id: str) -> dict[str, Any]:
    async with gateway_client(stack, headers={"Authorization": f"Bearer {token}"}) as http:
        project = expect(
            await http.post(
                "/api/v1/projects",
                json={"name": f"pulls-{uuid.uuid4().hex[:6]}", "repository_url": repo.url},
            ),
            201,
        )
        expect(
            await http.post(
                f"/api/v1/projects/{project['id']}/members",
                json={"user_id": viewer_id, "role": "viewer"},
            ),
            201,
        )
    return dict(project)


async def _tab_to(page: Page, target: Locator, presses: int = 80) -> None:
    """Press Tab until ``target`` has the focus: it is reachable by keyboard."""
    for _ in range(presses):
        if await target.evaluate("el => el === document.activeElement"):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{target} never took the focus in {presses} presses of Tab")


def _line(page: Page, path: str, number: int) -> Locator:
    file = page.locator(f'section[data-testid="diff-file"][data-path="{path}"]')
    return file.locator(f'tr[data-line-new="{number}"]')


def _comments_under(page: Page, path: str, number: int) -> Locator:
    file = page.locator(f'section[data-testid="diff-file"][data-path="{path}"]')
    return file.locator(f'tr[data-line-new="{number}"] + tr[data-comments-for="{number}"]')


async def test_track_review_and_read_the_comments_on_the_diff(
    stack: Stack, page: Page, people: Any, repo: PlantedRepo, tmp_path: Path
) -> None:
    owner_context, owner_token, _ = await people("pulls-owner")
    viewer_context, _, viewer_id = await people("pulls-viewer")
    project = await _project(stack, owner_token, repo, viewer_id)
    tab_url = f"/projects/{project['id']}/pulls"
    owner = await owner_context.new_page()
    await page.close()  # the harness's own page has no session; each person has theirs

    # An empty list, with the way to track one.
    await owner.goto(tab_url)
    await see(owner.get_by_text("No pull requests are tracked yet")).to_be_visible()
    await axe(owner)
    await owner.get_by_role("button", name="Track a pull request").click()
    dialog = owner.get_by_role("dialog")
    await see(dialog.get_by_label("Base branch")).to_have_value("main")
    await dialog.get_by_label(re.compile("^Number")).fill("9999999999")  # over GitHub's int32
    await dialog.get_by_label(re.compile("^Title")).fill("Add spawn()")
    await dialog.get_by_label("Author").fill("carol")
    await dialog.get_by_label("Head branch").fill(repo.head_ref)
    await dialog.get_by_role("button", name="Track pull request").click()
    number_field = dialog.get_by_label(re.compile("^Number"))
    await see(number_field).to_have_attribute("aria-invalid", "true")
    await see(dialog.get_by_text(re.compile("less than or equal to 2147483647"))).to_be_visible()
    await see(dialog.get_by_text(re.compile("Request id"))).to_be_visible()
    await axe(owner)
    await number_field.fill("7")
    await dialog.get_by_role("button", name="Track pull request").click()

    # Its own page: details, and a review to request.
    await see(owner).to_have_url(re.compile(r"/pulls/[0-9a-f-]{36}$"))
    await see(owner.get_by_role("heading", name="#7 Add spawn()", level=1)).to_be_visible()
    await see(owner.get_by_text("Not reviewed yet.")).to_be_visible()
    pull_url = owner.url
    await axe(owner)
    await owner.get_by_label("Review level").select_option("thorough")
    request = owner.get_by_role("button", name="Request review")
    await _tab_to(owner, request)
    await owner.keyboard.press("Enter")

    # Pending while it runs; the page asks again by itself until the result is in.
    await see(owner.get_by_role("status").filter(has_text="Review in progress")).to_be_visible()
    await see(owner.get_by_test_id("pull-review-status")).to_have_text("review pending")
    await axe(owner)
    verdict = owner.get_by_test_id("review-verdict")
    await see(verdict).to_have_text("Changes requested", timeout=RUN_TIMEOUT * 1000)
    await see(owner.get_by_test_id("pull-review-status")).to_have_text("changes requested")
    await see(owner.get_by_text(re.compile(r"^Quality score \d"))).to_be_visible()

    # The shell=True comment sits under exactly its changed line of app/clean.py.
    popen = _line(owner, "app/clean.py", POPEN_LINE)
    await see(popen).to_have_attribute("data-kind", "add")
    await see(popen).to_contain_text("subprocess.Popen(cmd, shell=True)")
    under_popen = _comments_under(owner, "app/clean.py", POPEN_LINE)
    await see(under_popen).to_contain_text("B602")
    await see(under_popen).to_contain_text("high")
    under_unused = _comments_under(owner, "app/clean.py", UNUSED_LINE)
    await see(under_unused).to_contain_text("F841")
    await axe(owner)
    await screenshot(owner, "pull-request")

    # The severity filter hides the high one and keeps the others; and brings it back.
    high = owner.get_by_role("checkbox", name=re.compile(r"^high \(\d+\)$"))
    await _tab_to(owner, high)
    await owner.keyboard.press("Space")
    await see(high).not_to_be_checked()
    await see(under_popen).to_have_count(0)
    await see(under_unused).to_contain_text("F841")
    await owner.keyboard.press("Space")
    await see(under_popen).to_contain_text("B602")
    await see(owner.get_by_role("region", name="Review history")).to_contain_text("thorough")

    # The list shows it with its review status, and filters by it (in the URL).
    await owner.get_by_role("link", name="Pull requests").first.click()
    await see(owner).to_have_url(re.compile(r"/pulls$"))
    row_link = owner.get_by_role("link", name="Add spawn()")
    await see(row_link).to_be_visible()
    await see(owner.get_by_role("table").get_by_text("changes requested")).to_be_visible()
    await owner.get_by_label("Review status").select_option("approved")
    await see(owner).to_have_url(re.compile(r"review=approved"))
    await see(owner.get_by_text("No pull request matches these filters.")).to_be_visible()
    await owner.get_by_label("Review status").select_option("changes_requested")
    await see(row_link).to_be_visible()
    await _tab_to(owner, row_link)
    await axe(owner)
    await owner.get_by_label("Review status").select_option("")
    await see(owner).to_have_url(re.compile(r"/pulls$"))
    await see(row_link).to_be_visible()
    await row_link.blur()
    await screenshot(owner, "pull-requests")

    # A viewer reads it all and can change nothing.
    viewer = await viewer_context.new_page()
    await viewer.goto(tab_url)
    await see(viewer.get_by_role("link", name="Add spawn()")).to_be_visible()
    await see(viewer.get_by_role("button", name="Track a pull request")).to_have_count(0)
    await axe(viewer)
    await viewer.goto(pull_url)
    await see(_comments_under(viewer, "app/clean.py", POPEN_LINE)).to_contain_text("B602")
    for name in ("Request review", "Sync from GitHub", "Edit", "Untrack"):
        await see(viewer.get_by_role("button", name=name)).to_have_count(0)
    await see(viewer.get_by_label("Review level")).to_have_count(0)
    await axe(viewer)

    # A stranger gets "not found" for the same page.
    stranger_context, _, _ = await people("pulls-stranger")
    stranger = await stranger_context.new_page()
    await stranger.goto(pull_url)
    await see(stranger.get_by_role("heading", name="Not found")).to_be_visible()
    await see(stranger.get_by_text("Add spawn()")).to_have_count(0)
    await axe(stranger)
