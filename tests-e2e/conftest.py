"""The stack the journeys run against.

By default the session starts a stack of its own with ``swe-stack up``, isolated from anything
a developer runs: a fresh database (``swe_e2e_<random>``), its own RabbitMQ virtual host (or,
without ``rabbitmqctl``, unique exchange and queue names), its own ports, Redis key prefixes
and run directory (pids and logs in a temporary ``SWE_RUN_DIR``). Everything is stopped and
dropped at the end; the logs are kept when a test failed (the path is printed).

``E2E_BASE_URL=http://127.0.0.1:8000`` attaches to a stack that is already running instead
(it must admit file:// repositories); ``E2E_AMQP_URL`` and ``E2E_EVENTS_EXCHANGE`` name its
broker and exchange for the event listener.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from swe_common.testing import (
    create_test_database,
    drop_test_database,
    free_ports,
    unique_name,
)
from swe_common.testing_mail import SmtpServer
from swe_web.testing import write_placeholder_build

sys.path.insert(0, str(Path(__file__).parent))

from e2e_support import (
    EventLog,
    PlantedRepo,
    Stack,
    User,
    gateway_client,
    listen,
    new_user,
    planted_repo,
)
from fake_internet import FakeInternet

ROOT = Path(__file__).resolve().parents[1]
AMQP_HOST = "amqp://guest:guest@127.0.0.1:5672"
REDIS_URL = "redis://127.0.0.1:6379/0"
SERVICES = ("auth", "projects", "agents", "issues", "analytics", "web", "gateway")
WEB_APP = ROOT / "services" / "web" / "package.json"
UP_TIMEOUT = os.environ.get("E2E_UP_TIMEOUT", "240")


def _rabbitmqctl(*args: str) -> bool:
    tool = shutil.which("rabbitmqctl")
    if tool is None:
        return False
    try:
        result = subprocess.run([tool, *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _isolated_vhost() -> str | None:
    """A RabbitMQ virtual host of our own: no queue name of ours can meet a developer's."""
    name = f"swe_e2e_{uuid.uuid4().hex[:10]}"
    if _rabbitmqctl("add_vhost", name) and _rabbitmqctl(
        "set_permissions", "-p", name, "guest", ".*", ".*", ".*"
    ):
        return name
    _rabbitmqctl("delete_vhost", name)
    return None


def _stack_env(
    database_url: str,
    amqp_url: str,
    exchange: str,
    run_dir: Path,
    redis_url: str = REDIS_URL,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    *service_ports, metrics_port = free_ports(len(SERVICES) + 1)
    ports = dict(zip(SERVICES, service_ports, strict=True))
    tag = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "SWE_RUN_DIR": str(run_dir),
        "SWE_DATABASE_URL": database_url,
        "SWE_AMQP_URL": amqp_url,
        "SWE_EVENTS_EXCHANGE": exchange,
        "SWE_REDIS_URL": redis_url,
        "SWE_ENVIRONMENT": "test",
        "SWE_JWKS_URL": f"http://127.0.0.1:{ports['auth']}/api/v1/auth/.well-known/jwks.json",
        "SWE_OUTBOX_POLL_SECONDS": "0.5",
        "SWE_CONSUMER_RETRY_DELAYS_MS": "[300,1000,3000]",
        "SWE_DB_POOL_SIZE": "5",
        "SWE_DB_MAX_OVERFLOW": "5",
        # auth: its Redis keys stay unprefixed (the gateway reads its token denylist there), so
        # the per-address limit is raised instead: every caller here is 127.0.0.1.
        "AUTH_LOGIN_RATE_LIMIT_PER_MINUTE": "1000",
        "AUTH_KEY_ENCRYPTION_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
        "PROJECTS_ALLOW_FILE_REPOSITORIES": "true",
        "PROJECTS_WEBHOOK_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
        "AGENTS_ALLOW_FILE_REPOSITORIES": "true",
        "AGENTS_CHECKOUT_CACHE_DIR": str(run_dir / "checkouts"),
        "AGENTS_EVENTS_QUEUE": f"agents.events.e2e{tag}",
        "AGENTS_WORK_QUEUE": f"agents.runs.e2e{tag}",
        "AGENTS_REDIS_PREFIX": f"e2e{tag}:agents",
        "AGENTS_LEASE_SECONDS": "10",
        "AGENTS_HEARTBEAT_SECONDS": "2",
        "AGENTS_REAPER_INTERVAL_SECONDS": "2",
        "ISSUES_PROJECTS_URL": f"http://127.0.0.1:{ports['projects']}",
        "AGENTS_PROJECTS_URL": f"http://127.0.0.1:{ports['projects']}",
        "ISSUES_CONSUMER_QUEUE_PREFIX": f"issues.e2e{tag}",
        "AUTH_CONSUMER_QUEUE_PREFIX": f"auth-e2e{tag}",
        # Links in mails lead to the console this stack's gateway serves.
        "AUTH_CONSOLE_BASE_URL": f"http://127.0.0.1:{ports['gateway']}",
        "ANALYTICS_REDIS_KEY_PREFIX": f"e2e{tag}:analytics",
        "GATEWAY_RATE_LIMIT_PREFIX": f"e2e{tag}:gateway:rl",
        # The journeys poll as one user for runs and mails; the per-role windows (a user: 60 a
        # minute within 1,000 an hour) would refuse a poll. Limits are what the gateway's own
        # tests check: here one window per role, the budgets from before the windows came.
        "GATEWAY_RATE_LIMITS": json.dumps(
            {"anonymous": 120, "readonly": 300, "user": 600, "agent": 1200, "admin": 3000}
        ),
        "GATEWAY_REGISTRY_PREFIX": f"e2e{tag}:gateway:registry",
        "GATEWAY_UPSTREAMS": json.dumps(
            {name: [f"http://127.0.0.1:{ports[name]}"] for name in SERVICES if name != "gateway"}
        ),
    }
    for name, port in ports.items():
        env[f"{name.upper()}_PORT"] = str(port)
    env["GATEWAY_METRICS_PORT"] = str(metrics_port)  # several stacks may run at once
    if not WEB_APP.is_file():
        # No console in this checkout yet: its server gets a stand-in build (same shape as
        # Vite's). With the app present, swe-stack builds it (npm) as `make up` does.
        env["WEB_DIST_DIR"] = str(write_placeholder_build(run_dir / "web-dist"))
    env.update(extra or {})
    return env


def _swe_stack(command: str, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "swe_common.stack", command, *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=float(UP_TIMEOUT) + 120,
    )


def _build_console(env: dict[str, str]) -> None:
    """The console's npm build (minutes on a fresh checkout) before the stack's start, which
    then finds it fresh: the start's own deadline is for starting, not for building."""
    if env.get("WEB_DIST_DIR"):
        return
    built = subprocess.run(
        [sys.executable, "-m", "swe_common.stack", "build"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=float(os.environ.get("E2E_BUILD_TIMEOUT", "900")),
    )
    if built.returncode != 0:
        pytest.fail(
            f"swe-stack build failed:\n{built.stdout[-6000:]}\n{built.stderr[-3000:]}",
            pytrace=False,
        )


def _wait_until_routable(base_url: str, timeout: float = 60.0) -> None:
    """Until the gateway's aggregate health says every upstream is ready (it also refreshes
    the gateway's view of its instances, so the first requests are not turned away)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base_url}/health", timeout=5)
            if response.status_code == 200 and response.json().get("status") == "ok":
                return
            last = f"{response.status_code} {response.text[:500]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.5)  # a polling interval, bounded by the deadline
    pytest.fail(f"the gateway at {base_url} never saw every service ready: {last}", pytrace=False)


def _delete_redis_keys(*patterns: str) -> None:
    with contextlib.suppress(redis.RedisError), redis.Redis.from_url(REDIS_URL) as client:
        for pattern in patterns:
            for key in client.scan_iter(match=pattern, count=500):
                client.delete(key)


@contextlib.contextmanager
def isolated_stack(
    request: pytest.FixtureRequest | None,
    *,
    amqp_url: str | None = None,
    redis_url: str | None = None,
    extra_env: dict[str, str] | None = None,
    database_url: str | None = None,
) -> Iterator[Stack]:
    """Start a stack of our own with ``swe-stack up`` and stop and drop it afterwards.

    By default it uses the machine's RabbitMQ (an own vhost) and Redis (own key prefixes);
    ``amqp_url`` / ``redis_url`` point it at other servers instead (the fault tests' private
    ones), and ``extra_env`` adds or overrides settings of its processes. A ``database_url``
    made with ``create_test_database`` is used instead of a new one (and dropped at the end).
    Without a pytest ``request`` (a benchmark starting the stack, ``bench/capacity_bench.py``)
    the logs are kept when the body raised.
    """
    run_dir = Path(tempfile.mkdtemp(prefix="swe-e2e-"))
    database_url = database_url or create_test_database("swe_e2e")
    vhost = None
    if amqp_url is None:
        vhost = _isolated_vhost()
        amqp_url = f"{AMQP_HOST}/{vhost}" if vhost else AMQP_HOST + "/"
    exchange = unique_name("swe.events.e2e")
    # A real SMTP server (its own process) that auth mails to; the tests read what it got.
    smtp = SmtpServer(run_dir / "smtp").start()
    mail_env = {"AUTH_SMTP_HOST": smtp.host, "AUTH_SMTP_PORT": str(smtp.port)}
    env = _stack_env(
        database_url,
        amqp_url,
        exchange,
        run_dir,
        redis_url or REDIS_URL,
        {**mail_env, **(extra_env or {})},
    )
    failed_before = request.session.testsfailed if request else 0
    raised = False
    try:
        _build_console(env)
        started = _swe_stack("up", env, "--timeout", UP_TIMEOUT)
        if started.returncode != 0:
            pytest.fail(
                f"swe-stack up failed (logs in {run_dir / 'logs'}):\n"
                f"{started.stdout[-6000:]}\n{started.stderr[-3000:]}",
                pytrace=False,
            )
        _wait_until_routable(f"http://127.0.0.1:{env['GATEWAY_PORT']}")
        yield Stack(
            base_url=f"http://127.0.0.1:{env['GATEWAY_PORT']}",
            amqp_url=amqp_url,
            exchange=exchange,
            run_dir=run_dir,
            env=env,
            database_url=database_url,
            smtp=smtp,
        )
    except BaseException:
        raised = True
        raise
    finally:
        _swe_stack("down", env)
        smtp.stop()
        drop_test_database(database_url)
        if vhost:
            _rabbitmqctl("delete_vhost", vhost)
        if redis_url is None:
            tag = env["AGENTS_REDIS_PREFIX"].split(":", 1)[0]
            _delete_redis_keys(f"{tag}:*")
        failed = raised or (request is not None and request.session.testsfailed > failed_before)
        if not failed and not os.environ.get("E2E_KEEP_LOGS"):
            shutil.rmtree(run_dir, ignore_errors=True)
        else:
            print(f"\ne2e stack logs kept in {run_dir / 'logs'}")


def _routes_with_raised_login_limit(path: Path) -> Path:
    """The gateway's packaged routes with the per-address ``login`` limit raised."""
    from swe_gateway.config import PACKAGED_ROUTES

    text = PACKAGED_ROUTES.read_text()
    raised, count = re.subn(
        r'(name = "login"\s*\npaths = \[[^\]]*\]\s*\nlimit = )\d+', r"\g<1>100000", text
    )
    assert count == 1, "routes.toml changed shape: the login limit was not found"
    path.write_text(raised)
    return path


def load_ready_env(directory: Path) -> dict[str, str]:
    """Settings of the session stack that let the load run (``test_load.py``) share it.

    A hundred users all come from 127.0.0.1, so the gateway's per-address limits (anonymous
    120/min, login 10/min) would refuse their sign-ups: those are raised (``GATEWAY_RATE_LIMITS``
    and a routes file whose ``login`` limit is raised); the per-user limits keep their defaults.
    Active runs per project are capped at 1, so a user starting an analysis while the previous
    one is still queued gets the agents service's deliberate 429 and the queue stays bounded by
    the number of users. None of it changes what a journey checks: no journey starts two runs in
    one project or relies on a per-address limit (the fault tests, which do break the limiter,
    run a stack of their own with the defaults).
    """
    routes = _routes_with_raised_login_limit(directory / "routes.toml")
    return {
        "GATEWAY_ROUTES_FILE": str(routes),
        "GATEWAY_RATE_LIMITS": json.dumps(
            {"anonymous": 100000, "readonly": 600, "user": 600, "agent": 1200, "admin": 3000}
        ),
        "GATEWAY_ACCESS_LOG": "false",
        # Sign-up and login are not what the load run measures: cheaper hashing for its setup.
        "AUTH_ARGON2_MEMORY_KIB": "8192",
        "AUTH_ARGON2_TIME_COST": "1",
        "AGENTS_MAX_ACTIVE_RUNS_PER_PROJECT": "1",
        # Issues answers 60% of the load's requests (every other service here gets 5 + 5
        # connections to spare the shared PostgreSQL): its production pool size, so that a
        # burst waits for the CPU rather than 5 s for a connection and a 503.
        "ISSUES_DB_POOL_SIZE": "10",
        # Logs as in production: the development console renderer pretty-prints each unhandled
        # exception's locals with rich, which blocks a service's event loop for tens of seconds
        # on a loaded machine (seen once in issues: 36 s).
        "SWE_LOG_FORMAT": "json",
    }


@pytest.fixture(scope="session")
def fake_internet() -> Iterator[FakeInternet]:
    """GitHub and a model provider, faked for every stack the session starts."""
    fakes = FakeInternet().start()
    yield fakes
    fakes.stop()


@pytest.fixture(scope="session")
def stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fake_internet: FakeInternet,
) -> Iterator[Stack]:
    """The stack every journey and the load run share (started once per session)."""
    attached = os.environ.get("E2E_BASE_URL")
    if attached:
        _wait_until_routable(attached.rstrip("/"))
        yield Stack(
            base_url=attached.rstrip("/"),
            amqp_url=os.environ.get("E2E_AMQP_URL", AMQP_HOST + "/"),
            exchange=os.environ.get("E2E_EVENTS_EXCHANGE", "swe.events"),
        )
        return
    extra = {**load_ready_env(tmp_path_factory.mktemp("gateway-routes")), **fake_internet.env()}
    with isolated_stack(request, extra_env=extra) as started:
        yield started


@pytest.fixture(scope="session")
async def events(stack: Stack) -> AsyncIterator[EventLog]:
    """Every domain event of the session, captured from the start like a consumer would."""
    log = EventLog()
    connection = await listen(stack, log)
    yield log
    await connection.close()


@pytest.fixture
async def anonymous(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(stack) as client:
        yield client


@pytest.fixture
async def make_user(stack: Stack) -> AsyncIterator[object]:
    """Register and log in users through the gateway; their clients close afterwards."""
    made: list[User] = []

    async def make(prefix: str = "e2e") -> User:
        async with gateway_client(stack) as anonymous:
            user = await new_user(stack, anonymous, prefix)
        made.append(user)
        return user

    yield make
    for user in made:
        await user.http.aclose()


@pytest.fixture(scope="session")
def repo(tmp_path_factory: pytest.TempPathFactory) -> PlantedRepo:
    """One git repository for the session: defects on main, a pull-request branch."""
    return planted_repo(tmp_path_factory.mktemp("e2e-repo") / "demo-service")
