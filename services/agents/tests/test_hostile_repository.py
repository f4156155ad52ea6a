"""A repository whose names and links attack the tools: names that look like options (``-o``,
``-f<host file>``, ``--version``), a newline in a name, links to ``/etc`` and to a host file,
and tool configuration files that set an output file. Run through the real queue, worker and
tools: nothing outside the run's own folder is read or written, and the normal files still get
their findings."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from swe_common.testing import TokenFactory

from .conftest import wait_run
from .gitrepo import DEFECTS_PY, LINE_EVAL, LINE_UNUSED_IMPORT, git

pytestmark = pytest.mark.usefixtures("worker")

NEWLINE_NAME = "new\nline.py"
QUOTED_NAME = 'say "hi".py'
ESCAPE_NAME = "esc\x1b[31m.py"  # a terminal escape sequence in a name
INVALID_UTF8_NAME = "bad\udcff.py"  # the byte 0xff: no UTF-8 name, skipped
NORMAL_FILES: dict[str, str] = {}
BRANCHY_JS = (
    "function tangled(a, b, c) {\n"
    "  if (a) { if (b) { return 1; } else if (c) { return 2; } }\n"
    "  for (let i = 0; i < a; i++) { if ((i && b) || c) { continue; } while (c) { c--; } }\n"
    "  switch (a) { case 1: return 3; case 2: return 4; case 3: return 5; case 4: return 6; }\n"
    "  return 0;\n"
    "}\n"
)

NORMAL_FILES.update({"app/defects.py": DEFECTS_PY, "web/tangled.js": BRANCHY_JS})


@dataclass
class Hostile:
    """The attacking repository's files, and what on the host it aims at."""

    sentinel: str
    host: Path  # host files the repository points at (must never be read)
    targets: list[Path]  # paths the repository tries to have a tool write (must never exist)
    files: dict[str, str]  # repository path -> content
    links: dict[str, str]  # repository path -> link target

    def plant(self, repo: Path, names: bool = True, links: bool = True) -> None:
        for name, content in self.files.items():
            if names or name in NORMAL_FILES:
                (repo / name).parent.mkdir(parents=True, exist_ok=True)
                (repo / name).write_text(content)
        for name, target in self.links.items() if links else ():
            os.symlink(target, repo / name)


def hostile_entries(base: Path) -> Hostile:
    sentinel = f"SENTINEL_{uuid.uuid4().hex}"
    host, outside = base / "host", base / "outside"
    host.mkdir(parents=True)
    outside.mkdir()
    (host / "secret.py").write_text(f'TOKEN = "{sentinel}"\neval(TOKEN)\n')
    (host / "secret.js").write_text(f"function {sentinel}(a) {{ return a; }}\n")
    # What `lizard -f<list>` would read: a host list naming a host source file.
    (host / "list.js").write_text(f"{host / 'secret.js'}\n")
    targets = [outside / "lizard-report.js", outside / "ruff-report.py", outside / "radon.txt"]
    radon_out = targets[2]
    files = {
        # lizard -o<path> / ruff -o<path>: a folder named "-o" holding the target's path.
        f"-o{targets[0]}": BRANCHY_JS,
        f"-o{targets[1]}": "import os\n",
        # lizard -f<file>: read the list of files to analyze from a host file.
        f"-f{host / 'list.js'}": BRANCHY_JS,
        "--version.py": "import os\n",
        NEWLINE_NAME: "import sys\n",
        QUOTED_NAME: "import json\n",
        ESCAPE_NAME: "import re\n",
        INVALID_UTF8_NAME: 'import os\nPASSWORD = "hunter2-very-secret"\n',
        # radon reads its options from the cwd's configuration files.
        "setup.cfg": f"[radon]\noutput_file = {radon_out}\n",
        "radon.cfg": f"[radon]\noutput_file = {radon_out}\n",
        "pyproject.toml": f'[tool.radon]\noutput_file = "{radon_out}"\n',
        ".radon.cfg": f"[radon]\noutput_file = {radon_out}\n",
        **NORMAL_FILES,
    }
    links = {
        "etc": "/etc",
        "passwd.py": "/etc/passwd",
        "leak.py": str(host / "secret.py"),
        "leak.js": str(host / "secret.js"),
        "hostdir": str(host),
        "up.py": "../../../../../../../../etc/hostname",
    }
    return Hostile(sentinel, host, targets, files, links)


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", message)


@pytest.fixture
async def owner(tokens: TokenFactory) -> tuple[uuid.UUID, dict[str, str]]:
    user = uuid.uuid4()
    return user, tokens.headers(user)


async def start_run(
    client: Any, projects: Any, owner: tuple[uuid.UUID, dict[str, str]], repo: Path, **kw: Any
) -> dict[str, Any]:
    user, headers = owner
    project = await projects.create(user, f"file://{repo}")
    body = {
        "project_id": str(project),
        "name": f"a-{uuid.uuid4().hex[:6]}",
        "type": kw.pop("type"),
        "config": kw.pop("config", {}),
    }
    agent = await client.post("/api/v1/agents", json=body, headers=headers)
    assert agent.status_code == 201, agent.text
    started = await client.post(
        f"/api/v1/agents/{agent.json()['id']}/start", json=kw, headers=headers
    )
    assert started.status_code == 202, started.text
    done = await wait_run(client, headers, started.json()["id"], "completed", "failed", timeout=120)
    logs = await client.get(f"/api/v1/agents/runs/{done['id']}/logs", headers=headers)
    done["logs"] = logs.json()["items"]
    return done


def assert_contained(hostile: Hostile, done: dict[str, Any]) -> None:
    """Nothing the repository pointed at was read into the run, nothing was written for it."""
    assert done["status"] == "completed", done.get("error")
    everything = json.dumps(done)
    assert hostile.sentinel not in everything
    assert [target for target in hostile.targets if target.exists()] == []
    assert sorted(p.name for p in hostile.host.iterdir()) == ["list.js", "secret.js", "secret.py"]


def hostile_repo(base: Path, names: bool, links: bool) -> tuple[Path, Hostile]:
    hostile = hostile_entries(base)
    repo = base / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch", "main")
    hostile.plant(repo, names=names, links=links)
    commit_all(repo, "hostile")
    return repo, hostile


async def analyze(client: Any, tokens: TokenFactory, projects: Any, repo: Path) -> dict[str, Any]:
    user = uuid.uuid4()
    return await start_run(
        client, projects, (user, tokens.headers(user)), repo, type="code_analyzer"
    )


@pytest.fixture(scope="module")
def named_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Hostile]:
    """Option-like and odd names, and tool configuration files; no links."""
    return hostile_repo(tmp_path_factory.mktemp("named"), names=True, links=False)


@pytest.fixture(scope="module")
def linked_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Hostile]:
    """Links to /etc, to host files and folders, and up out of the tree; normal files."""
    return hostile_repo(tmp_path_factory.mktemp("linked"), names=False, links=True)


@pytest.fixture(scope="module")
async def analysis(
    client: Any, tokens: TokenFactory, projects: Any, named_repo: tuple[Path, Hostile]
) -> dict[str, Any]:
    return await analyze(client, tokens, projects, named_repo[0])


@pytest.fixture(scope="module")
async def linked_analysis(
    client: Any, tokens: TokenFactory, projects: Any, linked_repo: tuple[Path, Hostile]
) -> dict[str, Any]:
    return await analyze(client, tokens, projects, linked_repo[0])


def paths_of(findings: list[dict[str, Any]], tool: str) -> set[str]:
    return {f["path"] for f in findings if f["tool"] == tool}


def test_option_like_names_and_tool_configs_make_no_tool_read_or_write_outside_the_run(
    analysis: dict[str, Any], named_repo: tuple[Path, Hostile]
) -> None:
    assert_contained(named_repo[1], analysis)


def test_option_like_names_are_analysed_as_paths_by_every_tool(
    analysis: dict[str, Any], named_repo: tuple[Path, Hostile]
) -> None:
    _, hostile = named_repo
    findings = analysis["result"]["findings"]
    dash_o_py = next(name for name in hostile.files if name.startswith("-o") and name[-3:] == ".py")
    assert {"--version.py", dash_o_py} <= paths_of(findings, "ruff")
    functions = {(f["path"], f["function"]) for f in analysis["result"]["worst_functions"]}
    dash_o_js = next(name for name in hostile.files if name.startswith("-o") and name[-3:] == ".js")
    dash_f_js = next(name for name in hostile.files if name.startswith("-f"))
    assert {(dash_o_js, "tangled"), (dash_f_js, "tangled")} <= functions


def test_names_with_a_newline_a_quote_or_an_escape_are_analysed_under_their_real_name(
    analysis: dict[str, Any],
) -> None:
    ruff_paths = paths_of(analysis["result"]["findings"], "ruff")
    assert {NEWLINE_NAME, QUOTED_NAME, ESCAPE_NAME} <= ruff_paths


def test_a_name_that_is_not_utf8_is_skipped_not_guessed_at(analysis: dict[str, Any]) -> None:
    paths = {f["path"] for f in analysis["result"]["findings"]}
    assert not [p for p in paths if p.startswith("bad")]


@pytest.mark.parametrize("which", ["analysis", "linked_analysis"])
def test_the_normal_files_of_a_hostile_repository_get_their_findings(
    which: str, request: pytest.FixtureRequest
) -> None:
    analysis = request.getfixturevalue(which)
    findings = analysis["result"]["findings"]
    at = {(f["tool"], f["rule"], f["path"], f["line"]) for f in findings}
    assert ("ruff", "F401", "app/defects.py", LINE_UNUSED_IMPORT) in at
    assert ("bandit", "B307", "app/defects.py", LINE_EVAL) in at
    assert ("lizard", "CCN", "web/tangled.js", 1) in at
    worst = analysis["result"]["maintainability"]["worst_files"]
    assert "app/defects.py" in {path for path, _ in worst}


def test_links_out_of_the_checkout_make_nothing_read_outside_the_run(
    linked_analysis: dict[str, Any], linked_repo: tuple[Path, Hostile]
) -> None:
    assert_contained(linked_repo[1], linked_analysis)


def test_links_in_a_repository_are_never_followed(linked_analysis: dict[str, Any]) -> None:
    analysis = linked_analysis
    every_path = {f["path"] for f in analysis["result"]["findings"]} | {
        f["path"] for f in analysis["result"]["worst_functions"]
    }
    assert not every_path & {"leak.py", "leak.js", "passwd.py", "up.py"}
    assert not any(p.startswith(("etc/", "hostdir/")) for p in every_path)


async def test_a_review_of_a_pull_request_adding_hostile_entries_stays_in_its_run(
    client: Any,
    projects: Any,
    owner: tuple[uuid.UUID, dict[str, str]],
    tmp_path: Path,
) -> None:
    hostile = hostile_entries(tmp_path)
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch", "main")
    (repo / "README.md").write_text("# base\n")
    commit_all(repo, "base")
    git(repo, "checkout", "--quiet", "-b", "feature")
    hostile.plant(repo)
    commit_all(repo, "hostile")
    pr = {"id": str(uuid.uuid4()), "base_ref": "main", "head_ref": "feature"}
    done = await start_run(
        client,
        projects,
        owner,
        repo,
        type="pr_reviewer",
        config={"level": "thorough"},
        pull_request=pr,
    )
    assert_contained(hostile, done)
    commented = {(c["tool"], c["path"]) for c in done["result"]["comments"]}
    odd_names = {"--version.py", NEWLINE_NAME, QUOTED_NAME, ESCAPE_NAME}
    assert {("ruff", name) for name in odd_names} <= commented
    assert not [path for _, path in commented if path.startswith("bad")]
    assert ("bandit", "app/defects.py") in commented
    assert not {path for _, path in commented} & {"leak.py", "leak.js", "passwd.py", "up.py"}


async def test_without_the_sandbox_as_in_the_images_names_and_configs_still_stay_data(
    named_repo: tuple[Path, Hostile], tmp_path: Path
) -> None:
    """The images' worker (uid 10001) runs the tools with no bubblewrap: ``--``, the scratch
    cwd and the unpacking rules alone must hold."""
    from swe_agents.runners import code_analyzer
    from swe_agents.runners.context import RunContext
    from swe_agents.settings import Settings

    repo, hostile = named_repo
    settings = Settings(
        allow_file_repositories=True,
        checkout_cache_dir=str(tmp_path / "cache"),
        tool_sandbox="none",
    )
    lines: list[str] = []

    async def log(message: str, _fields: dict[str, Any]) -> None:
        lines.append(message)

    ctx = RunContext(
        settings=settings,
        run_id="unsandboxed",
        agent_type="code_analyzer",
        config={},
        trigger={"kind": "api"},
        repository_url=f"file://{repo}",
        default_branch="main",
        log=log,
    )
    assert ctx.sandbox().bwrap is None
    result = await code_analyzer.run(ctx)
    assert_contained(hostile, {"status": "completed", "result": result, "logs": lines})
    dash_o_js = next(name for name in hostile.files if name.startswith("-o") and name[-3:] == ".js")
    assert dash_o_js in {f["path"] for f in result["worst_functions"]}
