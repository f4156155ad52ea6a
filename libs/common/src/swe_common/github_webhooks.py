"""GitHub webhook deliveries: what the projects receiver and the issues consumer agree on.

- Which events and actions the platform applies. The receiver answers every other delivery
  200 "ignored", so GitHub's delivery log says what really happened to it.
- Whether a payload's repository is a project's repository.
- Which GitHub object a delivery describes, as of when (``updated_at``): GitHub delivers out
  of order and redelivers on request, so a delivery older than what is held must not roll the
  object back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

# Every other action of these events changes nothing we keep (milestones, locks, pins, issue
# types, review requests, auto-merge and merge-queue changes).
HANDLED_ACTIONS: Mapping[str, frozenset[str]] = {
    "issues": frozenset(
        {
            "opened",
            "edited",
            "closed",
            "reopened",
            "labeled",
            "unlabeled",
            "assigned",
            "unassigned",
            "deleted",
            "transferred",
        }
    ),
    "pull_request": frozenset(
        {
            "opened",
            "edited",
            "closed",
            "reopened",
            "synchronize",
            "labeled",
            "unlabeled",
            "assigned",
            "unassigned",
            "converted_to_draft",
            "ready_for_review",
        }
    ),
}


def unhandled_reason(event: str, action: str | None) -> str | None:
    """Why a delivery changes nothing here, or None when it is applied."""
    actions = HANDLED_ACTIONS.get(event)
    if actions is None:
        return f"{event!r} events are not used"
    if action not in actions:
        return f"{event}.{action} changes nothing the platform keeps"
    return None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _canonical(url: Any) -> str | None:
    if not isinstance(url, str) or not url:
        return None
    return url.strip().rstrip("/").removesuffix(".git").lower()


def same_repository(project_url: str, repository: Any) -> bool:
    """Whether GitHub's ``repository`` object is the repository at ``project_url``.

    Its ``html_url`` names it on GitHub (owner and name are case-insensitive there); its
    ``clone_url`` also counts, which is how a development project on a ``file://`` mirror is
    matched.
    """
    wanted = _canonical(project_url)
    repo = _mapping(repository)
    return wanted is not None and wanted in {
        _canonical(repo.get("html_url")),
        _canonical(repo.get("clone_url")),
    }


def transferred_into(project_url: str, payload: Mapping[str, Any]) -> bool:
    """An ``issues.transferred`` delivery whose new repository is the project's."""
    changes = _mapping(payload.get("changes"))
    return payload.get("action") == "transferred" and same_repository(
        project_url, changes.get("new_repository")
    )


def parse_timestamp(value: Any) -> datetime | None:
    """GitHub's ISO 8601 time (``2019-05-15T15:20:18Z``), or None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


@dataclass(frozen=True, slots=True)
class Subject:
    """The GitHub object a delivery changes, as of ``updated_at``."""

    kind: Literal["issue", "pull_request"]
    number: int
    updated_at: datetime | None
    # Merged, deleted or transferred away: nothing GitHub sends later can undo it, so any
    # delivery saying otherwise is older than what is held.
    final: bool


def subject_of(event: str, payload: Mapping[str, Any], project_url: str) -> Subject | None:
    """The object an ``issues`` or ``pull_request`` delivery changes in this project's
    repository (for a transfer into it: the new issue), or None when it names none."""
    action = payload.get("action")
    if event == "pull_request":
        pr = _mapping(payload.get("pull_request"))
        merged = bool(pr.get("merged") or pr.get("merged_at"))
        return _subject("pull_request", pr, final=merged)
    if event != "issues":
        return None
    if transferred_into(project_url, payload):
        return _subject("issue", _mapping(_mapping(payload.get("changes")).get("new_issue")))
    final = action in ("deleted", "transferred")
    return _subject("issue", _mapping(payload.get("issue")), final=final)


def _subject(
    kind: Literal["issue", "pull_request"], data: dict[str, Any], *, final: bool = False
) -> Subject | None:
    number = data.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number < 2**31:
        return None
    return Subject(kind, number, parse_timestamp(data.get("updated_at")), final)
