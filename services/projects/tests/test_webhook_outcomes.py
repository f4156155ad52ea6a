"""What the receiver answers GitHub for each delivery, so GitHub's delivery log tells the truth:
stale deliveries (late or redelivered by hand), deliveries about another repository, every
documented event name, the actions that change nothing, and the per-project budget of signed
deliveries. Payloads are GitHub's published examples (swe_common.testing.github_example)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import WEBHOOK_BUDGET
from fastapi import FastAPI
from httpx import AsyncClient
from webhook_support import EXAMPLES_REPOSITORY, deliver

from swe_common.github_webhooks import HANDLED_ACTIONS
from swe_common.testing import github_event_names, github_example, github_merged_example

# Examples of every action the platform applies (issues.closed and pull_request.edited have
# no published example; they are derived in the tests that need them).
APPLIED = [
    "issues.opened",
    "issues.edited",
    "issues.assigned",
    "issues.unassigned",
    "issues.labeled",
    "issues.unlabeled",
    "issues.reopened",
    "issues.deleted",
    "pull_request.opened",
    "pull_request.closed",
    "pull_request.reopened",
    "pull_request.synchronize",
    "pull_request.labeled",
    "pull_request.unlabeled",
    "pull_request.assigned",
    "pull_request.unassigned",
    "pull_request.converted_to_draft",
    "pull_request.ready_for_review",
]
IGNORED = [
    "issues.milestoned",
    "issues.locked",
    "issues.pinned",
    "pull_request.review_requested",
    "pull_request.locked",
]


@pytest.fixture
async def project(owner: Any, create_project: Any) -> dict[str, Any]:
    return await create_project(owner, repository_url=EXAMPLES_REPOSITORY)


async def send(client: AsyncClient, project: dict[str, Any], name: str, **kw: Any) -> Any:
    payload = kw.pop("payload", None) or github_example(name)
    return await deliver(client, project, name.split(".")[0], payload, **kw)


async def published(outbox: Any, project: dict[str, Any]) -> list[str]:
    return [
        f"{e['data']['event']}.{e['data']['action']}"
        for e in await outbox.events(project["id"])
        if e["type"] == "projects.webhook.received"
    ]


async def recorded_status(outbox: Any, project: dict[str, Any], delivery_id: str) -> str | None:
    async with outbox.engine.connect() as conn:
        return await conn.scalar(
            sa.text(
                "SELECT status FROM projects.webhook_deliveries"
                " WHERE project_id = :p AND delivery_id = :d"
            ),
            {"p": project["id"], "d": delivery_id},
        )


# -- 1. late and redelivered deliveries ---------------------------------------------------------


async def test_a_redelivered_opened_after_the_merge_is_stale_and_not_published(
    client: AsyncClient, project: dict[str, Any], outbox: Any
) -> None:
    timeline = [
        github_example("pull_request.opened"),  # 15:20:33
        github_example("pull_request.closed"),  # 15:21:18
        github_example("pull_request.reopened", updated_at="2019-05-15T15:22:00Z"),
        github_merged_example("2019-05-15T15:23:00Z"),
    ]
    for payload in timeline:
        response = await deliver(client, project, "pull_request", payload)
        assert response.status_code == 202, response.text
    redelivered = await deliver(
        client, project, "pull_request", github_example("pull_request.opened"), delivery_id="late"
    )
    assert redelivered.status_code == 200
    assert redelivered.json()["status"] == "stale"
    assert "pull request #2" in redelivered.json()["reason"]
    assert await published(outbox, project) == [
        "pull_request.opened",
        "pull_request.closed",
        "pull_request.reopened",
        "pull_request.closed",
    ]
    assert await recorded_status(outbox, project, "late") == "stale"
    again = await deliver(
        client, project, "pull_request", github_example("pull_request.opened"), delivery_id="late"
    )
    assert again.json()["status"] == "duplicate"


async def test_a_merged_pull_request_never_reopens_whatever_time_a_payload_claims(
    client: AsyncClient, project: dict[str, Any], outbox: Any
) -> None:
    await deliver(client, project, "pull_request", github_merged_example("2019-05-15T15:23:00Z"))
    # A merged pull request cannot be reopened on GitHub: an open payload is older, whatever
    # its updated_at says.
    reopened = github_example("pull_request.reopened", updated_at="2030-01-01T00:00:00Z")
    response = await deliver(client, project, "pull_request", reopened)
    assert response.json()["status"] == "stale"
    # Later news about the merged pull request (a label) still applies.
    labeled = github_example("pull_request.labeled", **_merged_fields("2019-05-15T15:30:00Z"))
    assert (await deliver(client, project, "pull_request", labeled)).status_code == 202
    assert await published(outbox, project) == ["pull_request.closed", "pull_request.labeled"]


def _merged_fields(updated_at: str) -> dict[str, Any]:
    return {"state": "closed", "merged": True, "merged_at": updated_at, "updated_at": updated_at}


async def test_github_examples_delivered_out_of_order_are_stale(
    client: AsyncClient, project: dict[str, Any]
) -> None:
    # As published: the reopened example (15:20:33) predates the closed one (15:21:18).
    assert (await send(client, project, "pull_request.closed")).status_code == 202
    late = await send(client, project, "pull_request.reopened")
    assert (late.status_code, late.json()["status"]) == (200, "stale")


async def test_deliveries_from_the_same_second_all_apply(
    client: AsyncClient, project: dict[str, Any]
) -> None:
    # GitHub's times have one-second steps; opening a labelled, assigned issue sends several.
    for name in ("issues.opened", "issues.assigned", "issues.labeled", "issues.edited"):
        response = await send(client, project, name)
        assert response.status_code == 202, (name, response.text)


async def test_a_deleted_issue_is_final_for_later_deliveries_of_the_same_time(
    client: AsyncClient, project: dict[str, Any], outbox: Any
) -> None:
    assert (await send(client, project, "issues.deleted")).status_code == 202
    # The reopened example carries the same updated_at as the deleted one.
    response = await send(client, project, "issues.reopened")
    assert response.json()["status"] == "stale"
    assert await published(outbox, project) == ["issues.deleted"]


async def test_staleness_is_per_issue_or_pull_request(
    client: AsyncClient, project: dict[str, Any]
) -> None:
    await deliver(
        client,
        project,
        "issues",
        github_example("issues.opened", updated_at="2030-01-01T00:00:00Z"),
    )
    other_issue = github_example("issues.opened", number=3)
    assert (await deliver(client, project, "issues", other_issue)).status_code == 202
    # Issue #1 and pull request #1 are different objects.
    pull = github_example("pull_request.opened")
    pull["pull_request"]["number"] = pull["number"] = 1
    assert (await deliver(client, project, "pull_request", pull)).status_code == 202


# -- 3. the project's repository only ------------------------------------------------------------


async def test_a_delivery_about_another_repository_is_refused_and_not_recorded(
    client: AsyncClient, owner: Any, create_project: Any, outbox: Any
) -> None:
    project = await create_project(owner, repository_url="https://github.com/octo-org/octo-repo")
    response = await send(client, project, "issues.opened", delivery_id="elsewhere")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "Codertocat/Hello-World" in response.json()["detail"]
    assert await published(outbox, project) == []
    assert await recorded_status(outbox, project, "elsewhere") is None


async def test_a_ping_from_another_repository_is_refused(
    client: AsyncClient, project: dict[str, Any]
) -> None:
    response = await send(client, project, "ping")  # from Octocoders/Hello-World
    assert response.status_code == 422


async def test_the_repository_matches_whatever_the_case_of_owner_and_name(
    client: AsyncClient, owner: Any, create_project: Any
) -> None:
    project = await create_project(
        owner, repository_url="https://github.com/codertocat/hello-world"
    )
    assert (await send(client, project, "issues.opened")).status_code == 202


async def test_a_transfer_into_the_projects_repository_is_accepted(
    client: AsyncClient, project: dict[str, Any], outbox: Any
) -> None:
    # The example moves an issue from octo-org/octo-repo into Codertocat/Hello-World.
    response = await send(client, project, "issues.transferred")
    assert response.status_code == 202, response.text
    assert await published(outbox, project) == ["issues.transferred"]


async def test_a_transfer_out_of_the_projects_repository_is_accepted(
    client: AsyncClient, owner: Any, create_project: Any
) -> None:
    project = await create_project(owner, repository_url="https://github.com/octo-org/octo-repo")
    assert (await send(client, project, "issues.transferred")).status_code == 202


async def test_an_issues_delivery_naming_no_repository_is_refused(
    client: AsyncClient, project: dict[str, Any]
) -> None:
    payload = github_example("issues.opened")
    del payload["repository"]
    assert (await deliver(client, project, "issues", payload)).status_code == 422


# -- 4. every documented event name ---------------------------------------------------------------

# Documented by GitHub, newer than the examples' package.
NEWER_EVENT_NAMES = [
    "branch_protection_configuration",
    "custom_property",
    "custom_property_values",
    "deployment_protection_rule",
    "installation_target",
    "issue_dependencies",
    "personal_access_token_request",
    "projects_v2",
    "projects_v2_status_update",
    "registry_package",
    "repository_advisory",
    "repository_ruleset",
    "secret_scanning_alert",
    "secret_scanning_alert_location",
    "secret_scanning_scan",
    "security_and_analysis",
    "sub_issues",
]


async def test_every_documented_event_name_is_accepted_and_unused_ones_ignored(
    client: AsyncClient, owner: Any, create_project: Any
) -> None:
    names = [
        name
        for name in [*github_event_names(), *NEWER_EVENT_NAMES]
        if name not in ("ping", *HANDLED_ACTIONS)
    ]
    answers = {}
    for i, name in enumerate(names):
        if i % WEBHOOK_BUDGET == 0:  # a project per budget's worth
            project = await create_project(owner, repository_url=EXAMPLES_REPOSITORY)
        response = await deliver(client, project, name, {"action": "created"})
        answers[name] = (response.status_code, response.json().get("status"))
    assert {name: a for name, a in answers.items() if a != (200, "ignored")} == {}
    assert "projects_v2_item" in answers


async def test_the_projects_v2_item_example_is_ignored_with_200(
    client: AsyncClient, project: dict[str, Any], outbox: Any
) -> None:
    response = await send(client, project, "projects_v2_item.created")
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert await published(outbox, project) == []


# -- 5. accepted means applied; everything else says ignored -------------------------------------


@pytest.mark.parametrize("name", APPLIED)
async def test_every_applied_action_is_accepted_and_published(
    client: AsyncClient, owner: Any, create_project: Any, outbox: Any, name: str
) -> None:
    project = await create_project(owner, repository_url=EXAMPLES_REPOSITORY)
    response = await send(client, project, name)
    assert (response.status_code, response.json()["status"]) == (202, "accepted")
    assert await published(outbox, project) == [name]


@pytest.mark.parametrize("name", IGNORED)
async def test_actions_that_change_nothing_are_answered_ignored(
    client: AsyncClient, project: dict[str, Any], outbox: Any, name: str
) -> None:
    delivery_id = str(uuid.uuid4())
    response = await send(client, project, name, delivery_id=delivery_id)
    assert (response.status_code, response.json()["status"]) == (200, "ignored")
    assert name in response.json()["reason"]
    assert await published(outbox, project) == []
    assert await recorded_status(outbox, project, delivery_id) == "ignored"


def test_the_examples_cover_every_handled_action() -> None:
    derived = {"issues.closed", "issues.transferred", "pull_request.edited"}
    handled = {f"{event}.{a}" for event, actions in HANDLED_ACTIONS.items() for a in actions}
    assert handled == set(APPLIED) | derived


# -- 2. the per-project budget of signed deliveries ----------------------------------------------


@contextmanager
def one_window(app: FastAPI) -> Iterator[None]:
    """Hold the budget's clock still, so a test's deliveries never straddle two windows."""
    limiter = app.state.webhook_limiter
    frozen, saved = time.time(), limiter.now
    limiter.now = lambda: frozen
    try:
        yield
    finally:
        limiter.now = saved


async def test_only_signed_deliveries_spend_the_projects_budget(
    app: FastAPI, client: AsyncClient, project: dict[str, Any], owner: Any, create_project: Any
) -> None:
    with one_window(app):
        for _ in range(2 * WEBHOOK_BUDGET):
            forged = await send(client, project, "issues.opened", secret="not-the-secret")
            assert forged.status_code == 401
        statuses = [
            (await send(client, project, "issues.edited")).status_code
            for _ in range(WEBHOOK_BUDGET)
        ]
        over = await send(client, project, "issues.edited")
        other = await create_project(owner, repository_url=EXAMPLES_REPOSITORY)
        elsewhere = await send(client, other, "issues.edited")
    assert set(statuses) == {202}
    assert over.status_code == 429
    assert over.headers["content-type"] == "application/problem+json"
    assert int(over.headers["retry-after"]) >= 1
    assert elsewhere.status_code == 202
