"""Refreshing an issue or a pull request from GitHub's REST API."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.crypto import SecretBox
from swe_common.security import Caller
from swe_issues.github.client import GitHubClient, parse_repository
from swe_issues.github.convert import issue_from_github, pull_request_from_github
from swe_issues.github.tokens import token_for
from swe_issues.issues import service as issues
from swe_issues.issues.models import Issue
from swe_issues.pull_requests import service as pull_requests
from swe_issues.pull_requests.models import PullRequest


async def sync_issue(
    session: AsyncSession,
    caller: Caller,
    issue_id: uuid.UUID,
    github: GitHubClient,
    box: SecretBox,
) -> Issue:
    issue, project = await issues.linked_issue_for_sync(session, caller, issue_id)
    repo = parse_repository(project.repository_url)
    token = await token_for(session, project.id, box)
    data = await github.issue(repo, issue.github_number or 0, token)
    mirrored = await issues.mirror_github_issue(session, project, issue_from_github(data))
    return mirrored.issue


async def sync_pull_request(
    session: AsyncSession,
    caller: Caller,
    pr_id: uuid.UUID,
    github: GitHubClient,
    box: SecretBox,
) -> PullRequest:
    pr, project = await pull_requests.writable_for_sync(session, caller, pr_id)
    repo = parse_repository(project.repository_url)
    token = await token_for(session, project.id, box)
    data = await github.pull_request(repo, pr.number, token)
    mirrored = await pull_requests.mirror_github_pr(
        session, project, pull_request_from_github(data)
    )
    return mirrored.pr
