"""Delivering an issue_resolver run's patch: a new branch and a draft pull request on GitHub.

The agents worker validates a patch in its sandbox; when the agent has ``open_pull_request``
on, its ``agents.run.completed`` result carries a :class:`PullRequestRequest` (the changed
files, the base commit, the branch). This service holds the project's GitHub token, so it opens
the pull request here (the token never leaves the service that seals it), tracks it, links it
to the issue and moves the issue to ``in_review``, and answers ``issues.resolution.delivered``
or ``issues.resolution.delivery_failed`` in the same transaction (outbox), which the agents
service records in the run's result.

Idempotent: the consumer's inbox handles an event once; if a handling fails after GitHub took
the pull request, the redelivery finds the pull request of that branch and opens no second one.
A failure of GitHub (401, 422, 5xx, unreachable) ends as ``delivery_failed`` with GitHub's
status and message, never as a retry loop: the patch stays in the run, nothing is lost.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.crypto import SecretBox
from swe_common.errors import AppError
from swe_common.events.contracts import PullRequestRequest
from swe_issues import events
from swe_issues.github.client import DraftChange, GitHubClient, GitHubFailure, parse_repository
from swe_issues.github.convert import UnusablePayload, pull_request_from_github
from swe_issues.github.tokens import token_for
from swe_issues.issues import repository as issues_repository
from swe_issues.issues import service as issues
from swe_issues.issues.models import Issue
from swe_issues.projects_read_model import repository as projects
from swe_issues.projects_read_model.models import ProjectView
from swe_issues.pull_requests import service as pull_requests

log = structlog.stdlib.get_logger(__name__)
_SHA = re.compile(r"^[0-9a-f]{40}$")
_REF = re.compile(r"^(?!.*\.\.)(?!-)(?!/)[A-Za-z0-9._/+-]{1,200}$")


@dataclass(slots=True)
class Delivery:
    """What delivering needs: the GitHub client, the box the project tokens are sealed in,
    and the platform's own token (used when a project has none)."""

    github: GitHubClient
    box: SecretBox
    platform_token: str | None
    # ISSUES_ALLOW_FILE_REPOSITORIES (development and tests): deliver file:// projects too.
    allow_file: bool = False

    async def on_run_completed(self, session: AsyncSession, data: dict[str, Any]) -> bool:
        """Handle a completed run; True when it asked for a pull request (delivered or not)."""
        result = data.get("result")
        wanted = result.get("pull_request") if isinstance(result, dict) else None
        if data.get("agent_type") != "issue_resolver" or not isinstance(wanted, dict):
            return False
        if wanted.get("status", "requested") != "requested":
            return False
        run_id = str(data.get("run_id", ""))
        try:
            project_id = uuid.UUID(str(data.get("project_id")))
            request = PullRequestRequest.model_validate(wanted)
        except (ValueError, ValidationError) as exc:
            await _failed(session, data, None, None, f"the request is unusable: {exc}"[:500])
            return True
        project = await projects.get(session, project_id)
        issue = await _issue_of(session, data, project_id)
        unusable = _unusable(request)
        if unusable is not None:
            await _failed(session, data, issue, request, unusable)
            return True
        if project is None or project.deleted_at is not None:
            await _failed(session, data, issue, request, "the run's project is unknown here")
            return True
        try:
            repo = parse_repository(project.repository_url, allow_file=self.allow_file)
            token = await token_for(session, project.id, self.box) or self.platform_token
        except AppError as exc:
            await _failed(session, data, issue, request, exc.detail)
            return True
        if not token:
            await _failed(
                session,
                data,
                issue,
                request,
                "the project has no GitHub token (set one with PUT "
                f"/api/v1/issues/projects/{project.id}/github-token)",
            )
            return True
        change = DraftChange(
            branch=request.branch,
            base_ref=request.base_ref,
            base_commit=request.base_commit,
            files=request.files,
            message=request.message or request.title,
            title=request.title,
            body=_body(request, issue, run_id),
        )
        try:
            answer = await self.github.open_draft(repo, change, token)
            gh = pull_request_from_github(answer)
        except GitHubFailure as exc:
            await _failed(session, data, issue, request, str(exc), exc.status)
            return True
        except UnusablePayload as exc:
            await _failed(session, data, issue, request, f"GitHub's answer: {exc}")
            return True
        await _opened(session, data, project, issue, request, gh)
        return True


def _unusable(request: PullRequestRequest) -> str | None:
    """Why the request cannot be sent to GitHub as it is (its values go into URLs and refs)."""
    if not _SHA.match(request.base_commit):
        return f"the base commit {request.base_commit[:60]!r} is not a commit id"
    for what, ref in (("branch", request.branch), ("base ref", request.base_ref)):
        if not _REF.match(ref) or ref.endswith((".lock", "/")):
            return f"the {what} {ref[:100]!r} is not a valid branch name"
    if not request.files:
        return "the request carries no changed file"
    return None


def _body(request: PullRequestRequest, issue: Issue | None, run_id: str) -> str:
    """The pull request's text: the agent's evidence, and the issue it resolves ("Fixes #N"
    closes a GitHub issue when the pull request is merged)."""
    lines = [request.body.strip()] if request.body.strip() else []
    if issue is not None and issue.github_number:
        lines.append(f"Fixes #{issue.github_number}")
    if issue is not None:
        lines.append(f"Platform issue: {issue.id} ({issue.title})")
    lines.append(f"Opened as a draft by the issue_resolver run {run_id}.")
    return "\n\n".join(lines)


async def _issue_of(
    session: AsyncSession, data: dict[str, Any], project_id: uuid.UUID
) -> Issue | None:
    trigger = data.get("trigger")
    raw = trigger.get("issue_id") if isinstance(trigger, dict) else None
    try:
        issue_id = uuid.UUID(str(raw))
    except ValueError:
        return None
    issue = await issues_repository.get_for_update(session, issue_id)
    return issue if issue is not None and issue.project_id == project_id else None


async def _opened(
    session: AsyncSession,
    data: dict[str, Any],
    project: ProjectView,
    issue: Issue | None,
    request: PullRequestRequest,
    gh: pull_requests.GitHubPullRequest,
) -> None:
    mirrored = await pull_requests.mirror_github_pr(session, project, gh)
    if issue is not None:
        issue.pull_request_id = mirrored.pr.id
        if issue.status in ("open", "in_progress"):
            issues.apply_status(issue, "in_review")
        await issues.publish(session, events.IssueUpdated, issue)
    payload = events.ResolutionDeliveredPayload(
        run_id=str(data.get("run_id", "")),
        project_id=str(project.id),
        issue_id=str(issue.id) if issue is not None else None,
        pull_request_id=str(mirrored.pr.id),
        number=gh.number,
        url=gh.html_url,
        branch=request.branch,
    )
    await events.outbox.publish(
        session, events.ResolutionDelivered, payload, subject=payload.run_id
    )
    log.info("resolution_delivered", run_id=payload.run_id, number=gh.number)


async def _failed(
    session: AsyncSession,
    data: dict[str, Any],
    issue: Issue | None,
    request: PullRequestRequest | None,
    error: str,
    github_status: int | None = None,
) -> None:
    payload = events.ResolutionDeliveryFailedPayload(
        run_id=str(data.get("run_id", "")),
        project_id=str(data.get("project_id", "")),
        issue_id=str(issue.id) if issue is not None else None,
        branch=request.branch if request is not None else None,
        error=error,
        github_status=github_status,
    )
    await events.outbox.publish(
        session, events.ResolutionDeliveryFailed, payload, subject=payload.run_id
    )
    log.warning("resolution_not_delivered", run_id=payload.run_id, status=github_status)
