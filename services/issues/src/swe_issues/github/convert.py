"""GitHub's JSON (REST answers and webhook payloads share the shapes) -> our mirror records."""

from typing import Any

from swe_common.errors import Unprocessable
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


def issue_from_github(data: Any) -> GitHubIssue:
    if not isinstance(data, dict):
        raise UnusablePayload("GitHub's answer is not an issue")
    labels = [
        _text(label.get("name") if isinstance(label, dict) else label, 50)
        for label in data.get("labels") or []
    ]
    return GitHubIssue(
        number=_number(data),
        title=_text(data.get("title"), 300) or f"GitHub issue #{data.get('number')}",
        body=_text(data.get("body"), 50_000),
        state="closed" if data.get("state") == "closed" else "open",
        labels=list(dict.fromkeys(label for label in labels if label))[:20],
        html_url=_text(data.get("html_url"), 2000) or None,
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
    )
