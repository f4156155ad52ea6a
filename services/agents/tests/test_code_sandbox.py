"""The sandbox for repository code, attacked by code a hostile repository would run in its
tests: each attack is contained, the command ends with a clear reason, the worker (this test
process) lives on and is still able to run the next command."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from swe_agents import sandbox as sandbox_module
from swe_agents.sandbox import CodeSandbox, Limits, SandboxUnavailable, code_sandbox

SMALL = Limits(
    wall_seconds=20,
    cpu_seconds=10,
    processes=64,
    output_bytes=64 * 1024,
    disk_bytes=16 * 1024**2,
    file_bytes=4 * 1024**2,
    tmp_bytes=8 * 1024**2,
)


@pytest.fixture
def box() -> CodeSandbox:
    return code_sandbox(SMALL)


@pytest.fixture
def repo(tmp_path: Path, box: CodeSandbox) -> Path:
    path = tmp_path / "work" / "repo"
    path.mkdir(parents=True)
    (path / "test_x.py").write_text("def test_ok():\n    assert True\n")
    box.own(path)
    return path


def python(code: str) -> list[str]:
    return ["python", "-I", "-c", code]


async def test_tests_cannot_reach_the_platform_over_the_network(
    box: CodeSandbox, repo: Path
) -> None:
    code = """
import json, socket
seen = {}
for name, address in [("postgres", ("127.0.0.1", 5432)), ("rabbitmq", ("127.0.0.1", 5672)),
                      ("outside", ("1.1.1.1", 443))]:
    try:
        socket.create_connection(address, timeout=3).close()
        seen[name] = "connected"
    except OSError as exc:
        seen[name] = type(exc).__name__
print(json.dumps(seen))
"""
    result = await box.run(python(code), repo=repo)
    assert result.ok, result.output
    # Its own network namespace: the host's PostgreSQL and RabbitMQ (both listening on
    # 127.0.0.1 here) are not there, and there is no route out.
    assert json.loads(result.output) == {
        "postgres": "ConnectionRefusedError",
        "rabbitmq": "ConnectionRefusedError",
        "outside": "OSError",  # ENETUNREACH
    }


async def test_tests_write_only_inside_their_working_copy(
    box: CodeSandbox, repo: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    marker = f"/tmp/escaped-{uuid.uuid4().hex}"
    code = f"""
import json
seen = {{}}
for name, path in [("copy", "/repo/made.txt"), ("host", {str(outside)!r}),
                   ("system", "/usr/lib/evil"), ("tmp", {marker!r}),
                   ("parent", "/repo/../escaped")]:
    try:
        open(path, "w").write("x")
        seen[name] = "written"
    except OSError as exc:
        seen[name] = type(exc).__name__
print(json.dumps(seen))
"""
    result = await box.run(python(code), repo=repo)
    assert result.ok, result.output
    assert json.loads(result.output) == {
        "copy": "written",
        "host": "FileNotFoundError",  # the host's folders are not in its view
        "system": "OSError",  # EROFS
        "tmp": "written",  # its own /tmp, gone with it
        "parent": "OSError",  # EROFS: the sandbox's root
    }
    assert (repo / "made.txt").read_text() == "x"
    assert not outside.exists()
    assert not Path(marker).exists()
    assert not (repo.parent / "escaped").exists()


async def test_tests_cannot_read_the_workers_environment_or_files(
    box: CodeSandbox, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = f"sk-{uuid.uuid4().hex}"
    monkeypatch.setenv("AGENTS_LLM_API_KEY", secret)
    monkeypatch.setenv("AGENTS_DATABASE_URL", f"postgresql://u:{secret}@db/swe")
    host_file = tmp_path / "work" / "other-run-secret.txt"
    host_file.write_text(secret)
    code = f"""
import json, os
seen = {{"env": dict(os.environ)}}
for name, path in [("host_file", {str(host_file)!r}), ("worker_environ", "/proc/1/environ"),
                   ("shadow", "/etc/shadow"), ("root_home", "/root/.bash_history")]:
    try:
        seen[name] = open(path, "rb").read().decode(errors="replace")
    except OSError as exc:
        seen[name] = type(exc).__name__
seen["processes"] = sorted(p for p in os.listdir("/proc") if p.isdigit())
seen["uid"] = os.getuid()
print(json.dumps(seen))
"""
    result = await box.run(python(code), repo=repo)
    assert result.ok, result.output
    assert secret not in result.output
    seen = json.loads(result.output)
    assert "AGENTS_LLM_API_KEY" not in seen["env"] and "AGENTS_DATABASE_URL" not in seen["env"]
    assert seen["host_file"] == "FileNotFoundError"
    assert seen["shadow"] == "FileNotFoundError"
    assert seen["root_home"] == "FileNotFoundError"
    assert seen["uid"] == 65534
    # Its own PID namespace: only the sandbox's own few processes exist.
    assert len(seen["processes"]) <= 4
    assert str(os.getpid()) not in seen["worker_environ"]


def _processes_of(uid: int, marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid != uid:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                if marker.encode() in cmdline.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


async def test_a_fork_bomb_is_held_to_its_process_limit_and_killed_as_a_whole(
    box: CodeSandbox, repo: Path
) -> None:
    marker = f"bomb-{uuid.uuid4().hex[:8]}"
    code = f"""
import os, time
# {marker}
while True:
    try:
        os.fork()
    except OSError:
        time.sleep(0.01)
"""
    limits = Limits(wall_seconds=4, cpu_seconds=30, processes=32, output_bytes=64 * 1024)
    result = await box.run(python(code), repo=repo, limits=limits)
    assert result.limit == "timeout"
    assert result.seconds < 15
    # Every process of the bomb went with it.
    assert _processes_of(65534, marker) == []
    after = await box.run(python("print('still working')"), repo=repo)
    assert after.ok and after.output == "still working\n"


async def test_repository_code_runs_below_the_workers_priority_and_cannot_raise_it(
    box: CodeSandbox, repo: Path
) -> None:
    code = """
import os
print(os.nice(0))
try:
    os.nice(-5)
    print("raised")
except PermissionError:
    print("refused")
"""
    result = await box.run(python(code), repo=repo)
    assert result.ok
    assert result.output.split() == [str(os.nice(0) + 10), "refused"]


async def test_filling_the_disk_is_stopped(box: CodeSandbox, repo: Path) -> None:
    code = """
import os
chunk = b"x" * (1024 * 1024)
i = 0
while True:
    with open(f"/repo/fill-{i}.bin", "wb") as out:
        out.write(chunk)
    i += 1
"""
    result = await box.run(python(code), repo=repo)
    assert result.limit == "disk_limit"
    size = sum(p.stat().st_size for p in repo.glob("fill-*.bin"))
    # Stopped near its allowance (16 MiB), long before the disk.
    assert 16 * 1024**2 <= size < 200 * 1024**2


async def test_a_command_that_writes_little_is_not_walked_at_every_poll(
    box: CodeSandbox, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A working copy's walk costs per file: an analysis's four tools each watched at every
    # 50 ms poll took several CPU seconds of the worker. Its filesystem's count of used bytes
    # (one statvfs) says when a walk is worth it; at least one a second still happens.
    walks = 0
    usage = sandbox_module._usage

    def counted(paths: list[Path]) -> int:
        nonlocal walks
        walks += 1
        return usage(paths)

    monkeypatch.setattr(sandbox_module, "_usage", counted)
    result = await box.run(python("import time; time.sleep(2.5)"), repo=repo)
    assert result.returncode == 0 and result.limit is None
    # The baseline and one walk a second, not one every 50 ms (about 50).
    assert 2 <= walks <= 5


async def test_one_huge_file_and_a_full_tmp_fail_inside_the_sandbox(
    box: CodeSandbox, repo: Path
) -> None:
    code = """
import json
seen = {}
for name, paths in [("big_file", ["/repo/big.bin"]), ("tmp", [f"/tmp/{i}" for i in range(8)])]:
    try:
        for path in paths:
            with open(path, "wb") as out:
                for _ in range(64 if name == "big_file" else 3):
                    out.write(b"x" * (1024 * 1024))
        seen[name] = "written"
    except OSError as exc:
        seen[name] = exc.strerror
print(json.dumps(seen))
"""
    result = await box.run(python(code), repo=repo)
    assert result.ok, result.output
    assert json.loads(result.output) == {
        "big_file": "File too large",  # RLIMIT_FSIZE: 4 MiB a file
        "tmp": "No space left on device",  # /tmp is an 8 MiB tmpfs
    }


async def test_printing_gigabytes_is_cut_at_the_output_limit(box: CodeSandbox, repo: Path) -> None:
    code = """
import sys
line = "y" * 1023 + "\\n"
for _ in range(4 * 1024 * 1024):  # 4 GiB
    sys.stdout.write(line)
"""
    result = await box.run(python(code), repo=repo)
    assert result.limit == "output_limit"
    assert len(result.output) <= 64 * 1024
    assert result.seconds < 15


async def test_a_command_past_its_wall_clock_is_killed(box: CodeSandbox, repo: Path) -> None:
    result = await box.run(
        python("import time; time.sleep(60)"), repo=repo, limits=Limits(wall_seconds=1)
    )
    assert result.limit == "timeout"
    assert result.seconds < 10


@pytest.fixture
def no_bwrap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    sandbox_module._code_sandbox.cache_clear()
    monkeypatch.setattr(sandbox_module, "_TOOL_PATH", str(tmp_path))
    yield
    sandbox_module._code_sandbox.cache_clear()


def test_without_bubblewrap_there_is_no_sandbox_and_no_fallback(no_bwrap: None) -> None:
    with pytest.raises(SandboxUnavailable) as refused:
        code_sandbox()
    assert "bwrap" in str(refused.value)


async def test_a_worker_whose_python_lives_under_tmp_still_runs_code(
    box: CodeSandbox, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkout under /tmp (its venv there, in a 0700 folder) is bound over the sandbox's
    own /tmp instead of being hidden by it: the sandbox could not start the worker's Python."""
    venv = tmp_path / "checkout" / ".venv"
    venv.mkdir(parents=True)
    (venv / "marker").write_text("the worker's venv\n")
    real = sandbox_module.python_dirs()
    monkeypatch.setattr(sandbox_module, "python_dirs", lambda: [*real, venv])

    result = await box.run(["cat", str(venv / "marker")], repo=repo)

    assert result.ok, result.output
    assert result.output == "the worker's venv\n"
