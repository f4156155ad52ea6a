"""A fake of GitHub's REST API (the endpoints the issues service calls), speaking GitHub's wire
format: payloads shaped like the documented examples, ``Bad credentials`` 401s, 404s with
``Not Found``, and the primary rate-limit answer (403 with ``x-ratelimit-remaining: 0``).

The Git Data API part (refs, commits, blobs, trees) and ``POST /pulls`` keep a small object
store per repository, check each request's shape the way GitHub does (422 ``Invalid request``
naming the missing field, ``Reference already exists``, a pull request from a branch that does
not exist), and record every request (method, path, body, headers) for tests to read.

Shared by the issues service's tests and the end-to-end tests (which serve it to a whole
stack as ``ISSUES_GITHUB_API_URL``)."""

from __future__ import annotations

import hashlib
import json
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
    # Tokens besides ``token`` that GitHub accepts (a project's own token).
    accepted: set[str] = field(default_factory=set)
    # Git data per "owner/repo": refs ("heads/main" -> sha), and objects by sha.
    refs: dict[str, dict[str, str]] = field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    # "POST /git/refs" (method and the path after the repository), or the same for one
    # repository ("owner/repo POST /git/refs") -> status GitHub answers.
    failures: dict[str, int] = field(default_factory=dict)
    next_number: int = 1000

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/repos/{owner}/{repo}/pulls/{number}", self._pull)
        app.router.add_get("/repos/{owner}/{repo}/issues/{number}", self._issue)
        app.router.add_get("/repos/{owner}/{repo}/pulls", self._list_pulls)
        app.router.add_post("/repos/{owner}/{repo}/pulls", self._create_pull)
        app.router.add_get("/repos/{owner}/{repo}/git/ref/{ref:.+}", self._get_ref)
        app.router.add_post("/repos/{owner}/{repo}/git/refs", self._create_ref)
        app.router.add_get("/repos/{owner}/{repo}/git/commits/{sha}", self._get_commit)
        app.router.add_post("/repos/{owner}/{repo}/git/commits", self._create_commit)
        app.router.add_post("/repos/{owner}/{repo}/git/blobs", self._create_blob)
        app.router.add_post("/repos/{owner}/{repo}/git/trees", self._create_tree)
        return app

    # -- a repository's git data ---------------------------------------------------------------

    def add_repository(
        self, owner: str, repo: str, files: dict[str, str], sha: str | None = None
    ) -> str:
        """A repository whose main branch has one commit holding ``files``; its sha. ``sha``:
        the commit's sha in a real git repository this one mirrors (a clone's base commit)."""
        tree = self._store("tree", {"entries": {p: self._blob(c) for p, c in files.items()}})
        commit = {"tree": tree, "parents": [], "message": "initial"}
        if sha is None:
            sha = self._store("commit", commit)
        else:
            self.objects[sha] = {"kind": "commit", **commit}
        self.refs[f"{owner}/{repo}"] = {"heads/main": sha}
        return sha

    def _store(self, kind: str, obj: dict[str, Any]) -> str:
        raw = json.dumps([kind, obj], sort_keys=True).encode()
        sha = hashlib.sha1(raw, usedforsecurity=False).hexdigest()
        self.objects[sha] = {"kind": kind, **obj}
        return sha

    def _blob(self, content: str) -> str:
        return self._store("blob", {"content": content})

    def files_at(self, owner: str, repo: str, ref: str) -> dict[str, str]:
        """The files of a branch's commit: what a clone of it would hold."""
        commit = self.objects[self.refs[f"{owner}/{repo}"][f"heads/{ref}"]]
        entries = self.objects[commit["tree"]]["entries"]
        return {path: self.objects[sha]["content"] for path, sha in entries.items()}

    async def _write_guard(self, request: web.Request) -> tuple[web.Response | None, Any]:
        refused = self._guard(request)
        body: Any = None
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                return self._problem(400, "Problems parsing JSON"), None
        self.requests[-1].update(method=request.method, body=body, query=dict(request.query))
        if refused is not None:
            return refused, body
        key = f"{request.method} /{request.path.split('/', 4)[-1]}"
        full = f"{request.match_info['owner']}/{request.match_info['repo']}"
        status = self.failures.get(f"{full} {key}") or self.failures.get(key)
        if status is not None:
            message = {
                403: "Resource not accessible by integration",
                422: "Reference already exists",
                500: "Server Error",
                502: "Server Error",
                503: "Service Unavailable",
            }.get(status, "Error")
            return self._problem(status, message), body
        return None, body

    def _problem(self, status: int, message: str) -> web.Response:
        return web.json_response(
            {"message": message, "documentation_url": DOCS, "status": str(status)}, status=status
        )

    def _invalid(self, body: Any, *required: str) -> web.Response | None:
        if not isinstance(body, dict):
            return self._problem(400, "Problems parsing JSON")
        missing = [name for name in required if name not in body]
        if missing:
            return self._problem(422, f'Invalid request.\n\n"{missing[0]}" wasn\'t supplied.')
        return None

    def _repo(self, request: web.Request) -> dict[str, str] | None:
        return self.refs.get(f"{request.match_info['owner']}/{request.match_info['repo']}")

    async def _get_ref(self, request: web.Request) -> web.Response:
        refused, _ = await self._write_guard(request)
        if refused is not None:
            return refused
        refs = self._repo(request) or {}
        name = request.match_info["ref"]
        if name not in refs:
            return self._problem(404, "Not Found")
        return web.json_response(
            {
                "ref": f"refs/{name}",
                "node_id": "MDM6UmVmcmVmcy9oZWFkcy9mZWF0dXJlQQ==",
                "url": f"https://api.github.com/repos/x/y/git/refs/{name}",
                "object": {"type": "commit", "sha": refs[name], "url": ""},
            }
        )

    async def _get_commit(self, request: web.Request) -> web.Response:
        refused, _ = await self._write_guard(request)
        if refused is not None:
            return refused
        commit = self.objects.get(request.match_info["sha"])
        if commit is None or commit["kind"] != "commit":
            return self._problem(404, "Not Found")
        return web.json_response(self._commit_json(request.match_info["sha"], commit))

    def _commit_json(self, sha: str, commit: dict[str, Any]) -> dict[str, Any]:
        return {
            "sha": sha,
            "node_id": "MDY6Q29tbWl0",
            "url": f"https://api.github.com/repos/x/y/git/commits/{sha}",
            "message": commit["message"],
            "tree": {"sha": commit["tree"], "url": ""},
            "parents": [{"sha": p, "url": "", "html_url": ""} for p in commit["parents"]],
            "verification": {"verified": False, "reason": "unsigned"},
        }

    async def _create_blob(self, request: web.Request) -> web.Response:
        refused, body = await self._write_guard(request)
        if refused is not None:
            return refused
        invalid = self._invalid(body, "content")
        if invalid is not None:
            return invalid
        if body.get("encoding", "utf-8") != "utf-8":
            return self._problem(422, "Invalid request.\n\nencoding is not utf-8 or base64.")
        sha = self._blob(body["content"])
        return web.json_response({"url": "", "sha": sha}, status=201)

    async def _create_tree(self, request: web.Request) -> web.Response:
        refused, body = await self._write_guard(request)
        if refused is not None:
            return refused
        invalid = self._invalid(body, "tree")
        if invalid is not None:
            return invalid
        entries: dict[str, str] = {}
        if body.get("base_tree"):
            base = self.objects.get(body["base_tree"])
            if base is None or base["kind"] != "tree":
                return self._problem(422, "Invalid request.\n\nbase_tree is not a tree.")
            entries.update(base["entries"])
        for entry in body["tree"]:
            if entry.get("mode") not in ("100644", "100755") or entry.get("type") != "blob":
                return self._problem(422, "Invalid request.\n\nmode or type is not valid.")
            if self.objects.get(entry.get("sha", ""), {}).get("kind") != "blob":
                return self._problem(422, "Invalid request.\n\nsha is not a blob.")
            entries[entry["path"]] = entry["sha"]
        sha = self._store("tree", {"entries": entries})
        return web.json_response(
            {"sha": sha, "url": "", "tree": [], "truncated": False}, status=201
        )

    async def _create_commit(self, request: web.Request) -> web.Response:
        refused, body = await self._write_guard(request)
        if refused is not None:
            return refused
        invalid = self._invalid(body, "message", "tree")
        if invalid is not None:
            return invalid
        if self.objects.get(body["tree"], {}).get("kind") != "tree":
            return self._problem(422, "Invalid request.\n\ntree is not a tree.")
        parents = body.get("parents", [])
        commit = {"tree": body["tree"], "parents": parents, "message": body["message"]}
        sha = self._store("commit", commit)
        return web.json_response(self._commit_json(sha, self.objects[sha]), status=201)

    async def _create_ref(self, request: web.Request) -> web.Response:
        refused, body = await self._write_guard(request)
        if refused is not None:
            return refused
        invalid = self._invalid(body, "ref", "sha")
        if invalid is not None:
            return invalid
        refs = self._repo(request)
        if refs is None:
            return self._problem(404, "Not Found")
        ref = str(body["ref"])
        if not ref.startswith("refs/") or ref.count("/") < 2:
            return self._problem(422, "Reference name must start with 'refs/' and have two slashes")
        if ref.removeprefix("refs/") in refs:
            return self._problem(422, "Reference already exists")
        if self.objects.get(body["sha"], {}).get("kind") != "commit":
            return self._problem(422, "Object does not exist")
        refs[ref.removeprefix("refs/")] = body["sha"]
        return web.json_response(
            {
                "ref": ref,
                "node_id": "",
                "url": "",
                "object": {"type": "commit", "sha": body["sha"]},
            },
            status=201,
        )

    async def _list_pulls(self, request: web.Request) -> web.Response:
        refused, _ = await self._write_guard(request)
        if refused is not None:
            return refused
        owner, repo = request.match_info["owner"], request.match_info["repo"]
        head = request.query.get("head", "")
        found = [
            pull
            for (o, r, _), pull in sorted(self.pulls.items())
            if (o, r) == (owner, repo) and (not head or pull["head"]["label"] == head)
        ]
        return web.json_response(found)

    async def _create_pull(self, request: web.Request) -> web.Response:
        refused, body = await self._write_guard(request)
        if refused is not None:
            return refused
        invalid = self._invalid(body, "head", "base")
        if invalid is not None:
            return invalid
        owner, repo = request.match_info["owner"], request.match_info["repo"]
        refs = self._repo(request) or {}
        if f"heads/{body['head']}" not in refs or f"heads/{body['base']}" not in refs:
            return web.json_response(
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
                    "documentation_url": DOCS,
                    "status": "422",
                },
                status=422,
            )
        self.next_number += 1
        number = self.next_number
        pull = github_pull(
            owner,
            repo,
            number,
            title=body.get("title") or "",
            head_ref=body["head"],
            base_ref=body["base"],
            head_sha=refs[f"heads/{body['head']}"],
            base_sha=refs[f"heads/{body['base']}"],
            author="swe-platform[bot]",
        )
        pull["head"]["label"] = f"{owner}:{body['head']}"
        pull["body"] = body.get("body")
        pull["draft"] = body.get("draft") is True
        pull["updated_at"] = pull["created_at"] = "2026-12-03T10:00:00Z"
        self.pulls[(owner, repo, number)] = pull
        return web.json_response(pull, status=201)

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
        tokens = {f"Bearer {t}" for t in (self.token, *self.accepted)}
        if request.headers.get("Authorization") not in tokens:
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
