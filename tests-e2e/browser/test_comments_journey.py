"""Comments on an issue and on a pull request in a real browser (Chromium), against the real
stack.

A maintainer has commented on an issue (two lines, and markup that must stay text); the
project's owner reads the thread, is stopped from sending a blank comment at the field, posts
one with the button and one with Ctrl+Enter (each appears without a reload), edits their own,
and deletes the maintainer's behind a confirmation (owners moderate). On a tracked pull request
the owner comments, edits and deletes. A viewer reads the thread without the form and is told
why. axe-core checks the pages and the dialog; the issue's thread is saved to docs/screenshots/.
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

MARKUP = 'Repro attached <img src="x" onerror="window.__pwned = 1">'


async def _project(owner: User, maintainer: User, viewer: User) -> dict[str, Any]:
    """A project of ``owner`` with ``maintainer`` and ``viewer`` members, an issue and a
    tracked pull request."""
    project = expect(
        await owner.http.post(
            "/api/v1/projects",
            json={
                "name": f"Talk {uuid.uuid4().hex[:4]}",
                "repository_url": f"https://github.com/e2e/talk-{uuid.uuid4().hex[:6]}",
            },
        ),
        201,
    )
    for person, role in ((maintainer, "maintainer"), (viewer, "viewer")):
        expect(
            await owner.http.post(
                f"/api/v1/projects/{project['id']}/members",
                json={"user_id": person.id, "role": role},
            ),
            201,
        )
    issue = expect(
        await owner.http.post(
            "/api/v1/issues",
            json={"project_id": project["id"], "title": "Checkout times out", "priority": "high"},
        ),
        201,
    )
    pull = expect(
        await owner.http.post(
            "/api/v1/prs",
            json={"project_id": project["id"], "number": 42, "title": "Raise the timeout"},
        ),
        201,
    )
    return {"project": project, "issue": issue, "pull": pull}


async def _maintainer_comments(maintainer: User, issue_id: str) -> dict[str, Any]:
    """The maintainer's comment, once the issues service knows them as a maintainer (the
    membership reaches it as an event)."""
    deadline = time.monotonic() + EVENT_TIMEOUT
    while True:
        response = await maintainer.http.post(
            f"/api/v1/issues/{issue_id}/comments",
            json={"body": f"Seen on staging too.\n{MARKUP}"},
        )
        if response.status_code == 201:
            return dict(response.json())
        assert response.status_code in (403, 404), response.text
        assert time.monotonic() < deadline, f"never allowed to comment: {response.text}"
        await asyncio.sleep(0.3)  # a polling interval, bounded by the deadline


def _thread(page: Page) -> Locator:
    return page.get_by_role("region", name="Comments")


def _comments(page: Page) -> Locator:
    return _thread(page).get_by_role("article")


async def _opened_dialog(page: Page, name: str) -> Locator:
    """The dialog once its opening transition is over (axe reads the colours a user sees)."""
    dialog = page.get_by_role("dialog", name=name)
    await see(dialog).to_have_css("opacity", "1")
    return dialog


async def _post(page: Page, text: str, *, keyboard: bool = False) -> None:
    field = _thread(page).get_by_role("textbox", name="Add a comment")
    await field.fill(text)
    if keyboard:
        await field.press("Control+Enter")
    else:
        await _thread(page).get_by_role("button", name="Comment", exact=True).click()
    await see(field).to_have_value("")
    await see(field).to_be_focused()


async def _edit(page: Page, comment: Locator, text: str) -> None:
    await comment.get_by_role("button", name="Edit comment").click()
    field = comment.get_by_role("textbox", name="Edit your comment")
    await see(field).to_be_focused()
    await field.fill(text)
    await comment.get_by_role("button", name="Save").click()
    await see(comment.get_by_test_id("comment-body")).to_have_text(text)
    await see(comment.get_by_test_id("comment-edited")).to_be_visible()
    await see(comment).to_be_focused()


async def _delete(page: Page, comment: Locator) -> None:
    await comment.get_by_role("button", name="Delete comment").click()
    dialog = await _opened_dialog(page, "Delete the comment?")
    await axe(page)
    await dialog.get_by_role("button", name="Delete comment").click()
    await see(dialog).to_have_count(0)


async def test_people_comment_on_an_issue_and_a_pull_request(
    stack: Stack, page: Page, new_page: NewPage, make_user: Any
) -> None:
    owner: User = await make_user("cm-owner")
    maintainer: User = await make_user("cm-maint")
    viewer: User = await make_user("cm-viewer")
    seeded = await _project(owner, maintainer, viewer)
    project_id = seeded["project"]["id"]
    issue_url = f"{stack.base_url}/projects/{project_id}/issues/{seeded['issue']['id']}"
    pull_url = f"{stack.base_url}/projects/{project_id}/pulls/{seeded['pull']['id']}"
    theirs = await _maintainer_comments(maintainer, seeded["issue"]["id"])

    # The owner reads the maintainer's comment: its two lines kept, its markup shown as text.
    await page.goto(issue_url)
    await sign_in(page, owner.username)
    await see(page.get_by_role("heading", name="Checkout times out", level=1)).to_be_visible()
    await see(_comments(page)).to_have_count(1)
    first = _comments(page).first
    await see(first).to_contain_text(theirs["author_name"])
    body = first.get_by_test_id("comment-body")
    assert await body.evaluate("el => el.textContent") == f"Seen on staging too.\n{MARKUP}"
    await see(body).to_have_css("white-space", "pre-wrap")
    lines = await body.evaluate(
        "el => el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight)"
    )
    assert lines > 1.5, f"the line break is kept: {lines} line(s) tall"
    await see(_thread(page).locator("img")).to_have_count(0)
    assert await page.evaluate("() => window.__pwned === undefined")
    await see(first.locator("time")).to_have_attribute("title", re.compile(r"\d"))
    # Owners moderate: they may delete it, not edit it.
    await see(first.get_by_role("button", name="Delete comment")).to_be_visible()
    await see(first.get_by_role("button", name="Edit comment")).to_have_count(0)

    # A blank comment is stopped at the field; then one by button, one by Ctrl+Enter.
    field = _thread(page).get_by_role("textbox", name="Add a comment")
    await field.fill("   ")
    await _thread(page).get_by_role("button", name="Comment", exact=True).click()
    await see(_thread(page).get_by_text("Write something first")).to_be_visible()
    await see(field).to_have_attribute("aria-invalid", "true")
    await _post(page, "Timeouts start at 30 s.\nRaising it to 60 s should do.")
    await _post(page, "I will open a pull request.", keyboard=True)
    await see(_comments(page)).to_have_count(3)
    await see(_thread(page)).to_contain_text("3 comments")
    mine = _comments(page).nth(1)
    await see(mine).to_contain_text("(you)")
    await _edit(page, mine, "Timeouts start at 30 s.\nRaising it to 90 s should do.")
    await axe(page)
    await screenshot(page, "issue-comments")

    # The maintainer's comment goes, behind a confirmation; the focus lands on the next one.
    await _delete(page, first)
    await see(_comments(page)).to_have_count(2)
    await see(_comments(page).first).to_be_focused()

    # A reload shows what the server kept, in order.
    await page.reload()
    await see(_comments(page).get_by_test_id("comment-body")).to_have_text(
        ["Timeouts start at 30 s.\nRaising it to 90 s should do.", "I will open a pull request."]
    )

    # The pull request's own thread.
    await page.goto(pull_url)
    await see(page.get_by_role("heading", name="#42 Raise the timeout", level=1)).to_be_visible()
    await see(_thread(page).get_by_text("No comments yet.")).to_be_visible()
    await _post(page, "Please add a test for the new timeout.", keyboard=True)
    await see(_comments(page)).to_have_count(1)
    await _edit(page, _comments(page).first, "Please add a test for the 90 s timeout.")
    await axe(page)
    await _delete(page, _comments(page).first)
    await see(_thread(page).get_by_text("No comments yet.")).to_be_visible()
    await see(_thread(page).get_by_role("heading", name="Comments", level=2)).to_be_focused()

    # A viewer reads the issue's thread, without the form or a control, and is told why.
    other = await new_page()
    await other.goto(issue_url)
    await sign_in(other, viewer.username)
    await see(_comments(other)).to_have_count(2)
    await see(_thread(other).get_by_role("textbox")).to_have_count(0)
    await see(_thread(other).get_by_role("button")).to_have_count(0)
    await see(_thread(other)).to_contain_text("Only the project's owners and maintainers")
    await axe(other)
