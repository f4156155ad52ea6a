"""Tracked pull requests: track, list, get, update, stop tracking, stats, reviews."""

from __future__ import annotations

import uuid

from swe_common.testing import eventually

HEAD = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
BASE = "c2d4b5f3a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4"


async def track(env, team, number=1, **fields):
    body = {
        "project_id": team.project_id,
        "number": number,
        "title": "Add feature",
        "author": "octocat",
        "base_ref": "main",
        "head_ref": "feature",
        "base_sha": BASE,
        "head_sha": HEAD,
        **fields,
    }
    r = await env.client.post("/api/v1/prs", json=body, headers=env.headers(team.owner))
    assert r.status_code == 201, r.text
    return r.json()


async def test_track_returns_the_pr_and_publishes_tracked(env, seed):
    team = await seed()
    pr = await track(env, team)
    assert (pr["state"], pr["review_status"], pr["head_sha"]) == ("open", "none", HEAD)
    event = await env.bus.wait_for("issues.pr.tracked", id=pr["id"])
    assert set(event["data"]) == {
        "id",
        "project_id",
        "number",
        "title",
        "author",
        "state",
        "base_ref",
        "head_ref",
        "base_sha",
        "head_sha",
        "review_status",
        "assignee_id",
        "created_at",
        "updated_at",
    }


async def test_tracking_the_same_number_twice_answers_409(env, seed):
    team = await seed()
    await track(env, team, number=5)
    r = await env.client.post(
        "/api/v1/prs",
        json={"project_id": team.project_id, "number": 5, "title": "again"},
        headers=env.headers(team.owner),
    )
    assert r.status_code == 409


async def test_track_with_invalid_sha_or_number_answers_422(env, seed):
    team = await seed()
    r = await env.client.post(
        "/api/v1/prs",
        json={"project_id": team.project_id, "number": 0, "title": "x", "head_sha": "zz"},
        headers=env.headers(team.owner),
    )
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"body.number", "body.head_sha"}


async def test_list_filters_by_state_and_review_status(env, seed):
    team = await seed()
    open_pr = await track(env, team, number=1)
    merged = await track(env, team, number=2, state="merged")
    headers = env.headers(team.owner)
    await env.client.post(f"/api/v1/prs/{open_pr['id']}/review", json={}, headers=headers)

    async def ids(**params):
        r = await env.client.get(
            "/api/v1/prs", params={"project_id": team.project_id, **params}, headers=headers
        )
        return [p["id"] for p in r.json()["items"]]

    assert await ids(state="merged") == [merged["id"]]
    assert await ids(review_status="pending") == [open_pr["id"]]


async def test_patch_updates_fields_and_publishes_updated(env, seed):
    team = await seed()
    pr = await track(env, team)
    r = await env.client.patch(
        f"/api/v1/prs/{pr['id']}",
        json={"state": "closed", "title": "Renamed"},
        headers=env.headers(team.owner),
    )
    assert (r.json()["state"], r.json()["title"]) == ("closed", "Renamed")
    event = await env.bus.wait_for("issues.pr.updated", id=pr["id"], state="closed")
    assert event["data"]["title"] == "Renamed"


async def test_delete_stops_tracking_and_publishes_untracked(env, seed):
    team = await seed()
    pr = await track(env, team)
    headers = env.headers(team.owner)
    assert (await env.client.delete(f"/api/v1/prs/{pr['id']}", headers=headers)).status_code == 204
    assert (await env.client.get(f"/api/v1/prs/{pr['id']}", headers=headers)).status_code == 404
    event = await env.bus.wait_for("issues.pr.untracked", id=pr["id"])
    assert event["data"] == {"id": pr["id"], "project_id": team.project_id}


async def test_review_request_stores_a_pending_review_and_publishes_the_request(env, seed):
    team = await seed(repository_url="https://github.com/acme/rockets")
    pr = await track(env, team, number=12)
    r = await env.client.post(
        f"/api/v1/prs/{pr['id']}/review",
        json={"level": "thorough"},
        headers=env.headers(team.maintainer),
    )
    assert r.status_code == 202, r.text
    review = r.json()
    assert (review["status"], review["level"]) == ("pending", "thorough")
    event = await env.bus.wait_for("issues.pr.review_requested", review_id=review["id"])
    assert event["data"] == {
        "review_id": review["id"],
        "pull_request_id": pr["id"],
        "project_id": team.project_id,
        "repository_url": "https://github.com/acme/rockets",
        "number": 12,
        "base_ref": "main",
        "head_ref": "feature",
        "base_sha": BASE,
        "head_sha": HEAD,
        "level": "thorough",
        "requested_by": team.maintainer,
    }
    got = await env.client.get(f"/api/v1/prs/{pr['id']}", headers=env.headers(team.owner))
    assert got.json()["review_status"] == "pending"


async def test_review_of_a_merged_pr_answers_409(env, seed):
    team = await seed()
    pr = await track(env, team, state="merged")
    r = await env.client.post(
        f"/api/v1/prs/{pr['id']}/review", json={"level": "quick"}, headers=env.headers(team.owner)
    )
    assert r.status_code == 409


def run_event(review_id, pr, project_id, **extra):
    return {
        "run_id": str(uuid.uuid4()),
        "agent_id": str(uuid.uuid4()),
        "agent_type": "pr_reviewer",
        "project_id": project_id,
        "status": "completed",
        "exit_reason": None,
        "trigger": {"kind": "pull_request", "pull_request_id": pr["id"], "review_id": review_id},
        "queued_at": "2026-01-01T00:00:00Z",
        "started_at": "2026-01-01T00:00:01Z",
        "finished_at": "2026-01-01T00:00:05Z",
        "duration_ms": 4000,
        **extra,
    }


async def requested_review(env, team, pr):
    r = await env.client.post(
        f"/api/v1/prs/{pr['id']}/review",
        json={"level": "standard"},
        headers=env.headers(team.owner),
    )
    return r.json()


async def test_completed_review_run_stores_the_result_and_publishes_reviewed(env, seed):
    team = await seed()
    pr = await track(env, team)
    review = await requested_review(env, team, pr)
    result = {
        "summary": "Two problems",
        "quality_score": 72.5,
        "approval": "request_changes",
        "comments": [
            {
                "path": "app.py",
                "line": 3,
                "severity": "high",
                "rule": "sql-injection",
                "message": "Query built from input",
                "suggestion": "Use parameters",
                "new": True,
            },
            {
                "path": "app.py",
                "line": 9,
                "severity": "low",
                "rule": "naming",
                "message": "Unclear name",
                "suggestion": None,
                "new": False,
            },
        ],
        "findings_by_severity": {"high": 1, "low": 1},
    }
    data = run_event(review["id"], pr, team.project_id, result=result)
    await env.bus.publish("agents.run.completed", data, subject=data["run_id"])
    event = await env.bus.wait_for("issues.pr.reviewed", review_id=review["id"])
    assert event["data"] == {
        "review_id": review["id"],
        "pull_request_id": pr["id"],
        "project_id": team.project_id,
        "approval": "request_changes",
        "quality_score": 72.5,
        "comment_count": 2,
    }
    r = await env.client.get(f"/api/v1/prs/{pr['id']}/review", headers=env.headers(team.viewer))
    latest = r.json()["latest_result"]
    assert (latest["status"], latest["summary"], len(latest["comments"])) == (
        "completed",
        "Two problems",
        2,
    )
    assert latest["comments"][0]["rule"] == "sql-injection"
    got = await env.client.get(f"/api/v1/prs/{pr['id']}", headers=env.headers(team.owner))
    assert got.json()["review_status"] == "changes_requested"


async def test_failed_review_run_marks_the_review_failed(env, seed):
    team = await seed()
    pr = await track(env, team)
    review = await requested_review(env, team, pr)
    data = run_event(review["id"], pr, team.project_id, status="failed", error="model timeout")
    await env.bus.publish("agents.run.failed", data, subject=data["run_id"])

    async def failed():
        r = await env.client.get(f"/api/v1/prs/{pr['id']}/review", headers=env.headers(team.owner))
        latest = r.json()["latest"]
        return latest if latest["status"] == "failed" else None

    latest = await eventually(failed, timeout=10)
    assert latest["error"] == "model timeout"


async def test_a_review_result_that_breaks_its_contract_fails_the_review_saying_why(env, seed):
    team = await seed()
    pr = await track(env, team)
    review = await requested_review(env, team, pr)
    result = {"approval": "approve", "comments": ["not a comment"]}
    data = run_event(review["id"], pr, team.project_id, result=result)
    await env.bus.publish("agents.run.completed", data, subject=data["run_id"])

    async def failed():
        r = await env.client.get(f"/api/v1/prs/{pr['id']}/review", headers=env.headers(team.owner))
        latest = r.json()["latest"]
        return latest if latest["status"] == "failed" else None

    latest = await eventually(failed, timeout=10)
    assert latest["error"].startswith("the review result does not match its contract")
    assert env.bus.events("issues.pr.reviewed", review_id=review["id"]) == []


async def test_review_history_lists_every_review_newest_first(env, seed):
    team = await seed()
    pr = await track(env, team)
    first = await requested_review(env, team, pr)
    second = await requested_review(env, team, pr)
    r = await env.client.get(f"/api/v1/prs/{pr['id']}/review", headers=env.headers(team.owner))
    body = r.json()
    assert [h["id"] for h in body["history"]] == [second["id"], first["id"]]
    assert body["latest"]["id"] == second["id"]
    assert body["latest_result"] is None


async def test_a_second_completion_of_a_finished_review_changes_nothing(env, seed):
    team = await seed()
    pr = await track(env, team)
    review = await requested_review(env, team, pr)
    marker = await requested_review(env, team, pr)
    first = run_event(review["id"], pr, team.project_id, result={"approval": "approve"})
    again = {**first, "result": {"approval": "reject"}}
    later = run_event(marker["id"], pr, team.project_id, result={"approval": "comment"})
    # One subject, so the consumer handles them in this order.
    for data in (first, again, later):
        await env.bus.publish("agents.run.completed", data, subject=pr["id"])
    await env.bus.wait_for("issues.pr.reviewed", review_id=marker["id"])
    assert len(env.bus.events("issues.pr.reviewed", review_id=review["id"])) == 1
    r = await env.client.get(f"/api/v1/prs/{pr['id']}/review", headers=env.headers(team.owner))
    by_id = {h["id"]: h for h in r.json()["history"]}
    assert by_id[review["id"]]["approval"] == "approve"


async def test_pr_stats_count_states_and_review_results(env, seed):
    team = await seed()
    await track(env, team, number=1)
    await track(env, team, number=2, state="merged")
    r = await env.client.get(
        "/api/v1/prs/stats", params={"project_id": team.project_id}, headers=env.headers(team.owner)
    )
    stats = r.json()
    assert stats["total"] == 2
    assert stats["by_state"] == {"open": 1, "closed": 0, "merged": 1}
    assert stats["by_review_status"]["none"] == 2


async def test_an_older_review_finishing_late_leaves_the_newer_one_pending(env, seed):
    team = await seed()
    pr = await track(env, team)
    older = await requested_review(env, team, pr)
    await requested_review(env, team, pr)
    data = run_event(older["id"], pr, team.project_id, result={"approval": "approve"})
    await env.bus.publish("agents.run.completed", data)
    await env.bus.wait_for("issues.pr.reviewed", review_id=older["id"])
    got = await env.client.get(f"/api/v1/prs/{pr['id']}", headers=env.headers(team.owner))
    assert got.json()["review_status"] == "pending"
