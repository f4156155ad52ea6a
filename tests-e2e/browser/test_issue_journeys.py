"""The console's issue pages in a real browser (Chromium), against the real stack.

An owner creates issues (the server's field error shown under its field), moves one through its
states by keyboard, meets a 409 after another tab moved it (the allowed moves are listed),
assigns an agent, resolves it and finds it again with filters that survive a reload; a viewer
sees the issues and no control that would change them; an issue written to attack the page
(script, event handlers, a javascript: link, raw HTML) renders inert. axe-core checks every
page and dialog visited; the list and the issue page are saved to docs/screenshots/.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

from browser_support import axe, screenshot, sign_in
from e2e_support import EVENT_TIMEOUT, Stack, User, expect
from playwright.async_api import Locator, Page
from playwright.async_api import expect as see

from .conftest import NewPage

WRITE_CONTROLS = (
    "New issue",
    "Start work",
    "Stop work",
    "Ready for review",
    "Resolve…",
    "Close",
    "Reopen",
    "Edit",
    "Delete",
    "Assign",
)
SEEDED = [
    ("Payment webhook retries forever", "critical", ["bug", "payments"]),
    ("Checkout button does nothing on Safari", "high", ["bug", "ui"]),
    ("Slow search with 10k products", "medium", ["performance"]),
    ("Typo on the pricing page", "low", ["docs"]),
    ("Add dark mode", "low", ["feature"]),
]


async def project_with_issues(user: User, viewer: User | None = None) -> dict[str, Any]:
    """A project of ``user`` (``viewer`` a member with the viewer role), an agent, five issues."""
    project = expect(
        await user.http.post(
            "/api/v1/projects",
            json={
                "name": f"Shop {uuid.uuid4().hex[:4]}",
                "repository_url": f"https://github.com/e2e/shop-{uuid.uuid4().hex[:6]}",
            },
        ),
        201,
    )
    if viewer is not None:
        expect(
            await user.http.post(
                f"/api/v1/projects/{project['id']}/members",
                json={"user_id": viewer.id, "role": "viewer"},
            ),
            201,
        )
    agent = expect(
        await user.http.post(
            "/api/v1/agents",
            json={"project_id": project["id"], "name": "Fixer", "type": "issue_resolver"},
        ),
        201,
    )
    issues = []
    for title, priority, labels in SEEDED:
        body = {
            "project_id": project["id"],
            "title": title,
            "priority": priority,
            "labels": labels,
            "description": "Steps:\n\n1. Open **checkout**\n2. Click *Pay*\n",
        }
        issues.append(expect(await user.http.post("/api/v1/issues", json=body), 201))
    return {"project": project, "agent": agent, "issues": issues}


async def tab_to(page: Page, target: Locator, presses: int = 80) -> None:
    """Press Tab until ``target`` has the focus: it is reachable by keyboard, in tab order."""
    for _ in range(presses):
        await page.keyboard.press("Tab")
        if await target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{target} not reached after {presses} presses of Tab")


async def opened_dialog(page: Page, name: str) -> Locator:
    """The dialog once its opening transition is over: axe measures the colours a user reads,
    not a frame of the fade-in."""
    dialog = page.get_by_role("dialog", name=name)
    await see(dialog).to_have_css("opacity", "1")
    return dialog


def status_moves(page: Page) -> Locator:
    return page.get_by_role("group", name="Change the status").get_by_role("button")


async def test_an_owner_creates_moves_assigns_resolves_and_finds_an_issue(
    stack: Stack, page: Page, new_page: NewPage, make_user: Any
) -> None:
    owner: User = await make_user("iss-owner")
    seeded = await project_with_issues(owner)
    project_id = seeded["project"]["id"]
    list_url = f"{stack.base_url}/projects/{project_id}/issues"

    await page.goto(list_url)
    await sign_in(page, owner.username)
    await see(page.get_by_role("link", name=SEEDED[0][0])).to_be_visible()
    strip = page.get_by_role("region", name="Issue counts")
    await see(strip.get_by_text("Open", exact=True).locator("xpath=..")).to_contain_text("5")
    await axe(page)

    # A new issue, by keyboard; the server's own check (GitHub numbers start at 1) is shown
    # under its field, with the request id.
    new_issue = page.get_by_role("button", name="New issue")
    await tab_to(page, new_issue)
    await page.keyboard.press("Enter")
    dialog = await opened_dialog(page, "New issue")
    await see(dialog.get_by_label(re.compile("^Title"))).to_be_focused()
    await page.keyboard.type("Coupon codes are case-sensitive")
    await dialog.get_by_label(re.compile("^Description")).fill(
        "Customers type `SAVE10` as `save10`.\n\n- expected: accepted\n- actual: **rejected**"
    )
    await dialog.get_by_label("Priority").select_option("high")
    await dialog.get_by_label(re.compile("^Labels")).fill("bug, checkout")
    github_number = dialog.get_by_label(re.compile("^GitHub issue number"))
    await github_number.fill("0")
    await dialog.get_by_role("button", name="Create issue").click()
    await see(dialog.get_by_text(re.compile("greater than or equal to 1"))).to_be_visible()
    await see(github_number).to_have_attribute("aria-invalid", "true")
    await see(dialog.get_by_text(re.compile("Request id"))).to_be_visible()
    await axe(page)
    await github_number.fill("")
    await dialog.get_by_role("button", name="Create issue").click()

    # Its page: only the moves the state machine allows from "open".
    title = page.get_by_role("heading", name="Coupon codes are case-sensitive", level=1)
    await see(title).to_be_visible()
    await see(page).to_have_url(re.compile(rf"/projects/{project_id}/issues/[0-9a-f-]{{36}}$"))
    issue_url = page.url
    await see(page.locator(".swe-markdown strong")).to_have_text("rejected")
    await see(status_moves(page)).to_have_text(["Start work", "Close"])
    await axe(page)
    await tab_to(page, page.get_by_role("button", name="Start work"))
    await page.keyboard.press("Enter")
    await see(status_moves(page)).to_have_text(
        ["Resolve…", "Ready for review", "Stop work", "Close"]
    )
    await see(page.get_by_test_id("issue-status").first).to_have_text("in progress")

    # Another tab resolves it meanwhile; this one, still showing "in progress", tries to close
    # it: the 409 lists what is allowed now, and the page shows the issue as it is.
    other = await page.context.new_page()
    await other.goto(issue_url)
    await other.get_by_role("button", name="Resolve…").click()
    await other.get_by_role("dialog").get_by_label(re.compile("^Resolution")).fill("Duplicate")
    await other.get_by_role("dialog").get_by_role("button", name="Resolve").click()
    await see(status_moves(other)).to_have_text(["Reopen"])
    await other.close()
    await page.get_by_role("button", name="Close", exact=True).click()
    alert = page.get_by_role("alert")
    await see(alert).to_contain_text("cannot become closed")
    await see(alert).to_contain_text("Allowed next states:")
    await see(alert.get_by_text("open", exact=True)).to_be_visible()
    await see(status_moves(page)).to_have_text(["Reopen"])
    await axe(page)

    # Reopen, assign the project's agent (that starts the work), resolve with a resolution.
    await page.get_by_role("button", name="Reopen").click()
    await see(status_moves(page)).to_have_text(["Start work", "Close"])
    await page.get_by_label("Agent", exact=True).select_option(label="Fixer (issue_resolver)")
    await page.get_by_role("button", name="Assign").click()
    details = page.get_by_role("region", name="Details")
    await see(details).to_contain_text("Fixer")
    await see(status_moves(page)).to_have_text(
        ["Resolve…", "Ready for review", "Stop work", "Close"]
    )

    await page.get_by_role("button", name="Edit").click()
    edit = page.get_by_role("region", name="Edit the issue")
    await edit.get_by_label(re.compile("^Title")).fill("Coupon codes ignore letter case")
    await edit.get_by_role("button", name="Save").click()
    await see(page.get_by_role("heading", name="Coupon codes ignore letter case")).to_be_visible()
    await axe(page)
    await screenshot(page, "issue")

    await tab_to(page, page.get_by_role("button", name="Resolve…"))
    await page.keyboard.press("Enter")
    dialog = await opened_dialog(page, "Resolve the issue")
    await see(dialog.get_by_label(re.compile("^Resolution"))).to_be_focused()
    await page.keyboard.type("Codes are compared **case-insensitively** since v2.3.")
    await see(dialog.get_by_label("Pull request (optional)")).to_have_value("")
    await axe(page)
    await tab_to(page, dialog.get_by_role("button", name="Resolve"))
    await page.keyboard.press("Enter")
    await see(page.get_by_role("dialog")).to_have_count(0)
    await see(status_moves(page)).to_have_text(["Reopen"])
    resolution = page.get_by_role("region", name="Resolution")
    await see(resolution.locator("strong")).to_have_text("case-insensitively")
    await see(page.get_by_role("button", name="Assign")).to_have_count(0)
    await axe(page)

    # Back to the list: filters and sort go into the URL and survive a reload.
    await (
        page.get_by_role("navigation", name="Breadcrumb")
        .get_by_role("link", name="Issues", exact=True)
        .click()
    )
    await see(page.get_by_role("link", name="Coupon codes ignore letter case")).to_be_visible()
    await see(strip.get_by_text("Resolved", exact=True).locator("xpath=..")).to_contain_text("1")
    await see(strip.get_by_text("Mean time to resolve").locator("xpath=..")).not_to_contain_text(
        "—"
    )
    await axe(page)
    await screenshot(page, "issues")
    rows = page.get_by_test_id("issues-table").locator("tbody tr")
    await page.get_by_label("Status").select_option("open")
    await page.get_by_label("Sort").select_option("-priority")
    await see(page).to_have_url(re.compile(r"status=open"))
    await see(page).to_have_url(re.compile(r"sort=-priority"))
    # The open ones, most urgent first; the resolved one is gone.
    await see(rows).to_have_count(5)
    await see(rows.first).to_contain_text(SEEDED[0][0])
    await see(page.get_by_role("link", name="Coupon codes ignore letter case")).to_have_count(0)
    await page.get_by_label("Search").fill("safari")
    await see(page).to_have_url(re.compile(r"q=safari"))
    await see(rows).to_have_count(1)
    await page.reload()
    await see(page.get_by_label("Status")).to_have_value("open")
    await see(page.get_by_label("Search")).to_have_value("safari")
    await see(page.get_by_label("Sort")).to_have_value("-priority")
    await see(rows).to_have_count(1)
    await see(rows.first).to_contain_text(SEEDED[1][0])
    await page.get_by_label("Search").fill("")
    await page.get_by_label("Priority").select_option("low")
    await see(page).to_have_url(re.compile(r"priority=low"))
    await see(rows).to_have_count(2)
    await axe(page)
    await page.get_by_role("button", name="Clear filters").click()
    await see(page).not_to_have_url(re.compile(r"status="))
    await see(rows).to_have_count(6)

    # Deleting asks first, then the issue is gone from the list.
    await page.get_by_role("link", name="Typo on the pricing page").click()
    await page.get_by_role("button", name="Delete").click()
    confirm = await opened_dialog(page, "Delete the issue?")
    await axe(page)
    await confirm.get_by_role("button", name="Delete issue").click()
    await see(page).to_have_url(re.compile(rf"/projects/{project_id}/issues$"))
    await see(page.get_by_role("link", name="Typo on the pricing page")).to_have_count(0)
    await see(rows).to_have_count(5)

    # Home lists the open issues, most urgent first, each linking to its page.
    await page.get_by_role("link", name="Home").first.click()
    mine = page.get_by_role("region", name="Open issues in my projects")
    await see(mine.get_by_role("link").first).to_have_text(SEEDED[0][0])
    await mine.get_by_role("link", name=SEEDED[1][0]).click()
    await see(page.get_by_role("heading", name=SEEDED[1][0], level=1)).to_be_visible()


async def test_a_viewer_reads_the_issues_without_any_write_control(
    stack: Stack, page: Page, make_user: Any
) -> None:
    owner: User = await make_user("iss-owner")
    viewer: User = await make_user("iss-viewer")
    seeded = await project_with_issues(owner, viewer)
    project_id = seeded["project"]["id"]
    first = seeded["issues"][0]
    expect(
        await owner.http.post(
            f"/api/v1/issues/{first['id']}/assign", json={"agent_id": seeded["agent"]["id"]}
        ),
        200,
    )
    # Membership reaches the agents service as an event: wait until it lists the agent to the
    # viewer (the page names the assigned agent from that list).
    deadline = time.monotonic() + EVENT_TIMEOUT
    while not expect(await viewer.http.get(f"/api/v1/agents?project_id={project_id}"), 200)[
        "items"
    ]:
        assert time.monotonic() < deadline, "agents never learnt that the viewer is a member"
        await asyncio.sleep(0.3)  # a polling interval, bounded by the deadline

    await page.goto(f"{stack.base_url}/projects/{project_id}/issues")
    await sign_in(page, viewer.username)
    await see(page.get_by_text("your role: viewer")).to_be_visible()
    await see(page.get_by_role("link", name=SEEDED[0][0])).to_be_visible()
    await see(page.get_by_text("only its owner and maintainers can change them")).to_be_visible()
    for name in WRITE_CONTROLS:
        await see(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    await axe(page)

    await page.get_by_role("link", name=SEEDED[0][0]).click()
    await see(page.get_by_role("heading", name=SEEDED[0][0], level=1)).to_be_visible()
    await see(page.get_by_role("region", name="Details")).to_contain_text("Fixer")
    await see(page.locator(".swe-markdown strong")).to_have_text("checkout")
    for name in WRITE_CONTROLS:
        await see(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    await see(page.get_by_role("group", name="Change the status")).to_have_count(0)
    await see(page.get_by_role("combobox")).to_have_count(0)
    await axe(page)
    await screenshot(page, "issue-viewer")


async def test_an_issue_written_to_attack_the_page_renders_inert(
    stack: Stack, page: Page, make_user: Any
) -> None:
    owner: User = await make_user("iss-xss")
    seeded = await project_with_issues(owner)
    project_id = seeded["project"]["id"]
    title = "<img src=x onerror=\"window.__xss='title'\"> <script>window.__xss='t'</script>"
    body = "\n\n".join(
        [
            "Before <script>window.__xss = 'script'</script> after",
            "<img src=x onerror=\"window.__xss = 'img'; alert('img')\">",
            "[click me](javascript:window.__xss='link';alert('link'))",
            "Inline <a href=\"javascript:window.__xss='raw-link'\">raw link</a> and"
            " <b onmouseover=\"window.__xss='hover'\">hover me</b>",
            "<iframe src=\"javascript:alert('frame')\"></iframe>",
            "<div onclick=\"window.__xss='div'\">a block of raw HTML</div>",
            "![tracker](https://evil.example/pixel.gif)",
            "**still markdown**",
        ]
    )
    issue = expect(
        await owner.http.post(
            "/api/v1/issues", json={"project_id": project_id, "title": title, "description": body}
        ),
        201,
    )
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))

    await page.goto(f"{stack.base_url}/projects/{project_id}/issues")
    await sign_in(page, owner.username)
    # The title is text, in the list and on its page.
    await see(page.get_by_role("link", name=title)).to_be_visible()
    await page.get_by_role("link", name=title).click()
    await see(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    markdown = page.locator(".swe-markdown")
    await see(markdown.locator("strong")).to_have_text("still markdown")
    await see(markdown).to_contain_text("Before")
    await see(markdown).to_contain_text("[image: tracker]")
    # Inline tags are dropped and their text stays; blocks of raw HTML are dropped whole.
    await see(markdown).to_contain_text("Inline raw link and hover me")
    await see(markdown).not_to_contain_text("a block of raw HTML")
    for selector in ("script", "img", "iframe", "b", "[onerror]", "[onmouseover]", "[onclick]"):
        await see(markdown.locator(selector)).to_have_count(0)
    await see(page.locator("[href*='javascript:' i], [src*='javascript:' i]")).to_have_count(0)
    await page.get_by_text("click me").click()
    await page.get_by_text("hover me").hover()
    await see(page).to_have_url(f"{stack.base_url}/projects/{project_id}/issues/{issue['id']}")
    assert await page.evaluate("() => window.__xss") is None
    assert dialogs == []
    await axe(page)
