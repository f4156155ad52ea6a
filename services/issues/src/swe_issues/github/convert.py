"""GitHub's JSON (REST answers and webhook payloads share the shapes) -> our mirror records."""

from typing import Any

from swe_common.errors import Unprocessable
from swe_common.github_webhooks import parse_timestamp
from swe_issues.issues.service import GitHubIssue
from swe_issues.pull_requests.service import GitHubPullRequest


class UnusablePayload(Unprocessable):
    """GitHub sent something we cannot read as an issue or pull request."""


def _text(value: Any, limit: int) -> str:
    return str(value or "").replace("\x00", "")[:limit]


def _number(data: dict[str, Any]) -> int:
    number = data.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number < 2**31:
        raise UnusablePayload("GitHub's answer has no valid number")
    return number


def _mapping(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _sha(value: Any) -> str | None:
    text = str(value or "")
    return text[:64] if text else None


def _labels(data: dict[str, Any]) -> list[str]:
    labels = [
        _text(label.get("name") if isinstance(label, dict) else label, 50)
        for label in _list(data.get("labels"))
    ]
    return list(dict.fromkeys(label for label in labels if label))[:20]


def _assignees(data: dict[str, Any]) -> list[str]:
    """Every assignee's login (``assignee`` alone in payloads older than ``assignees``)."""
    people = _list(data.get("assignees")) or [data.get("assignee")]
    logins = [_text(_mapping_of(person).get("login"), 100) for person in people]
    return list(dict.fromkeys(login for login in logins if login))[:10]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _mapping_of(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def issue_from_github(data: Any) -> GitHubIssue:
    if not isinstance(data, dict):
        raise UnusablePayload("GitHub's answer is not an issue")
    return GitHubIssue(
        number=_number(data),
        title=_text(data.get("title"), 300) or f"GitHub issue #{data.get('number')}",
        body=_text(data.get("body"), 50_000),
        state="closed" if data.get("state") == "closed" else "open",
        labels=_labels(data),
        html_url=_text(data.get("html_url"), 2000) or None,
        author=_text(_mapping(data, "user").get("login"), 100) or None,
        assignees=_assignees(data),
        state_reason=_text(data.get("state_reason"), 30) or None,
        updated_at=parse_timestamp(data.get("updated_at")),
    )


def pull_request_from_github(data: Any) -> GitHubPullRequest:
    if not isinstance(data, dict):
        raise UnusablePayload("GitHub's answer is not a pull request")
    base, head, user = _mapping(data, "base"), _mapping(data, "head"), _mapping(data, "user")
    state = "closed" if data.get("state") == "closed" else "open"
    if state == "closed" and (data.get("merged") or data.get("merged_at")):
        state = "merged"
    return GitHubPullRequest(
        number=_number(data),
        title=_text(data.get("title"), 300) or f"Pull request #{data.get('number')}",
        author=_text(user.get("login"), 100),
        state=state,
        base_ref=_text(base.get("ref"), 255),
        head_ref=_text(head.get("ref"), 255),
        base_sha=_sha(base.get("sha")),
        head_sha=_sha(head.get("sha")),
        html_url=_text(data.get("html_url"), 2000) or None,
        draft=data.get("draft") is True,
        labels=_labels(data),
        assignees=_assignees(data),
        updated_at=parse_timestamp(data.get("updated_at")),
    )
