"""What the fault tests need to break things without touching anyone else's servers.

The machine's PostgreSQL, RabbitMQ and Redis are shared with other test suites, so a fault
test never stops, restarts or pauses them. Instead:

* ``PrivateRedis``: a ``redis-server`` of our own on a free port (stop = terminate it; start =
  a new process on the same port).
* ``PrivateRabbit``: a second RabbitMQ node of our own (own node name, ports, Erlang cookie,
  mnesia and log directories); stopped and started with ``rabbitmqctl stop_app/start_app``,
  so its durable queues and their messages survive the outage like a real broker restart.
* ``TcpProxy``: a TCP proxy (its own thread and event loop) between one service and the
  shared PostgreSQL; ``cut()`` closes its listener and every connection through it.
* process helpers: SIGKILL one process of the stack by its pid file and start it again with
  ``swe_common.stack.start`` (what ``swe-stack up`` does for a process that is not running).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from e2e_support import Stack

from swe_common.testing import free_port

ROOT = Path(__file__).resolve().parents[1]
RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_until(condition, timeout: float, what: str, interval: float = 0.2) -> None:
    """Poll a synchronous condition until it holds, or fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(interval)  # a polling interval, bounded by the deadline


# -- Redis -----------------------------------------------------------------------------------


class PrivateRedis:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def start(self) -> None:
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        wait_until(lambda: port_open(self.port), 15, f"private Redis on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
        wait_until(lambda: not port_open(self.port), 10, "private Redis stopping")


# -- RabbitMQ --------------------------------------------------------------------------------


class PrivateRabbit:
    """A RabbitMQ node of our own. The distribution's ``rabbitmq-server`` wrapper switches to
    the ``rabbitmq`` user (whose cookie we must not use), so the scripts under
    ``/usr/lib/rabbitmq/bin`` are run directly with a HOME holding a cookie of our own."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"e2e{secrets.token_hex(4)}@localhost"
        self.process: subprocess.Popen[bytes] | None = None
        home = directory / "home"
        home.mkdir(parents=True, exist_ok=True)
        cookie = home / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(16).upper())
        cookie.chmod(0o400)
        (directory / "enabled_plugins").write_text("[].\n")
        self.env = {
            **os.environ,
            "HOME": str(home),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(directory / "mnesia"),
            "RABBITMQ_LOG_BASE": str(directory / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(directory / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(directory / "rabbitmq"),  # absent: defaults
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(directory / "advanced.config"),
            "RABBITMQ_PID_FILE": str(directory / "rabbitmq.pid"),
        }

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @staticmethod
    def available() -> bool:
        return (RABBIT_BIN / "rabbitmq-server").exists() and (RABBIT_BIN / "rabbitmqctl").exists()

    def start(self) -> None:
        log = (self.directory / "server.log").open("ab")
        self.process = subprocess.Popen(
            [str(RABBIT_BIN / "rabbitmq-server")],
            cwd=self.directory,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        wait_until(self.answers, 90, f"private RabbitMQ node {self.node}", interval=0.5)

    def answers(self) -> bool:
        """The node accepts AMQP connections (it answers the protocol header)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(b"AMQP\x00\x00\x09\x01")
                s.settimeout(5)
                return s.recv(1)[:1] == b"\x01"  # a method frame: Connection.Start
        except OSError:
            return False

    def ctl(self, *args: str, timeout: float = 60) -> str:
        result = subprocess.run(
            [str(RABBIT_BIN / "rabbitmqctl"), "-n", self.node, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, f"rabbitmqctl {' '.join(args)}: {result.stderr[-2000:]}"
        return result.stdout

    def stop_app(self) -> None:
        """The broker goes away for every client (listener closed, connections dropped)."""
        self.ctl("stop_app")
        wait_until(lambda: not port_open(self.port), 15, "private RabbitMQ closing its port")

    def start_app(self) -> None:
        self.ctl("start_app")
        wait_until(self.answers, 60, "private RabbitMQ accepting AMQP again", interval=0.3)

    def destroy(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(Exception):
            self.ctl("stop", timeout=30)
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.process = None


# -- a TCP proxy we can cut ------------------------------------------------------------------


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; ``cut()`` closes the listener and every
    connection through it (a network partition from the client's side), ``restore()`` listens
    again on the same port. Runs its own event loop in a thread, so it keeps forwarding while
    the test process blocks (for instance in ``swe-stack up``)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.base_events.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.connections = 0

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def start(self) -> None:
        self.thread.start()
        self.restore()

    def restore(self) -> None:
        self._call(self._listen())

    def cut(self) -> None:
        self._call(self._cut())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._call(self._cut())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    async def _listen(self) -> None:
        if self.server is None:
            self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def _cut(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for writer in list(self.writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self.writers.clear()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        self.writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers.discard(writer)
        self.writers.discard(up_writer)


# -- processes of the stack ------------------------------------------------------------------


def pid_of(stack: Stack, name: str) -> int:
    assert stack.run_dir is not None
    pid = int((stack.run_dir / f"{name}.pid").read_text().strip())
    os.kill(pid, 0)  # raises when it is not running
    return pid


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    # A killed child of ours that nobody reaped yet is a zombie: dead for our purposes.
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    return True


def kill(stack: Stack, name: str, sig: signal.Signals = signal.SIGKILL) -> int:
    """Send ``sig`` to the process ``name`` of the stack; wait until it is gone."""
    pid = pid_of(stack, name)
    os.kill(pid, sig)
    wait_until(lambda: not alive(pid), 30, f"{name} (pid {pid}) exiting")
    # Forget it, as a supervisor would: PID 1 on these machines may leave the dead process a
    # zombie for a while, which ``swe_common.stack`` would take for "already running".
    assert stack.run_dir is not None
    (stack.run_dir / f"{name}.pid").unlink(missing_ok=True)
    return pid


START_ONE = """
import sys
from swe_common import stack
root = stack.repo_root()
procs = {p.name: p for s in stack.discover(root) for p in s.processes}
stack.start(procs[sys.argv[1]], stack._run_dir(root))
"""


def start(stack: Stack, name: str, **overrides: str) -> int:
    """Start the process ``name`` again with the stack's environment (plus ``overrides``),
    the way ``swe-stack up`` starts a process that is not running; returns its pid."""
    assert stack.env is not None
    result = subprocess.run(
        [sys.executable, "-c", START_ONE, name],
        cwd=ROOT,
        env={**stack.env, **overrides},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"starting {name}: {result.stdout}\n{result.stderr}"
    return pid_of(stack, name)


def log_tail(stack: Stack, name: str, lines: int = 40) -> str:
    assert stack.run_dir is not None
    try:
        text = (stack.run_dir / "logs" / f"{name}.log").read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])
