"""What the end-to-end journeys share: a gateway-only HTTP client, a WebSocket reader, users,
git repositories with planted defects, GitHub-signed webhooks and an event listener.

Nothing here talks to a service directly: HTTP and WebSocket go to the gateway, and RabbitMQ is
used only as any downstream consumer of the domain events would use it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp
import httpx

from swe_common.testing import eventually

PASSWORD = "correct-horse-battery-staple-e2e"
RUN_TIMEOUT = float(os.environ.get("E2E_RUN_TIMEOUT", "150"))
EVENT_TIMEOUT = float(os.environ.get("E2E_EVENT_TIMEOUT", "30"))
TERMINAL = frozenset({"completed", "failed", "cancelled"})


def describe(response: httpx.Response) -> str:
    """One line to put in an assertion: what was asked and what came back."""
    request = response.request
    return f"{request.method} {request.url.path} -> {response.status_code} {response.text[:600]}"


def expect(response: httpx.Response, *statuses: int) -> Any:
    assert response.status_code in statuses, describe(response)
    if response.status_code == 204 or not response.content:
        return None
    return response.json()


# -- the stack -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stack:
    base_url: str  # the gateway, the only HTTP entry
    amqp_url: str
    exchange: str
    run_dir: Path | None = None  # None when attached to a stack someone else runs
    # The environment its processes were started with and its database (only for a stack the
    # tests started: the fault tests restart processes and cut connections with them).
    env: dict[str, str] | None = field(default=None, repr=False, compare=False)
    database_url: str | None = field(default=None, repr=False, compare=False)
    # The SMTP server auth mails to (swe_common.testing_mail.SmtpServer; a stack we started).
    smtp: Any = field(default=None, repr=False, compare=False)

    @property
    def ws_url(self) -> str:
        return "ws" + self.base_url.removeprefix("http")


# -- users -----------------------------------------------------------------------------------


@dataclass
class User:
    id: str
    username: str
    email: str
    access_token: str
    refresh_token: str
    http: httpx.AsyncClient  # speaks to the gateway with this user's bearer token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def gateway_client(stack: Stack, **kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.base_url, timeout=30.0, **kwargs)


async def register(anonymous: httpx.AsyncClient, prefix: str) -> tuple[str, str, str]:
    """Register a fresh account; (user id, username, email)."""
    username = f"{prefix}-{uuid.uuid4().hex[:10]}"
    email = f"{username}@example.com"
    body = expect(
        await anonymous.post(
            "/api/v1/auth/register",
            json={"email": email, "username": username, "password": PASSWORD, "full_name": prefix},
        ),
        201,
    )
    assert body["username"] == username and "password" not in json.dumps(body)
    return body["id"], username, email


async def log_in(anonymous: httpx.AsyncClient, username: str) -> dict[str, Any]:
    tokens = expect(
        await anonymous.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        ),
        200,
    )
    assert tokens["token_type"] == "bearer" and tokens["access_token"], tokens
    return tokens


def create_admin(stack: Stack) -> str:
    """A new account with the admin role, made as an operator makes one (``swe_auth.cli
    create-admin``, password ``PASSWORD``); its username. Only on a stack the tests started:
    the command needs that stack's environment (its database)."""
    if stack.env is None:
        raise ValueError("an admin can be created only on a stack these tests started")
    username = f"admin-{uuid.uuid4().hex[:8]}"
    command = [
        sys.executable, "-c", "from swe_auth.cli import main; raise SystemExit(main())",
        "create-admin", "--email", f"{username}@example.com", "--username", username,
    ]  # fmt: skip
    env = {**stack.env, "AUTH_BOOTSTRAP_ADMIN_PASSWORD": PASSWORD}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return username


async def new_user(stack: Stack, anonymous: httpx.AsyncClient, prefix: str) -> User:
    user_id, username, email = await register(anonymous, prefix)
    tokens = await log_in(anonymous, username)
    http = gateway_client(stack, headers={"Authorization": f"Bearer {tokens['access_token']}"})
    return User(user_id, username, email, tokens["access_token"], tokens["refresh_token"], http)


# -- git repositories with planted defects ---------------------------------------------------

GIT_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_AUTHOR_NAME": "E2E",
    "GIT_AUTHOR_EMAIL": "e2e@example.com",
    "GIT_COMMITTER_NAME": "E2E",
    "GIT_COMMITTER_EMAIL": "e2e@example.com",
}

# Defects on known lines: an unused import (ruff F401), a hard-coded password (bandit B105), eval
# (B307), a bare except (E722) and a shell=True subprocess (B602).
DEFECTS_PY = """import os
import subprocess

PASSWORD = "hunter2-very-secret"


def evaluate(expr):
    try:
        return eval(expr)
    except:
        pass


def run(cmd):
    return subprocess.call(cmd, shell=True)
"""
CLEAN_PY = '''"""A tidy module."""


def add(a: int, b: int) -> int:
    return a + b
'''
# The pull request appends this to app/clean.py: a shell=True Popen, a bare except and an
# unused variable, all on new lines.
PR_ADDITION = """

def spawn(cmd):
    import subprocess

    unused = 1
    try:
        return subprocess.Popen(cmd, shell=True)
    except:
        return None
"""
HEAD_CLEAN_PY = CLEAN_PY + PR_ADDITION


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=repo, env=GIT_ENV, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, content in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        git(repo, "add", name)
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@dataclass(frozen=True)
class PlantedRepo:
    path: Path
    base_sha: str  # main
    head_ref: str  # the pull request's branch
    head_sha: str
    changed: dict[str, set[int]]  # path -> lines the pull request added or changed

    @property
    def url(self) -> str:
        return f"file://{self.path}"


def planted_repo(path: Path) -> PlantedRepo:
    path.mkdir(parents=True)
    git(path, "init", "--quiet", "--initial-branch", "main")
    base = commit(
        path,
        {"app/defects.py": DEFECTS_PY, "app/clean.py": CLEAN_PY, "README.md": "# demo\n"},
        "initial",
    )
    git(path, "checkout", "--quiet", "-b", "feature/spawn")
    head = commit(path, {"app/clean.py": HEAD_CLEAN_PY}, "add spawn()")
    git(path, "checkout", "--quiet", "main")
    first_new = len(CLEAN_PY.splitlines()) + 1
    changed = {"app/clean.py": set(range(first_new, len(HEAD_CLEAN_PY.splitlines()) + 1))}
    return PlantedRepo(path, base, "feature/spawn", head, changed)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# -- GitHub webhooks -------------------------------------------------------------------------


def pull_request_payload(repo: PlantedRepo, number: int, owner: str) -> dict[str, Any]:
    """An ``opened`` pull_request delivery in GitHub's shape (the fields GitHub always sends)."""
    full_name = f"{owner}/{repo.path.name}"
    repository = {
        "id": 1296269,
        "name": repo.path.name,
        "full_name": full_name,
        "private": False,
        "owner": {"login": owner, "id": 1, "type": "User"},
        "html_url": f"https://github.com/{full_name}",
        "clone_url": repo.url,
        "default_branch": "main",
    }
    user = {"login": owner, "id": 1, "type": "User"}
    return {
        "action": "opened",
        "number": number,
        "pull_request": {
            "url": f"https://api.github.com/repos/{full_name}/pulls/{number}",
            "id": 10_000 + number,
            "node_id": f"PR_e2e{number}",
            "html_url": f"https://github.com/{full_name}/pull/{number}",
            "number": number,
            "state": "open",
            "locked": False,
            "title": "Add spawn()",
            "user": user,
            "body": "Runs commands for the caller.",
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z",
            "closed_at": None,
            "merged_at": None,
            "merged": False,
            "draft": False,
            "head": {
                "label": f"{owner}:{repo.head_ref}",
                "ref": repo.head_ref,
                "sha": repo.head_sha,
                "user": user,
                "repo": repository,
            },
            "base": {
                "label": f"{owner}:main",
                "ref": "main",
                "sha": repo.base_sha,
                "user": user,
                "repo": repository,
            },
        },
        "repository": repository,
        "sender": user,
    }


def signed_delivery(
    secret: str, event: str, payload: dict[str, Any]
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/e2e",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "1",
        "X-Hub-Signature-256": f"sha256={signature}",
    }
    return body, headers


# -- WebSocket through the gateway -----------------------------------------------------------


def ws_protocols(token: str) -> tuple[str, str]:
    """What a browser offers (it cannot set headers): the token as a subprotocol, never in
    the URL; the gateway answers ``swe.v1``."""
    return ("swe.v1", f"bearer.{token}")


async def read_ws_until_end(
    stack: Stack, path: str, token: str, timeout: float = RUN_TIMEOUT
) -> list[dict[str, Any]]:
    """Every JSON message of a WebSocket stream until its ``end`` message (or it closes)."""
    messages: list[dict[str, Any]] = []
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(stack.ws_url + path, protocols=ws_protocols(token), heartbeat=20) as ws,
    ):
        assert ws.protocol == "swe.v1", ws.protocol
        async with asyncio.timeout(timeout):
            async for message in ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    break
                data = json.loads(message.data)
                messages.append(data)
                if data.get("type") == "end":
                    break
    return messages


async def ws_refused(stack: Stack, path: str, token: str) -> str:
    """How the gateway turns a WebSocket away: 'handshake <status>' or 'close <code>'.
    Answers 'open' when it let the stream start and sent data."""
    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(
                stack.ws_url + path, headers={"Authorization": f"Bearer {token}"}
            ) as ws:
                message = await ws.receive(timeout=10)
                if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    return f"close {ws.close_code}"
                if message.type is aiohttp.WSMsgType.TEXT:
                    return f"open {message.data[:200]}"
                return f"close {ws.close_code}"
        except aiohttp.WSServerHandshakeError as exc:
            return f"handshake {exc.status}"


# -- runs ------------------------------------------------------------------------------------


async def wait_for_run(user: User, run_id: str, timeout: float = RUN_TIMEOUT) -> dict[str, Any]:
    async def finished() -> dict[str, Any] | None:
        run = expect(await user.http.get(f"/api/v1/agents/runs/{run_id}"), 200)
        return run if run["status"] in TERMINAL else None

    return await eventually(finished, timeout=timeout, interval=0.5)


# -- domain events, as a downstream consumer sees them ---------------------------------------


@dataclass
class EventLog:
    """Every domain event published on the stack's exchange since the session started."""

    events: list[dict[str, Any]] = field(default_factory=list)

    def of_type(self, type_: str, **data: Any) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e.get("type") == type_
            and all(e.get("data", {}).get(k) == v for k, v in data.items())
        ]

    async def wait_for(
        self, type_: str, timeout: float = EVENT_TIMEOUT, **data: Any
    ) -> dict[str, Any]:
        async def seen() -> list[dict[str, Any]]:
            return self.of_type(type_, **data)

        return (await eventually(seen, timeout=timeout, interval=0.1))[0]


async def listen(stack: Stack, log: EventLog) -> aio_pika.abc.AbstractRobustConnection:
    connection = await aio_pika.connect_robust(stack.amqp_url)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(
        stack.exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange, "#")

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            log.events.append(json.loads(message.body))

    await queue.consume(on_message)
    return connection
