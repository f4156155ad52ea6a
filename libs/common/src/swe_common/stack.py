"""``make up`` / ``make down`` without Docker: every service as a native process.

``swe-stack up`` checks that PostgreSQL, RabbitMQ and Redis answer (and says how to start the
one that does not), creates the database if missing, runs every service's migrations, builds
what a service declares with ``build = "npm"`` (the web console: ``npm ci`` when
``node_modules`` is missing or older than ``package-lock.json``, ``npm run build`` when ``dist``
is missing or older than its sources), starts each process described by
``services/*/service.toml``, and waits until every ``/health/ready`` is green. State (pids,
logs) lives in ``.run/`` at the repository root (or in ``$SWE_RUN_DIR``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from swe_common.migrations import ensure_database, upgrade_head

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/swe"
DEFAULT_AMQP = ("127.0.0.1", 5672)
DEFAULT_REDIS = ("127.0.0.1", 6379)
# uvicorn's protocol with a response's writes sent as one (swe_common.http_server).
HTTP_PROTOCOL = "swe_common.http_server:ServiceHttpProtocol"
HOW_TO_START = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "RabbitMQ": "rabbitmq-server -detached",
    "Redis": (
        'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
        "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
    ),
}


@dataclass(frozen=True)
class Process:
    service: str
    name: str
    service_dir: Path
    app: str | None
    module: str | None
    port: int | None

    @property
    def ready_url(self) -> str | None:
        return f"http://127.0.0.1:{self.port}/health/ready" if self.port else None


@dataclass(frozen=True)
class Service:
    name: str
    directory: Path
    migrations: bool
    processes: list[Process]
    order: int
    build: str | None = None


def repo_root() -> Path:
    here = Path.cwd()
    for candidate in (here, *here.parents):
        if (candidate / "services").is_dir() and (candidate / "libs").is_dir():
            return candidate
    raise SystemExit("run this from inside the repository")


def discover(root: Path) -> list[Service]:
    services = []
    for path in sorted(root.glob("services/*/service.toml")):
        spec = tomllib.loads(path.read_text())
        processes = [
            Process(
                service=spec["name"],
                name=proc["name"],
                service_dir=path.parent,
                app=proc.get("app"),
                module=proc.get("module"),
                port=_port(proc),
            )
            for proc in spec.get("process", [])
        ]
        services.append(
            Service(
                spec["name"],
                path.parent,
                bool(spec.get("migrations")),
                processes,
                int(spec.get("order", 50)),
                spec.get("build"),
            )
        )
    return sorted(services, key=lambda s: (s.order, s.name))


def _port(proc: dict[str, object]) -> int | None:
    default = proc.get("port")
    if default is None:
        return None
    override = os.environ.get(f"{str(proc['name']).upper().replace('-', '_')}_PORT")
    return int(override) if override else int(str(default))


def _tcp_ok(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def check_dependencies(database_url: str) -> list[str]:
    problems = []
    url = make_url(database_url)
    dsn = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            pass
    except psycopg.Error as exc:
        problems.append(f"PostgreSQL at {url.host}:{url.port or 5432} is unreachable ({exc})")
    if not _tcp_ok(*DEFAULT_AMQP):
        problems.append("RabbitMQ at 127.0.0.1:5672 is unreachable")
    if not _tcp_ok(*DEFAULT_REDIS):
        problems.append("Redis at 127.0.0.1:6379 is unreachable")
    return problems


def _run_dir(root: Path) -> Path:
    # SWE_RUN_DIR lets a second stack (the end-to-end tests) keep its pids and logs apart.
    path = Path(os.environ.get("SWE_RUN_DIR") or root / ".run")
    (path / "logs").mkdir(parents=True, exist_ok=True)
    return path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    # A killed child that nobody reaped yet still answers kill(0): it is dead all the same.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _read_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _pid_alive(pid) else None


def _command(proc: Process) -> list[str]:
    if proc.app:
        return [
            sys.executable, "-m", "uvicorn", "--factory", proc.app,
            "--host", os.environ.get("SWE_BIND_HOST", "127.0.0.1"),
            "--port", str(proc.port), "--no-access-log", "--timeout-graceful-shutdown", "20",
            "--http", HTTP_PROTOCOL,
        ]  # fmt: skip
    if proc.module:
        return [sys.executable, "-m", proc.module]
    raise SystemExit(f"{proc.name}: service.toml names neither app nor module")


def start(proc: Process, run_dir: Path) -> int:
    pid_file = run_dir / f"{proc.name}.pid"
    running = _read_pid(pid_file)
    if running:
        print(f"  {proc.name}: already running (pid {running})")
        return running
    log_path = run_dir / "logs" / f"{proc.name}.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log_path.open("ab") as log_file:
        child = subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
            _command(proc),
            cwd=proc.service_dir,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    pid_file.write_text(str(child.pid))
    print(f"  {proc.name}: started (pid {child.pid}), log {log_path}")
    return child.pid


def wait_ready(procs: list[Process], run_dir: Path, timeout: float) -> list[Process]:
    pending = [p for p in procs if p.ready_url]
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for proc in list(pending):
            if _read_pid(run_dir / f"{proc.name}.pid") is None:
                continue  # died; reported below
            try:
                url = str(proc.ready_url)
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        pending.remove(proc)
            except (urllib.error.URLError, OSError):
                pass
        if pending and all(_read_pid(run_dir / f"{p.name}.pid") is None for p in pending):
            break
        time.sleep(0.3)
    return pending


# What an npm build reads: a change to any of them makes dist/ stale.
NPM_SOURCES = ("src", "public", "index.html", "package.json", "package-lock.json")
NPM_SOURCE_GLOBS = ("vite.config.*", "tsconfig*.json")


def _newest_mtime(paths: list[Path]) -> float:
    newest = 0.0
    for path in paths:
        if path.is_dir():
            newest = max([newest, *(f.stat().st_mtime for f in path.rglob("*") if f.is_file())])
        elif path.is_file():
            newest = max(newest, path.stat().st_mtime)
    return newest


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def npm_steps(directory: Path) -> list[list[str]]:
    """The npm commands that bring ``directory/dist`` up to date (none when it is fresh)."""
    steps: list[list[str]] = []
    lock = _mtime(directory / "package-lock.json")
    # npm ci rewrites node_modules/.package-lock.json: the time of the last install.
    installed = _mtime(directory / "node_modules" / ".package-lock.json")
    if installed is None or (lock is not None and installed < lock):
        steps.append(["npm", "ci", "--no-audit", "--no-fund"])
    sources = [directory / name for name in NPM_SOURCES]
    sources += [p for pattern in NPM_SOURCE_GLOBS for p in directory.glob(pattern)]
    # Vite writes index.html last: its time is the time of the last complete build.
    built = _mtime(directory / "dist" / "index.html")
    if steps or built is None or built < _newest_mtime(sources):
        steps.append(["npm", "run", "build"])
    return steps


def build_npm(service: Service) -> bool:
    """Build a ``build = "npm"`` service's output if it is missing or stale.

    False when the service cannot be started (no build and no way to make one); a stale build
    is still served, with a warning, when npm is missing.
    """
    directory = service.directory
    variable = f"{service.name.upper()}_DIST_DIR"
    if os.environ.get(variable):
        print(f"  {service.name}: serving {os.environ[variable]} ({variable}; not built here)")
        return True
    if not (directory / "package.json").is_file():
        print(f"  {service.name}: {directory}/package.json is missing; not started")
        return False
    steps = npm_steps(directory)
    if not steps:
        print(f"  {service.name}: build is up to date ({directory / 'dist'})")
        return True
    has_build = (directory / "dist" / "index.html").is_file()
    if shutil.which("npm") is None:
        problem = f"  {service.name}: npm is not installed, so the console cannot be built"
        hint = "install Node.js 20+ with npm (Debian: apt-get install nodejs npm)"
        if has_build:
            print(f"{problem}; serving the existing, stale build.\n    To rebuild: {hint}")
            return True
        print(f"{problem}.\n    {hint}, then run make up again.")
        return False
    for step in steps:
        print(f"  {service.name}: {' '.join(step)}")
        result = subprocess.run(step, cwd=directory, check=False)  # noqa: S603 - fixed argv
        if result.returncode != 0:
            print(f"  {service.name}: `{' '.join(step)}` failed (exit {result.returncode})")
            return False
    return True


def build_all(services: list[Service]) -> list[Service]:
    """Build every ``build = "npm"`` service that needs it; the ones that could not be."""
    builds = [service for service in services if service.build == "npm"]
    if builds:
        print("building:")
    return [service for service in builds if not build_npm(service)]


def build(_args: argparse.Namespace) -> int:
    return 1 if build_all(discover(repo_root())) else 0


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def up(args: argparse.Namespace) -> int:
    root = repo_root()
    database_url = os.environ.get("SWE_DATABASE_URL", DEFAULT_DATABASE_URL)
    problems = check_dependencies(database_url)
    if problems:
        print("Cannot start the platform:")
        for problem in problems:
            name = problem.split(" ", 1)[0]
            print(f"  - {problem}\n    start it with: {HOW_TO_START.get(name, '?')}")
        return 1
    if ensure_database(database_url):
        print(f"created database {make_url(database_url).database}")
    services = discover(root)
    for service in services:
        if service.migrations:
            print(f"migrating {service.name}")
            upgrade_head(service.directory, database_url)
    for service in build_all(services):
        if (service.directory / "package.json").is_file():
            return 1  # a console that exists but cannot be built is a failed start
        services.remove(service)  # not in this checkout (yet): the rest still starts
    run_dir = _run_dir(root)
    print("starting:")
    procs = [proc for service in services for proc in service.processes]
    # Start in `order` groups, each once the previous one is ready: the gateway (last) then
    # finds its upstreams healthy at its first check instead of answering 503 for a while.
    for order in sorted({service.order for service in services}):
        group = [p for s in services if s.order == order for p in s.processes]
        for proc in group:
            start(proc, run_dir)
        not_ready = wait_ready(group, run_dir, args.timeout)
        if not_ready:
            for proc in not_ready:
                print(f"\n{proc.name} is not ready; last log lines:")
                print(_tail(run_dir / "logs" / f"{proc.name}.log"))
            return 1
    print("\nThe platform is up:")
    for proc in procs:
        where = f"http://127.0.0.1:{proc.port}" if proc.port else "(worker)"
        print(f"  {proc.name:<16} {where}")
    print(f"Logs: {run_dir / 'logs'}/   Stop: make down")
    return 0


def down(_args: argparse.Namespace) -> int:
    run_dir = _run_dir(repo_root())
    pids = {f.stem: pid for f in run_dir.glob("*.pid") if (pid := _read_pid(f))}
    for name, pid in pids.items():
        print(f"stopping {name} (pid {pid})")
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 25
    while any(_pid_alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    for name, pid in pids.items():
        if _pid_alive(pid):
            print(f"killing {name} (pid {pid})")
            os.killpg(pid, signal.SIGKILL)
    for pid_file in run_dir.glob("*.pid"):
        pid_file.unlink()
    return 0


def status(_args: argparse.Namespace) -> int:
    root = repo_root()
    run_dir = _run_dir(root)
    for service in discover(root):
        for proc in service.processes:
            pid = _read_pid(run_dir / f"{proc.name}.pid")
            print(f"{proc.name:<16} {'running pid ' + str(pid) if pid else 'stopped'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="swe-stack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up_parser = sub.add_parser("up", help="start the platform and wait until it is ready")
    up_parser.add_argument("--timeout", type=float, default=90.0)
    up_parser.set_defaults(func=up)
    sub.add_parser(
        "build", help="build what services declare (the web console) if missing or stale"
    ).set_defaults(func=build)
    sub.add_parser("down", help="stop every process started by up").set_defaults(func=down)
    sub.add_parser("status", help="which processes are running").set_defaults(func=status)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
