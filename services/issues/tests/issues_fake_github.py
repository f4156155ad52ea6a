"""A fake of GitHub's REST API (the two endpoints the service calls), speaking GitHub's wire
format: payloads shaped like the documented examples, ``Bad credentials`` 401s, 404s with
``Not Found``, and the primary rate-limit answer (403 with ``x-ratelimit-remaining: 0``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

DOCS = "https://docs.github.com/rest"


def github_user(login: str) -> dict[str, Any]:
    return {
        "login": login,
        "id": abs(hash(login)) % 10_000_000,
        "node_id": "MDQ6VXNlcjE=",
        "avatar_url": f"https://github.com/images/{login}.gif",
        "url": f"https://api.github.com/users/{login}",
        "html_url": f"https://github.com/{login}",
        "type": "User",
        "site_admin": False,
    }


def github_repo(owner: str, name: str) -> dict[str, Any]:
    return {
        "id": 1296269,
        "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
        "name": name,
        "full_name": f"{owner}/{name}",
        "owner": github_user(owner),
        "private": False,
        "html_url": f"https://github.com/{owner}/{name}",
        "url": f"https://api.github.com/repos/{owner}/{name}",
        "default_branch": "main",
    }


def github_issue(
    owner: str,
    repo: str,
    number: int,
    *,
    title: str = "Found a bug",
    body: str | None = "I'm having a problem with this.",
    state: str = "open",
    labels: tuple[str, ...] = ("bug",),
    author: str = "octocat",
) -> dict[str, Any]:
    return {
        "id": 1,
        "node_id": "MDU6SXNzdWUx",
        "url": f"https://api.github.com/repos/{owner}/{repo}/issues/{number}",
        "repository_url": f"https://api.github.com/repos/{owner}/{repo}",
        "html_url": f"https://github.com/{owner}/{repo}/issues/{number}",
        "number": number,
        "state": state,
        "state_reason": "completed" if state == "closed" else None,
        "title": title,
        "body": body,
        "user": github_user(author),
        "labels": [
            {
                "id": 208045946,
                "node_id": "MDU6TGFiZWwyMDgwNDU5NDY=",
                "name": name,
                "description": "",
                "color": "f29513",
                "default": True,
            }
            for name in labels
        ],
        "assignee": None,
        "assignees": [],
        "locked": False,
        "comments": 0,
        "closed_at": "2011-04-22T13:33:48Z" if state == "closed" else None,
        "created_at": "2011-04-22T13:33:48Z",
        "updated_at": "2011-04-22T13:33:48Z",
        "author_association": "COLLABORATOR",
    }


def github_pull(
    owner: str,
    repo: str,
    number: int,
    *,
    title: str = "Amazing new feature",
    state: str = "open",
    merged: bool = False,
    head_sha: str = "6dcb09b5b57875f334f61aebed695e2e4193db5e",
    base_sha: str = "c2d4b5f3a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4",
    head_ref: str = "new-topic",
    base_ref: str = "main",
    author: str = "octocat",
) -> dict[str, Any]:
    repository = github_repo(owner, repo)
    return {
        "url": f"https://api.github.com/repos/{owner}/{repo}/pulls/{number}",
        "id": 1,
        "node_id": "MDExOlB1bGxSZXF1ZXN0MQ==",
        "html_url": f"https://github.com/{owner}/{repo}/pull/{number}",
        "diff_url": f"https://github.com/{owner}/{repo}/pull/{number}.diff",
        "number": number,
        "state": state,
        "locked": False,
        "title": title,
        "user": github_user(author),
        "body": "Please pull these awesome changes in!",
        "labels": [],
        "created_at": "2011-01-26T19:01:12Z",
        "updated_at": "2011-01-26T19:01:12Z",
        "closed_at": "2011-01-26T19:01:12Z" if state == "closed" else None,
        "merged_at": "2011-01-26T19:01:12Z" if merged else None,
        "merge_commit_sha": "e5bd3914e2e596debea16f433f57875b5b90bcd6",
        "draft": False,
        "head": {
            "label": f"{author}:{head_ref}",
            "ref": head_ref,
            "sha": head_sha,
            "user": github_user(author),
            "repo": repository,
        },
        "base": {
            "label": f"{owner}:{base_ref}",
            "ref": base_ref,
            "sha": base_sha,
            "user": github_user(owner),
            "repo": repository,
        },
        "author_association": "OWNER",
        "merged": merged,
        "mergeable": True,
        "comments": 10,
        "commits": 3,
        "additions": 100,
        "deletions": 3,
        "changed_files": 5,
    }


@dataclass
class FakeGitHub:
    token: str
    url: str = ""
    pulls: dict[tuple[str, str, int], dict[str, Any]] = field(default_factory=dict)
    issues: dict[tuple[str, str, int], dict[str, Any]] = field(default_factory=dict)
    rate_limited: set[str] = field(default_factory=set)  # "owner/repo": primary limit
    secondary_limited: set[str] = field(default_factory=set)  # "owner/repo": secondary limit
    requests: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/repos/{owner}/{repo}/pulls/{number}", self._pull)
        app.router.add_get("/repos/{owner}/{repo}/issues/{number}", self._issue)
        return app

    def _headers(self, remaining: int) -> dict[str, str]:
        return {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-used": str(5000 - remaining),
            "x-ratelimit-reset": str(int(time.time()) + 120),
            "x-ratelimit-resource": "core",
            "x-github-api-version-selected": "2022-11-28",
        }

    def _guard(self, request: web.Request) -> web.Response | None:
        self.requests.append({"path": request.path, "headers": dict(request.headers)})
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response(
                {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"},
                status=401,
            )
        full = f"{request.match_info['owner']}/{request.match_info['repo']}"
        if full in self.rate_limited:
            return web.json_response(
                {
                    "message": "API rate limit exceeded for user ID 1.",
                    "documentation_url": f"{DOCS}/overview/rate-limits-for-the-rest-api",
                },
                status=403,
                headers=self._headers(0),
            )
        if full in self.secondary_limited:
            return web.json_response(
                {
                    "message": "You have exceeded a secondary rate limit. Please wait a few "
                    "minutes before you try again.",
                    "documentation_url": f"{DOCS}/overview/rate-limits-for-the-rest-api",
                },
                status=429,
                headers={**self._headers(4000), "retry-after": "37"},
            )
        return None

    def _lookup(
        self, request: web.Request, store: dict[tuple[str, str, int], dict[str, Any]]
    ) -> web.Response:
        refused = self._guard(request)
        if refused is not None:
            return refused
        key = (
            request.match_info["owner"],
            request.match_info["repo"],
            int(request.match_info["number"]),
        )
        if key not in store:
            return web.json_response(
                {"message": "Not Found", "documentation_url": DOCS, "status": "404"},
                status=404,
                headers=self._headers(4999),
            )
        return web.json_response(store[key], headers=self._headers(4999))

    async def _pull(self, request: web.Request) -> web.Response:
        return self._lookup(request, self.pulls)

    async def _issue(self, request: web.Request) -> web.Response:
        return self._lookup(request, self.issues)
