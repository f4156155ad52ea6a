"""GitHub's published example deliveries (swe_common.testing.github_example), relayed by
projects as projects.webhook.received: every action the platform claims to apply changes the
mirrored issue or pull request as GitHub says, and a delivery older than the state held (late,
or redelivered by hand) changes nothing, publishes nothing and requests no review."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from swe_common.testing import eventually, github_example, github_merged_example

REPOSITORY = "https://github.com/Codertocat/Hello-World"  # the examples' repository


async def deliver(env, team, name: str, payload: dict[str, Any] | None = None) -> str:
    """Relay a delivery as projects does; its GitHub delivery id."""
    payload = payload or github_example(name)
    delivery_id = str(uuid.uuid4())
    await env.bus.publish(
        "projects.webhook.received",
        {
            "project_id": team.project_id,
            "delivery_id": delivery_id,
            "event": name.split(".")[0],
            "action": payload.get("action"),
            "payload": payload,
        },
        subject=team.project_id,
    )
    return delivery_id


async def outcome(env, delivery_id: str) -> str:
    """What became of a delivery, once the consumer has applied it."""

    async def recorded() -> str | None:
        async with env.app.state.db.transaction() as session:
            return await session.scalar(
                sa.text("SELECT outcome FROM issues.webhook_deliveries WHERE delivery_id = :d"),
                {"d": delivery_id},
            )

    return await eventually(recorded, timeout=15)


async def apply_all(env, team, *deliveries: tuple[str, dict[str, Any] | None]) -> list[str]:
    ids = [await deliver(env, team, name, payload) for name, payload in deliveries]
    return [await outcome(env, delivery_id) for delivery_id in ids]


async def issue_of(env, team) -> dict[str, Any]:
    r = await env.client.get(
        "/api/v1/issues", params={"project_id": team.project_id}, headers=env.headers(team.owner)
    )
    [issue] = r.json()["items"]
    return issue


async def pr_of(env, team) -> dict[str, Any]:
    r = await env.client.get(
        "/api/v1/prs", params={"project_id": team.project_id}, headers=env.headers(team.owner)
    )
    [pr] = r.json()["items"]
    return pr


# -- late and redelivered deliveries ---------------------------------------------------------


async def test_a_redelivered_opened_never_reopens_a_merged_pull_request_nor_reviews_it(env, seed):
    team = await seed(repository_url=REPOSITORY, settings={"auto_review": True})
    assert (
        await apply_all(
            env,
            team,
            ("pull_request.opened", None),  # 15:20:33: tracked, and reviewed automatically
            ("pull_request.closed", None),  # 15:21:18
            (
                "pull_request.reopened",
                github_example("pull_request.reopened", updated_at="2019-05-15T15:22:00Z"),
            ),
            ("pull_request.closed", github_merged_example("2019-05-15T15:23:00Z")),
        )
        == ["applied"] * 4
    )
    pr = await pr_of(env, team)
    assert pr["state"] == "merged"
    reviews = len(env.bus.events("issues.pr.review_requested", pull_request_id=pr["id"]))
    updates = len(env.bus.events("issues.pr.updated", id=pr["id"]))
    assert reviews == 1

    redelivered = await deliver(env, team, "pull_request.opened")
    assert await outcome(env, redelivered) == "stale"
    # A later delivery is applied after it: by then the stale one published nothing.
    assert await apply_all(env, team, ("issues.opened", None)) == ["applied"]
    await env.bus.wait_for("issues.issue.created", project_id=team.project_id)
    assert (await pr_of(env, team))["state"] == "merged"
    assert len(env.bus.events("issues.pr.review_requested", pull_request_id=pr["id"])) == reviews
    assert len(env.bus.events("issues.pr.updated", id=pr["id"])) == updates


async def test_github_examples_consumed_out_of_order_leave_the_newer_state(env, seed):
    team = await seed(repository_url=REPOSITORY)
    # As published: the reopened example (15:20:33) predates the closed one (15:21:18).
    assert await apply_all(
        env, team, ("pull_request.closed", None), ("pull_request.reopened", None)
    ) == ["applied", "stale"]
    pr = await pr_of(env, team)
    assert (pr["state"], pr["github_updated_at"]) == ("closed", "2019-05-15T15:21:18Z")


async def test_a_late_edit_does_not_roll_an_issue_back(env, seed):
    team = await seed(repository_url=REPOSITORY)
    newer = github_example(
        "issues.edited", title="Spelling error, fixed title", updated_at="2019-05-15T16:00:00Z"
    )
    assert await apply_all(env, team, ("issues.edited", newer), ("issues.opened", None)) == [
        "applied",
        "stale",
    ]
    assert (await issue_of(env, team))["title"] == "Spelling error, fixed title"


# -- issues: every action applied -------------------------------------------------------------


async def test_issue_opened_maps_author_assignees_labels_and_link(env, seed):
    team = await seed(repository_url=REPOSITORY)
    assert await apply_all(env, team, ("issues.opened", None)) == ["applied"]
    issue = await issue_of(env, team)
    assert issue["title"] == "Spelling error in the README file"
    assert (issue["github_number"], issue["github_url"]) == (1, f"{REPOSITORY}/issues/1")
    assert (issue["github_author"], issue["github_assignees"]) == ("Codertocat", ["Codertocat"])
    assert (issue["labels"], issue["status"]) == (["bug"], "open")
    assert issue["github_updated_at"] == "2019-05-15T15:20:18Z"


async def test_issue_edited_changes_title_and_description(env, seed):
    team = await seed(repository_url=REPOSITORY)
    edited = github_example("issues.edited", title="README: fix 'commmit'", body="Three m's now.")
    await apply_all(env, team, ("issues.opened", None), ("issues.edited", edited))
    issue = await issue_of(env, team)
    assert (issue["title"], issue["description"]) == ("README: fix 'commmit'", "Three m's now.")


async def test_issue_assigned_and_unassigned_follow_the_assignees(env, seed):
    team = await seed(repository_url=REPOSITORY)
    nobody = github_example("issues.opened", assignee=None, assignees=[])
    await apply_all(env, team, ("issues.opened", nobody), ("issues.assigned", None))
    assert (await issue_of(env, team))["github_assignees"] == ["Codertocat"]
    # The unassigned example still lists the assignee it removed; GitHub's payload would not.
    unassigned = github_example("issues.unassigned", assignee=None, assignees=[])
    assert await apply_all(env, team, ("issues.unassigned", unassigned)) == ["applied"]
    assert (await issue_of(env, team))["github_assignees"] == []


async def test_issue_labeled_and_unlabeled_follow_the_labels(env, seed):
    team = await seed(repository_url=REPOSITORY)
    await apply_all(env, team, ("issues.opened", github_example("issues.opened", labels=[])))
    assert (await issue_of(env, team))["labels"] == []
    await apply_all(env, team, ("issues.labeled", None))
    assert (await issue_of(env, team))["labels"] == ["bug"]
    # The unlabeled example still lists the label it removed; GitHub's payload would not.
    await apply_all(env, team, ("issues.unlabeled", github_example("issues.unlabeled", labels=[])))
    assert (await issue_of(env, team))["labels"] == []


async def test_issue_closed_as_not_planned_and_reopened(env, seed):
    team = await seed(repository_url=REPOSITORY)
    # No example closes an issue: the reopened one, as GitHub sends it when closed.
    closed = github_example(
        "issues.reopened",
        state="closed",
        state_reason="not_planned",
        closed_at="2021-10-11T16:40:00Z",
        updated_at="2021-10-11T16:40:00Z",
    )
    closed["action"] = "closed"
    await apply_all(env, team, ("issues.opened", None), ("issues.closed", closed))
    issue = await issue_of(env, team)
    assert (issue["status"], issue["github_state_reason"]) == ("closed", "not_planned")
    reopened = github_example("issues.reopened", state_reason="reopened")
    assert await apply_all(env, team, ("issues.reopened", reopened)) == ["applied"]
    issue = await issue_of(env, team)
    assert (issue["status"], issue["github_state_reason"]) == ("open", "reopened")


async def test_issue_deleted_closes_it_for_good(env, seed):
    team = await seed(repository_url=REPOSITORY)
    assert await apply_all(env, team, ("issues.opened", None), ("issues.deleted", None)) == [
        "applied",
        "applied",
    ]
    closed = await env.bus.wait_for("issues.issue.closed", project_id=team.project_id)
    issue = await issue_of(env, team)
    assert closed["data"]["id"] == issue["id"]
    assert (issue["status"], issue["github_removed"]) == ("closed", "deleted")
    assert issue["resolution"] == "Deleted on GitHub"
    # The reopened example has the deleted one's very time; a deleted issue never comes back.
    assert await apply_all(env, team, ("issues.reopened", None)) == ["stale"]
    assert (await issue_of(env, team))["status"] == "closed"


async def test_a_deleted_issue_never_mirrored_here_is_ignored(env, seed):
    team = await seed(repository_url=REPOSITORY)
    assert await apply_all(env, team, ("issues.deleted", None)) == ["ignored"]


async def test_issue_transferred_away_closes_it_and_says_where_it_went(env, seed):
    # The example moves issue #1 from octo-org/octo-repo to Codertocat/Hello-World.
    team = await seed(repository_url="https://github.com/octo-org/octo-repo")
    before = github_example("issues.transferred")["issue"]
    opened = github_example("issues.opened")
    opened["issue"] = before
    assert await apply_all(env, team, ("issues.opened", opened), ("issues.transferred", None)) == [
        "applied",
        "applied",
    ]
    issue = await issue_of(env, team)
    assert (issue["status"], issue["github_removed"]) == ("closed", "transferred")
    assert issue["resolution"] == f"Transferred on GitHub to {REPOSITORY}/issues/1"


async def test_issue_transferred_in_is_mirrored_as_its_new_issue(env, seed):
    team = await seed(repository_url=REPOSITORY)
    assert await apply_all(env, team, ("issues.transferred", None)) == ["applied"]
    issue = await issue_of(env, team)
    assert (issue["github_number"], issue["github_url"]) == (1, f"{REPOSITORY}/issues/1")
    assert (issue["title"], issue["status"]) == ("Spelling error in the README file", "open")
    assert issue["github_removed"] is None


# -- pull requests: every action applied ------------------------------------------------------


async def test_pull_request_opened_maps_author_labels_assignees_and_draft(env, seed):
    team = await seed(repository_url=REPOSITORY)
    assert await apply_all(env, team, ("pull_request.opened", None)) == ["applied"]
    pr = await pr_of(env, team)
    assert (pr["number"], pr["title"], pr["author"]) == (
        2,
        "Update the README with new information.",
        "Codertocat",
    )
    assert (pr["state"], pr["draft"], pr["labels"], pr["assignees"]) == ("open", False, [], [])
    assert (pr["base_ref"], pr["head_ref"]) == ("master", "changes")
    assert pr["head_sha"] == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


async def test_pull_request_edited_changes_title_and_base(env, seed):
    team = await seed(repository_url=REPOSITORY)
    # No example edits a pull request: the opened one, retitled, as GitHub sends it.
    edited = github_example("pull_request.opened", title="README: new information")
    edited["action"] = "edited"
    await apply_all(env, team, ("pull_request.opened", None), ("pull_request.edited", edited))
    assert (await pr_of(env, team))["title"] == "README: new information"


async def test_pull_request_labels_and_assignees_follow_github(env, seed):
    team = await seed(repository_url=REPOSITORY)
    # In the examples' own time order: opened and assigned 15:20:33, labeled 15:20:35.
    assert (
        await apply_all(
            env,
            team,
            ("pull_request.opened", None),
            ("pull_request.assigned", None),
            ("pull_request.labeled", None),
        )
        == ["applied"] * 3
    )
    pr = await pr_of(env, team)
    assert (pr["labels"], pr["assignees"]) == (["bug"], ["Codertocat"])
    # Unassigned 15:20:35, unlabeled 15:20:36. The examples still list what they removed;
    # GitHub's payloads would not.
    assert (
        await apply_all(
            env,
            team,
            (
                "pull_request.unassigned",
                github_example("pull_request.unassigned", assignee=None, assignees=[]),
            ),
            (
                "pull_request.unlabeled",
                github_example("pull_request.unlabeled", labels=[], assignees=[]),
            ),
        )
        == ["applied"] * 2
    )
    pr = await pr_of(env, team)
    assert (pr["labels"], pr["assignees"]) == ([], [])


async def test_pull_request_synchronize_moves_the_head_and_requests_a_review(env, seed):
    team = await seed(repository_url=REPOSITORY, settings={"auto_review": True})
    first = github_example(
        "pull_request.opened",
        head={
            **github_example("pull_request.opened")["pull_request"]["head"],
            "sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
        },
    )
    await apply_all(env, team, ("pull_request.opened", first), ("pull_request.synchronize", None))
    pr = await pr_of(env, team)
    assert pr["head_sha"] == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    heads = [
        e["data"]["head_sha"]
        for e in env.bus.events("issues.pr.review_requested", pull_request_id=pr["id"])
    ]
    assert heads == [
        "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
        "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
    ]


async def test_pull_request_closed_and_reopened(env, seed):
    team = await seed(repository_url=REPOSITORY)
    reopened = github_example("pull_request.reopened", updated_at="2019-05-15T15:22:00Z")
    await apply_all(env, team, ("pull_request.opened", None), ("pull_request.closed", None))
    assert (await pr_of(env, team))["state"] == "closed"
    await apply_all(env, team, ("pull_request.reopened", reopened))
    assert (await pr_of(env, team))["state"] == "open"


async def test_a_draft_is_not_reviewed_until_it_is_ready(env, seed):
    team = await seed(repository_url=REPOSITORY, settings={"auto_review": True})
    opened_as_draft = github_example("pull_request.opened", draft=True)
    assert await apply_all(env, team, ("pull_request.opened", opened_as_draft)) == ["applied"]
    pr = await pr_of(env, team)
    assert pr["draft"] is True
    assert env.bus.events("issues.pr.review_requested", pull_request_id=pr["id"]) == []
    assert await apply_all(env, team, ("pull_request.ready_for_review", None)) == ["applied"]
    review = await env.bus.wait_for("issues.pr.review_requested", pull_request_id=pr["id"])
    assert review["data"]["requested_by"] is None
    assert (await pr_of(env, team))["draft"] is False


async def test_converted_to_draft_marks_the_pull_request_a_draft(env, seed):
    team = await seed(repository_url=REPOSITORY)
    await apply_all(
        env, team, ("pull_request.opened", None), ("pull_request.converted_to_draft", None)
    )
    assert (await pr_of(env, team))["draft"] is True


@pytest.mark.parametrize(
    "name",
    [
        "issues.milestoned",
        "issues.locked",
        "issues.pinned",
        "pull_request.review_requested",
        "pull_request.locked",
    ],
)
async def test_actions_that_change_nothing_leave_nothing(env, seed, name):
    team = await seed(repository_url=REPOSITORY)
    await deliver(env, team, name)
    # Applied after it (one queue): by then the ignored one has been consumed.
    other = "pull_request.opened" if name.startswith("issues") else "issues.opened"
    await apply_all(env, team, (other, None))
    path = "/api/v1/issues" if name.startswith("issues") else "/api/v1/prs"
    r = await env.client.get(
        path, params={"project_id": team.project_id}, headers=env.headers(team.owner)
    )
    assert r.json()["items"] == []
