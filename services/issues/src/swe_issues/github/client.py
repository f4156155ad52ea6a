"""A small client of GitHub's REST API (pulls and issues), with GitHub's answers mapped to
problems the caller can act on: 404 for a missing repository item, 502 when GitHub refuses
our credentials or fails, 503 with ``Retry-After`` when GitHub rate-limits us.

It also opens draft pull requests from a set of changed files (:meth:`GitHubClient.open_draft`)
with the Git Data API, so nothing is cloned or pushed with git: base ref, base commit, blobs,
tree, commit, branch ref, then ``POST /pulls`` with ``draft: true``. The token travels only in
the ``Authorization`` header and is never logged."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import structlog

from swe_common.errors import AppError, Conflict, NotFound, ServiceUnavailable, Unprocessable

log = structlog.stdlib.get_logger(__name__)

API_VERSION = "2022-11-28"
_MESSAGE_MAX = 300


class BadGateway(AppError):
    status, slug, title = 502, "bad-gateway", "Bad Gateway"


@dataclass(frozen=True, slots=True)
class Repository:
    owner: str
    name: str

    @property
    def path(self) -> str:
        return f"{quote(self.owner, safe='')}/{quote(self.name, safe='')}"


def parse_repository(url: str, *, allow_file: bool = False) -> Repository:
    """``https://github.com/<owner>/<repo>[.git]`` (or an Enterprise host) -> owner and name.
    ``allow_file`` (development and tests): ``file:///.../<name>`` -> ``local/<name>``, as
    ``swe_common.repo_urls`` names a local repository."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if allow_file and parts.scheme == "file" and segments:
        return Repository("local", segments[-1].removesuffix(".git"))
    if parts.scheme not in ("https", "http") or len(segments) < 2:
        raise Unprocessable(
            f"The project's repository {url!r} is not a GitHub repository; nothing to sync"
        )
    return Repository(segments[0], segments[1].removesuffix(".git"))


class GitHubClient:
    def __init__(self, base_url: str, token: str | None, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    def _headers(self, token: str | None = None) -> dict[str, str]:
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "swe-platform-issues",
        }
        if token or self.token:
            headers["Authorization"] = f"Bearer {token or self.token}"
        return headers

    async def pull_request(
        self, repo: Repository, number: int, token: str | None = None
    ) -> dict[str, Any]:
        path = f"/repos/{repo.path}/pulls/{number}"
        return await self._get(path, f"pull request #{number}", token)

    async def issue(
        self, repo: Repository, number: int, token: str | None = None
    ) -> dict[str, Any]:
        return await self._get(f"/repos/{repo.path}/issues/{number}", f"issue #{number}", token)

    async def _get(self, path: str, what: str, token: str | None = None) -> dict[str, Any]:
        """GET with the project's token when given, else the global one."""
        headers = self._headers(token)
        try:
            async with self._client().get(self.base_url + path, headers=headers) as resp:
                body = await _json_or_none(resp)
                if resp.status == 200 and isinstance(body, dict):
                    return body
                raise _problem(resp.status, resp.headers, body, what, path, own_token=bool(token))
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("github_unreachable", path=path, error=exc.__class__.__name__)
            raise ServiceUnavailable(
                f"GitHub could not be reached ({exc.__class__.__name__}); retry later",
                headers={"Retry-After": "30"},
            ) from None

    async def open_draft(self, repo: Repository, change: DraftChange, token: str) -> dict[str, Any]:
        """Push ``change`` as a new branch and open a draft pull request from it; GitHub's pull
        request. When a pull request from that branch already exists (a redelivered event
        whose first handling opened it), that one is answered and nothing is created.
        :class:`GitHubFailure` says which step GitHub refused."""
        base = f"/repos/{repo.path}"
        existing = await self._call(
            "GET",
            f"{base}/pulls",
            token,
            params={"head": f"{repo.owner}:{change.branch}", "state": "all"},
        )
        first = existing[0] if isinstance(existing, list) and existing else None
        if isinstance(first, dict):
            return first
        await self._call("GET", f"{base}/git/ref/heads/{quote(change.base_ref, safe='/')}", token)
        commit = await self._call("GET", f"{base}/git/commits/{change.base_commit}", token)
        tree_sha = _sha(_mapping(commit, "tree"), "base commit's tree")
        entries = []
        for path, content in sorted(change.files.items()):
            blob = await self._call(
                "POST", f"{base}/git/blobs", token, {"content": content, "encoding": "utf-8"}
            )
            entries.append(
                {"path": path, "mode": "100644", "type": "blob", "sha": _sha(blob, "blob")}
            )
        tree = await self._call(
            "POST", f"{base}/git/trees", token, {"base_tree": tree_sha, "tree": entries}
        )
        new_commit = await self._call(
            "POST",
            f"{base}/git/commits",
            token,
            {
                "message": change.message,
                "tree": _sha(tree, "tree"),
                "parents": [change.base_commit],
            },
        )
        await self._call(
            "POST",
            f"{base}/git/refs",
            token,
            {"ref": f"refs/heads/{change.branch}", "sha": _sha(new_commit, "commit")},
        )
        pull: dict[str, Any] = await self._call(
            "POST",
            f"{base}/pulls",
            token,
            {
                "title": change.title,
                "head": change.branch,
                "base": change.base_ref,
                "body": change.body,
                "draft": True,
                "maintainer_can_modify": True,
            },
        )
        return pull

    async def _call(
        self,
        method: str,
        path: str,
        token: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """One call of the delivery; any answer but 2xx with JSON is a :class:`GitHubFailure`."""
        try:
            async with self._client().request(
                method, self.base_url + path, headers=self._headers(token), json=body, params=params
            ) as resp:
                answer = await _json_or_none(resp)
                if 200 <= resp.status < 300 and isinstance(answer, dict | list):
                    return answer
                message = str(answer.get("message", "")) if isinstance(answer, dict) else ""
                log.info("github_error", method=method, path=path, status=resp.status)
                raise GitHubFailure(resp.status, f"{method} {path}", message[:_MESSAGE_MAX])
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("github_unreachable", path=path, error=exc.__class__.__name__)
            raise GitHubFailure(None, f"{method} {path}", exc.__class__.__name__) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


@dataclass(frozen=True, slots=True)
class DraftChange:
    """What a draft pull request carries: whole new contents of the changed files on top of
    ``base_commit``, on a new branch ``branch``, proposed for ``base_ref``."""

    branch: str
    base_ref: str
    base_commit: str
    files: dict[str, str]
    message: str
    title: str
    body: str


class GitHubFailure(Exception):
    """GitHub refused or failed one call (``status`` None: it could not be reached)."""

    def __init__(self, status: int | None, call: str, message: str) -> None:
        self.status, self.call, self.message = status, call, message
        said = f"GitHub answered {status}" if status is not None else "GitHub was unreachable"
        super().__init__(f"{said} to {call}" + (f": {message}" if message else ""))


def _sha(answer: Any, what: str) -> str:
    sha = answer.get("sha") if isinstance(answer, dict) else None
    if not isinstance(sha, str) or not sha:
        raise GitHubFailure(None, f"reading the {what}", "GitHub's answer has no sha")
    return sha


def _mapping(value: Any, key: str) -> dict[str, Any]:
    inner = value.get(key) if isinstance(value, dict) else None
    return inner if isinstance(inner, dict) else {}


async def _json_or_none(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        return None


def _problem(
    status: int, headers: Any, body: Any, what: str, path: str, *, own_token: bool = False
) -> AppError:
    message = str(body.get("message", "")) if isinstance(body, dict) else ""
    message = message[:_MESSAGE_MAX]
    said = f"GitHub answered {status}" + (f": {message}" if message else "")
    log.info("github_error", path=path, status=status, message=message)
    retry_after = _retry_after(status, headers)
    if retry_after is not None:
        return ServiceUnavailable(
            f"GitHub's rate limit is exhausted ({said}); retry in {retry_after} seconds",
            headers={"Retry-After": str(retry_after)},
            github_status=status,
            retry_after_seconds=retry_after,
        )
    if status == 404:
        return NotFound(f"GitHub has no {what} in this repository ({said})", github_status=404)
    if status in (401, 403) and own_token:
        # The token the project's users set, not the platform's: theirs to fix, not an outage.
        return Conflict(
            f"GitHub refused this project's own token ({said}); set a valid one",
            github_status=status,
        )
    if status in (401, 403):
        return BadGateway(
            f"GitHub refused our credentials ({said}); check ISSUES_GITHUB_TOKEN",
            github_status=status,
        )
    return BadGateway(f"GitHub failed to answer ({said})", github_status=status)


def _retry_after(status: int, headers: Any) -> int | None:
    """Seconds to wait when the answer is a rate limit (primary or secondary), else None."""
    if status not in (403, 429):
        return None
    retry_after = headers.get("retry-after")
    if retry_after is not None and retry_after.strip().isdigit():
        return max(1, int(retry_after))
    if headers.get("x-ratelimit-remaining") == "0":
        reset = headers.get("x-ratelimit-reset", "")
        if reset.strip().isdigit():
            return max(1, int(reset) - int(time.time()))
        return 60
    return 60 if status == 429 else None
