"""The analysis tools' sandbox: real bubblewrap around a real process."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from swe_agents.analysis import tools
from swe_agents.analysis.tools import Sandbox, SandboxUnavailable, choose_sandbox, run_tool

# Run inside the sandbox: who it is, and what it can reach.
PROBE = """
import json, os, socket, sys
host, tree, scratch = sys.argv[1:4]
def attempt(action):
    try:
        action()
        return "ok"
    except OSError as exc:
        return type(exc).__name__
def connect():
    socket.create_connection(("127.0.0.1", 5432), timeout=5).close()
print(json.dumps({
    "uid": os.getuid(),
    "read_host": attempt(lambda: open(host).read()),
    "read_tree": attempt(lambda: open(os.path.join(tree, "a.py")).read()),
    "write_tree": attempt(lambda: open(os.path.join(tree, "new.py"), "w").close()),
    "write_scratch": attempt(lambda: open(os.path.join(scratch, "out"), "w").close()),
    "write_tmp": attempt(lambda: open("/tmp/escaped", "w").close()),
    "network": attempt(connect),
}))
"""


@pytest.fixture
def fresh_choice() -> Iterator[None]:
    tools._choose_sandbox.cache_clear()
    yield
    tools._choose_sandbox.cache_clear()


async def test_sandboxed_tools_run_as_nobody_with_no_network_and_see_only_their_run(
    tmp_path: Path, fresh_choice: None
) -> None:
    host = tmp_path / "host-secret.txt"
    host.write_text("SENTINEL")
    tree, scratch = tmp_path / "tree", tmp_path / "scratch"
    tree.mkdir()
    scratch.mkdir()
    (tree / "a.py").write_text("x = 1\n")
    sandbox = choose_sandbox("bwrap", production=True)
    argv = [sys.executable, "-I", "-c", PROBE, str(host), str(tree), str(scratch)]
    command = sandbox.command(argv, readable=[tree], scratch=scratch)
    result = await run_tool(command, cwd=scratch, limit=60)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen == {
        "uid": 65534,
        "read_host": "FileNotFoundError",
        "read_tree": "ok",
        "write_tree": "OSError",  # EROFS: the checkout is bound read-only
        "write_scratch": "ok",
        "write_tmp": "OSError",  # EROFS: nothing else is writable
        # Its own network namespace: the host's PostgreSQL on 127.0.0.1:5432 is not there.
        "network": "ConnectionRefusedError",
    }
    assert not (tree / "new.py").exists()
    assert (scratch / "out").exists()


def _without_bwrap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, uid: int) -> None:
    monkeypatch.setattr(tools, "_SAFE_PATH", str(tmp_path))  # a PATH with no bwrap on it
    monkeypatch.setattr(os, "geteuid", lambda: uid)


def test_a_root_worker_without_bubblewrap_refuses_to_run_tools_in_production(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh_choice: None
) -> None:
    _without_bwrap(monkeypatch, tmp_path, uid=0)
    with pytest.raises(SandboxUnavailable) as refused:
        choose_sandbox("auto", production=True)
    assert "bwrap is not installed" in str(refused.value)
    assert "bubblewrap" in str(refused.value)


def test_a_root_development_worker_without_bubblewrap_says_its_tools_run_unconfined(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh_choice: None
) -> None:
    _without_bwrap(monkeypatch, tmp_path, uid=0)
    sandbox = choose_sandbox("auto", production=False)
    assert sandbox.bwrap is None
    assert sandbox.warning and "bubblewrap" in sandbox.warning


def test_an_unprivileged_worker_runs_tools_as_itself(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh_choice: None
) -> None:
    _without_bwrap(monkeypatch, tmp_path, uid=10001)
    assert choose_sandbox("auto", production=True) == Sandbox()


def test_asking_for_bubblewrap_where_it_is_missing_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fresh_choice: None
) -> None:
    _without_bwrap(monkeypatch, tmp_path, uid=10001)
    with pytest.raises(SandboxUnavailable):
        choose_sandbox("bwrap", production=False)


# Run inside the sandbox as an unprivileged process (no capability bypasses permissions).
SEAL_PROBE = """
import json, os, sys
from pathlib import Path
from swe_agents.analysis.checkout import remove_tree, seal
work = Path(sys.argv[1])
tree = work / "tree"
(tree / "pkg").mkdir(parents=True)
(tree / "pkg" / "a.py").write_text("x = 1\\n")
seal(tree)
outcome = {"read": (tree / "pkg" / "a.py").read_text()}
for label, action in [
    ("change", lambda: (tree / "pkg" / "a.py").write_text("y = 2\\n")),
    ("add", lambda: (tree / "pkg" / "b.py").write_text("")),
    ("delete", lambda: (tree / "pkg" / "a.py").unlink()),
]:
    try:
        action()
        outcome[label] = "done"
    except PermissionError:
        outcome[label] = "refused"
remove_tree(tree)
outcome["removed"] = not tree.exists()
print(json.dumps(outcome))
"""


async def test_a_sealed_checkout_is_read_only_to_its_owner_and_still_removed(
    tmp_path: Path, fresh_choice: None
) -> None:
    import swe_agents
    import swe_common

    sources = [Path(m.__file__).parents[1] for m in (swe_agents, swe_common)]  # type: ignore[arg-type]
    work = tmp_path / "work"
    work.mkdir()
    sandbox = choose_sandbox("bwrap", production=True)
    command = sandbox.command(
        [sys.executable, "-I", "-c", SEAL_PROBE, str(work)], readable=sources, scratch=work
    )
    result = await run_tool(command, cwd=work, limit=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "read": "x = 1\n",
        "change": "refused",
        "add": "refused",
        "delete": "refused",
        "removed": True,
    }
