"""How events become projection rows: pure functions, no database.

Each consumed event belongs to one entity (a project, agent, issue, pull request, review or
run), found by :func:`entity_of`. An entity's row is folded from its events by ``merge``;
every merge is order-independent (snapshots carry a ``(time, event id)`` guard and the newer
one wins; deletions are sticky tombstones; facts such as "first requested at" take the
earliest value), so duplicates and out-of-order arrival end in the same row.

A row *contributes* to counters (:func:`contributions`): all-time totals per project and
15-minute buckets. The store applies ``contributions(new) - contributions(old)`` when a row
changes, so the counters always equal the sum over the current rows, whatever the order in
which those rows were reached; a rebuild reaches the same rows and so the same counters.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

Row = dict[str, Any]
# (metric, 15-minute slot or None for the all-time total)
CounterKey = tuple[str, datetime | None]

ALL_PROJECTS = uuid.UUID(int=0)  # the platform-wide buckets
ALL_PROJECTS_KEY = str(ALL_PROJECTS)
SLOT = timedelta(minutes=15)

RUN_STATUSES = ("queued", "running", "completed", "failed", "cancelled")
TERMINAL_RUN_STATUSES = frozenset({"completed", "failed", "cancelled"})
CLOSED_ISSUE_STATUSES = frozenset({"resolved", "closed"})
PR_STATES = ("open", "closed", "merged")
# The severities of the agents' findings, most severe first (swe_agents.analysis).
SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True, slots=True)
class StoredEvent:
    event_id: str
    type: str
    time: datetime
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Contribution:
    metric: str
    slot: datetime | None
    count: int
    total: Decimal


# -- parsing payload values defensively: a malformed field is absent, never a crash ------------


def as_uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    return _parse_uuid(value) if isinstance(value, str) else None


@lru_cache(maxsize=65_536)
def _parse_uuid(value: str) -> uuid.UUID | None:
    # Cached: project and agent ids repeat in nearly every event a rebuild replays.
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def as_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def as_text(value: Any, limit: int = 100) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def as_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = int(value)
    except (OverflowError, ValueError):
        return None
    return number if abs(number) < 2**62 else None  # must fit a bigint column


def slot_of(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def seconds_between(start: datetime, end: datetime) -> Decimal:
    """Exact seconds (never negative: two services' clocks may disagree slightly)."""
    delta = max(end - start, timedelta(0))
    return Decimal(delta.days * 86_400 + delta.seconds) + Decimal(delta.microseconds).scaleb(-6)


# -- routing events to entities --------------------------------------------------------------

ENTITY_KEYS: dict[str, tuple[str, str]] = {
    "projects.project.created": ("projects", "id"),
    "projects.project.updated": ("projects", "id"),
    "projects.project.deleted": ("projects", "id"),
    "projects.member.added": ("projects", "project_id"),
    "projects.member.removed": ("projects", "project_id"),
    "agents.agent.created": ("agents", "agent_id"),
    "agents.agent.updated": ("agents", "agent_id"),
    "agents.agent.deleted": ("agents", "agent_id"),
    "issues.issue.created": ("issues", "id"),
    "issues.issue.updated": ("issues", "id"),
    "issues.issue.assigned": ("issues", "id"),
    "issues.issue.resolved": ("issues", "id"),
    "issues.issue.closed": ("issues", "id"),
    "issues.issue.deleted": ("issues", "id"),
    "issues.pr.tracked": ("pull_requests", "id"),
    "issues.pr.updated": ("pull_requests", "id"),
    "issues.pr.untracked": ("pull_requests", "id"),
    "issues.pr.review_requested": ("reviews", "review_id"),
    "issues.pr.reviewed": ("reviews", "review_id"),
    "agents.run.started": ("runs", "run_id"),
    "agents.run.completed": ("runs", "run_id"),
    "agents.run.failed": ("runs", "run_id"),
    "agents.run.cancelled": ("runs", "run_id"),
}

# Events stored without a projection of their own.
STORED_ONLY_TYPES = (
    "auth.user.registered",
    "auth.user.updated",
    "auth.user.disabled",
    "projects.webhook.received",
)


def entity_of(event_type: str, data: dict[str, Any]) -> tuple[str, uuid.UUID] | None:
    route = ENTITY_KEYS.get(event_type)
    if route is None:
        return None
    key = as_uuid(data.get(route[1]))
    return (route[0], key) if key is not None else None


def project_of(event_type: str, data: dict[str, Any]) -> uuid.UUID | None:
    """The project an event concerns, for the store's project index and exports."""
    if event_type.startswith("projects.project."):
        return as_uuid(data.get("id"))
    return as_uuid(data.get("project_id"))


# -- merges ----------------------------------------------------------------------------------


def _newer(row: Row, moment: datetime, event_id: str) -> bool:
    held = row.get("as_of")
    if held is None:
        return True
    return (moment, event_id) > (held, row.get("as_of_event") or "")


def _stamp(row: Row, moment: datetime, event: StoredEvent) -> None:
    row["as_of"] = moment
    row["as_of_event"] = event.event_id


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return min(a, b)


def _keep(row: Row, column: str, value: Any) -> None:
    """Set a column only when the event carries it (never erase a known fact with null)."""
    if value is not None:
        row[column] = value


def merge_project(row: Row, event: StoredEvent) -> Row:
    row = {**row, "members": dict(row.get("members") or {})}
    data = event.data
    if event.type == "projects.project.deleted":
        row["deleted"] = True
        _keep(row, "owner_id", row.get("owner_id") or as_uuid(data.get("owner_id")))
        return row
    if event.type in ("projects.member.added", "projects.member.removed"):
        user = as_uuid(data.get("user_id"))
        if user is not None:
            present = event.type == "projects.member.added"
            _set_member(row, str(user), as_text(data.get("role")), present, event.time, event)
        return row
    moment = as_time(data.get("updated_at")) or event.time
    if _newer(row, moment, event.event_id):
        row["owner_id"] = as_uuid(data.get("owner_id"))
        row["name"] = as_text(data.get("name"), 300)
        row["enabled"] = data.get("enabled") if isinstance(data.get("enabled"), bool) else None
        _stamp(row, moment, event)
    listed = _snapshot_members(data.get("members"))
    for member in set(row["members"]) | set(listed):
        _set_member(row, member, listed.get(member), member in listed, moment, event)
    return row


def _snapshot_members(value: Any) -> dict[str, str | None]:
    members: dict[str, str | None] = {}
    for item in value if isinstance(value, list) else []:
        user = as_uuid(item.get("user_id")) if isinstance(item, dict) else None
        if user is not None:
            members[str(user)] = as_text(item.get("role"))
    return members


def _set_member(
    row: Row, user: str, role: str | None, present: bool, moment: datetime, event: StoredEvent
) -> None:
    held = row["members"].get(user)
    if held is not None and (_iso(moment), event.event_id) <= (
        held["as_of"],
        held["as_of_event"],
    ):
        return
    row["members"][user] = {
        "role": role,
        "present": present,
        "as_of": _iso(moment),
        "as_of_event": event.event_id,
    }


def _iso(moment: datetime) -> str:
    # One fixed width, so stored membership guards compare correctly as strings.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def merge_agent(row: Row, event: StoredEvent) -> Row:
    row = dict(row)
    data = event.data
    _keep(row, "project_id", row.get("project_id") or as_uuid(data.get("project_id")))
    if event.type == "agents.agent.deleted":
        row["deleted"] = True
    elif _newer(row, event.time, event.event_id):
        row["project_id"] = as_uuid(data.get("project_id")) or row.get("project_id")
        row["type"] = as_text(data.get("type"))
        row["name"] = as_text(data.get("name"), 300)
        _stamp(row, event.time, event)
    return row


def merge_issue(row: Row, event: StoredEvent) -> Row:
    row = dict(row)
    data = event.data
    _keep(row, "project_id", row.get("project_id") or as_uuid(data.get("project_id")))
    if event.type == "issues.issue.deleted":
        row["deleted"] = True
        return row
    row["created_at"] = _earliest(row.get("created_at"), as_time(data.get("created_at")))
    moment = as_time(data.get("updated_at")) or event.time
    if _newer(row, moment, event.event_id):
        row["status"] = as_text(data.get("status"), 50)
        row["priority"] = as_text(data.get("priority"), 50)
        row["assigned_agent_id"] = as_uuid(data.get("assigned_agent_id"))
        row["resolved_at"] = as_time(data.get("resolved_at"))
        _stamp(row, moment, event)
    return row


def merge_pull_request(row: Row, event: StoredEvent) -> Row:
    row = dict(row)
    data = event.data
    _keep(row, "project_id", row.get("project_id") or as_uuid(data.get("project_id")))
    if event.type == "issues.pr.untracked":
        row["deleted"] = True
        return row
    row["created_at"] = _earliest(row.get("created_at"), as_time(data.get("created_at")))
    moment = as_time(data.get("updated_at")) or event.time
    if _newer(row, moment, event.event_id):
        row["state"] = as_text(data.get("state"), 50)
        _stamp(row, moment, event)
    return row


def merge_review(row: Row, event: StoredEvent) -> Row:
    row = dict(row)
    data = event.data
    _keep(row, "project_id", row.get("project_id") or as_uuid(data.get("project_id")))
    _keep(
        row, "pull_request_id", row.get("pull_request_id") or as_uuid(data.get("pull_request_id"))
    )
    if event.type == "issues.pr.review_requested":
        row["requested_at"] = _earliest(row.get("requested_at"), event.time)
    elif _newer(row, event.time, event.event_id):
        # The latest verdict on a review wins; the turnaround runs to that verdict.
        row["reviewed_at"] = event.time
        row["approval"] = as_text(data.get("approval"), 50)
        score = as_decimal(data.get("quality_score"))
        row["quality_score"] = float(score) if score is not None else None
        _stamp(row, event.time, event)
    return row


def _run_rank(status: str | None) -> int:
    if status in TERMINAL_RUN_STATUSES:
        return 2
    return 1 if status == "running" else 0


def merge_run(row: Row, event: StoredEvent) -> Row:
    row = dict(row)
    data = event.data
    status = as_text(data.get("status"), 50) or event.type.rsplit(".", 1)[1]
    if status == "started":
        status = "running"
    rank = _run_rank(status)
    # A terminal snapshot beats a running one whatever their times; then later wins.
    if row.get("as_of") is not None and (rank, event.time, event.event_id) <= (
        row.get("rank") or 0,
        row["as_of"],
        row.get("as_of_event") or "",
    ):
        return row
    row["rank"] = rank
    row["status"] = status
    row["agent_id"] = as_uuid(data.get("agent_id")) or row.get("agent_id")
    row["agent_type"] = as_text(data.get("agent_type")) or row.get("agent_type")
    row["project_id"] = as_uuid(data.get("project_id")) or row.get("project_id")
    row["exit_reason"] = as_text(data.get("exit_reason"), 200)
    trigger = data.get("trigger")
    row["trigger_kind"] = as_text(trigger.get("kind"), 50) if isinstance(trigger, dict) else None
    row["queued_at"] = as_time(data.get("queued_at")) or row.get("queued_at")
    row["started_at"] = as_time(data.get("started_at")) or row.get("started_at")
    row["finished_at"] = as_time(data.get("finished_at")) if rank == 2 else None
    if rank == 2 and row["finished_at"] is None:
        row["finished_at"] = event.time
    row["duration_ms"] = as_int(data.get("duration_ms")) if rank == 2 else None
    if row["duration_ms"] is None and rank == 2 and row["started_at"] is not None:
        row["duration_ms"] = int(seconds_between(row["started_at"], row["finished_at"]) * 1000)
    result = data.get("result")
    score = as_decimal(result.get("quality_score")) if isinstance(result, dict) else None
    row["quality_score"] = float(score) if score is not None else None
    found = result.get("findings_by_severity") if isinstance(result, dict) else None
    row["findings"] = findings_by_severity(found) if rank == 2 else None
    _stamp(row, event.time, event)
    return row


def findings_by_severity(value: Any) -> dict[str, int] | None:
    """The known severities' non-negative counts of a result, or None when it reports none."""
    if not isinstance(value, dict):
        return None
    counts = {s: as_int(value.get(s)) for s in SEVERITIES}
    return {s: n for s, n in counts.items() if n is not None and n >= 0}


MERGES: dict[str, Callable[[Row, StoredEvent], Row]] = {
    "projects": merge_project,
    "agents": merge_agent,
    "issues": merge_issue,
    "pull_requests": merge_pull_request,
    "reviews": merge_review,
    "runs": merge_run,
}


# -- contributions ---------------------------------------------------------------------------


def _total(metric: str, value: Decimal = Decimal(0)) -> Contribution:
    return Contribution(metric, None, 1, value)


def _bucket(metric: str, moment: datetime, value: Decimal = Decimal(0)) -> Contribution:
    return Contribution(metric, slot_of(moment), 1, value)


def issue_contributions(row: Row) -> list[Contribution]:
    if row.get("deleted") or row.get("created_at") is None:
        return []
    created, resolved = row["created_at"], row.get("resolved_at")
    out = [_total("issues_total"), _bucket("issues_opened", created)]
    if row.get("status") not in CLOSED_ISSUE_STATUSES:
        out.append(_total("issues_open"))
    if resolved is not None:
        out += [
            _total("issues_resolved", seconds_between(created, resolved)),
            _bucket("issues_resolved", resolved),
        ]
    return out


def pull_request_contributions(row: Row) -> list[Contribution]:
    if row.get("deleted") or row.get("state") is None:
        return []
    out = [_total("prs_tracked")]
    if row["state"] in PR_STATES:
        out.append(_total(f"prs_{row['state']}"))
    if row.get("created_at") is not None:
        out.append(_bucket("prs_tracked", row["created_at"]))
    return out


def review_contributions(row: Row) -> list[Contribution]:
    requested, reviewed = row.get("requested_at"), row.get("reviewed_at")
    out: list[Contribution] = []
    if requested is not None:
        out.append(_total("reviews_requested"))
    if reviewed is not None:
        out += [_total("prs_reviewed"), _bucket("prs_reviewed", reviewed)]
        if requested is not None:
            out.append(_total("review_turnaround", seconds_between(requested, reviewed)))
    return out


def run_contributions(row: Row) -> list[Contribution]:
    status = row.get("status")
    if status is None:
        return []
    name = status if status in RUN_STATUSES else "other"
    out = [_total("runs_total"), _total(f"runs_{name}")]
    began = row.get("started_at") or row.get("queued_at")
    if began is not None:
        out.append(_bucket("runs_started", began))
    finished = row.get("finished_at")
    if finished is not None:
        out.append(_bucket(f"runs_{name}", finished))
        if row.get("duration_ms") is not None:
            out.append(_total("run_duration", Decimal(row["duration_ms"])))
        score = row.get("quality_score")
        if score is not None:
            out += [
                _total("quality_score", Decimal(str(score))),
                _bucket("quality_score", finished, Decimal(str(score))),
            ]
        out += _findings_contributions(row.get("findings"), finished)
    if row.get("queued_at") is not None and row.get("started_at") is not None:
        out.append(_total("queue_wait", seconds_between(row["queued_at"], row["started_at"])))
    return out


def _findings_contributions(findings: Any, finished: datetime) -> list[Contribution]:
    """Per severity: count = runs that reported it, total = findings; a run whose result lists
    no findings counts in ``findings_reported`` (so "none found" differs from "not analysed")."""
    if not isinstance(findings, dict):
        return []
    out = [_total("findings_reported"), _bucket("findings_reported", finished)]
    for severity in SEVERITIES:
        n = findings.get(severity)
        if isinstance(n, int) and n > 0:
            out += [
                _total(f"findings_{severity}", Decimal(n)),
                _bucket(f"findings_{severity}", finished, Decimal(n)),
            ]
    return out


CONTRIBUTIONS: dict[str, Callable[[Row], list[Contribution]]] = {
    "issues": issue_contributions,
    "pull_requests": pull_request_contributions,
    "reviews": review_contributions,
    "runs": run_contributions,
}


def contribution_delta(
    kind: str, old: Row, new: Row
) -> Iterable[tuple[str, CounterKey, int, Decimal]]:
    """What changes in the counters when an entity row goes from ``old`` to ``new``; projects
    are keyed by their id as text (hashing text is much cheaper than hashing UUIDs)."""
    contribute = CONTRIBUTIONS.get(kind)
    if contribute is None:
        return []
    changes: dict[tuple[str, CounterKey], list[Any]] = {}
    for row, sign in ((old, -1), (new, 1)):
        project = row.get("project_id")
        if project is None:
            continue
        scoped = (str(project),)
        for c in contribute(row):
            for scope in (*scoped, ALL_PROJECTS_KEY) if c.slot is not None else scoped:
                held = changes.setdefault((scope, (c.metric, c.slot)), [0, Decimal(0)])
                held[0] += sign * c.count
                held[1] += sign * c.total
    return [
        (scope, metric_key, count, total)
        for (scope, metric_key), (count, total) in changes.items()
        if count != 0 or total != 0
    ]
