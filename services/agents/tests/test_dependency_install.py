"""The dependency install step and the test runtime, in the real bubblewrap sandbox.

* Off by default: only the worker's wheel cache (no index, no network).
* With a package index configured, the sandbox reaches that index through the worker's egress
  proxy and nothing else: a requirements file naming another index gets a refusal.
* The repository's tests run with the test runtime's Python (a venv of its own), not the
  worker's.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from swe_agents.resolver.install import install
from swe_agents.resolver.testrun import run_tests
from swe_agents.runners import issue_resolver
from swe_agents.runners.context import RunContext, RunFailure
from swe_agents.sandbox import CodeSandbox, Limits, code_sandbox
from swe_agents.settings import Settings
from swe_common.testing import served

from .gitrepo import make_repo

LIMITS = Limits(wall_seconds=120, cpu_seconds=60, processes=128, output_bytes=256 * 1024)
WHEEL = "swe_demo_dep-1.0-py3-none-any.whl"
USES_IT = "import swe_demo_dep\n\n\ndef test_value():\n    assert swe_demo_dep.VALUE == 42\n"


def make_wheel(folder: Path) -> Path:
    """A real wheel (METADATA, WHEEL, RECORD with hashes) of a one-module package."""
    files = {
        "swe_demo_dep/__init__.py": b"VALUE = 42\n",
        "swe_demo_dep-1.0.dist-info/METADATA": (
            b"Metadata-Version: 2.1\nName: swe-demo-dep\nVersion: 1.0\n"
        ),
        "swe_demo_dep-1.0.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append("swe_demo_dep-1.0.dist-info/RECORD,,")
    files["swe_demo_dep-1.0.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / WHEEL
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A test runtime as the worker image has one: a venv of its own with pip (the base
    Python's bundled one) and pytest, the version the workspace locks (from uv's cache when
    it holds the index's answer; a fresh machine's cache holds only the locked wheels, which
    `uv pip` cannot find offline, so it may ask the index)."""
    uv = shutil.which("uv") or shutil.which("uv", path=os.path.expanduser("~/.local/bin"))
    if uv is None:
        pytest.fail("uv is not on PATH (it installs pytest into the test runtime here)")
    path = tmp_path_factory.mktemp("runtimes") / "test-runtime"
    base = Path(sys.base_prefix) / "bin" / "python3"
    subprocess.run([str(base), "-m", "venv", str(path)], check=True)
    python = str(path / "bin" / "python")
    pinned = f"pytest=={importlib.metadata.version('pytest')}"
    subprocess.run([uv, "pip", "install", "--quiet", "--python", python, pinned], check=True)
    return path


@pytest.fixture
def box(runtime: Path) -> CodeSandbox:
    return code_sandbox(LIMITS, runtime)


@pytest.fixture
def repo(tmp_path: Path, box: CodeSandbox) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    (path / "requirements.txt").write_text("swe-demo-dep==1.0\n")
    (path / "test_uses_dep.py").write_text(USES_IT)
    box.own(path)
    return path


def settings(**values: object) -> Settings:
    return Settings(**values)  # type: ignore[arg-type]


async def test_without_an_index_only_the_workers_wheel_cache_is_used(
    box: CodeSandbox, repo: Path, tmp_path: Path
) -> None:
    wheels = tmp_path / "wheels"
    make_wheel(wheels)
    done = await install(
        box, settings(install_wheel_dir=str(wheels)), repo, tmp_path / "deps", "requirements.txt"
    )
    assert done.ran and done.ok, done.output
    assert (tmp_path / "deps" / "swe_demo_dep" / "__init__.py").is_file()
    tests = await run_tests(box, repo, ["test_uses_dep.py"], done.deps)
    assert tests.passed == {"test_uses_dep.py::test_value"}, tests.tail
    # Without the installed folder the same test cannot import it: the install did the work.
    bare = await run_tests(box, repo, ["test_uses_dep.py"])
    assert not bare.passed


async def test_a_package_the_cache_lacks_fails_the_install_without_reaching_out(
    box: CodeSandbox, repo: Path, tmp_path: Path
) -> None:
    wheels = tmp_path / "wheels"
    make_wheel(wheels)
    (repo / "requirements.txt").write_text("requests==2.31.0\n")
    done = await install(
        box, settings(install_wheel_dir=str(wheels)), repo, tmp_path / "deps", "requirements.txt"
    )
    assert done.ran and not done.ok
    assert "No matching distribution found for requests==2.31.0" in done.output


async def test_with_nothing_configured_the_step_is_skipped_saying_why(
    box: CodeSandbox, repo: Path, tmp_path: Path
) -> None:
    done = await install(box, settings(), repo, tmp_path / "deps", "requirements.txt")
    assert not done.ran and "AGENTS_INSTALL_INDEX_URL" in done.reason


def simple_index(wheel: Path) -> web.Application:
    """A PEP 503 simple index serving one wheel, as a private index would."""

    async def project(request: web.Request) -> web.Response:
        if request.match_info["name"] != "swe-demo-dep":
            raise web.HTTPNotFound()
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        link = f'<a href="/files/{wheel.name}#sha256={digest}">{wheel.name}</a>'
        return web.Response(text=f"<html><body>{link}</body></html>", content_type="text/html")

    async def file(request: web.Request) -> web.FileResponse:
        return web.FileResponse(wheel)

    app = web.Application()
    app.router.add_get("/simple/{name}/", project)
    app.router.add_get(f"/files/{wheel.name}", file)
    return app


@pytest.fixture
async def index(tmp_path: Path) -> AsyncIterator[str]:
    wheel = make_wheel(tmp_path / "index-files")
    async with served(simple_index(wheel)) as url:
        yield url


@pytest.fixture
async def other_index(tmp_path: Path) -> AsyncIterator[str]:
    wheel = make_wheel(tmp_path / "other-files")
    async with served(simple_index(wheel)) as url:
        yield url


async def test_with_an_index_the_sandbox_reaches_that_index_through_the_proxy(
    box: CodeSandbox, repo: Path, tmp_path: Path, index: str
) -> None:
    done = await install(
        box,
        settings(install_index_url=f"{index}/simple"),
        repo,
        tmp_path / "deps",
        "requirements.txt",
    )
    assert done.ran and done.ok, done.output
    assert done.denied == []
    tests = await run_tests(box, repo, ["test_uses_dep.py"], done.deps)
    assert tests.passed == {"test_uses_dep.py::test_value"}, tests.tail


async def test_an_index_the_repository_names_is_refused_by_the_proxy(
    box: CodeSandbox, repo: Path, tmp_path: Path, index: str, other_index: str
) -> None:
    # The package exists only where the repository points; the configured index lacks it.
    (repo / "requirements.txt").write_text(
        f"--index-url {other_index}/simple\n--extra-index-url {other_index}/simple\n"
        "swe-demo-dep==1.0\n"
    )
    done = await install(
        box,
        settings(install_index_url=f"{index}/simple/nothing-here"),
        repo,
        tmp_path / "deps",
        "requirements.txt",
    )
    assert done.ran and not done.ok
    other = other_index.removeprefix("http://")
    assert done.denied == [other], done.output
    assert not (tmp_path / "deps" / "swe_demo_dep").exists()


async def test_the_tests_run_with_the_test_runtime_not_the_workers_python(
    box: CodeSandbox, runtime: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "test_where.py").write_text(
        "import sys\n\n\ndef test_prefix():\n"
        f"    assert sys.prefix == {str(runtime)!r}\n\n\n"
        "def test_the_workers_packages_are_not_there():\n"
        "    import importlib.util\n\n"
        "    assert importlib.util.find_spec('sqlalchemy') is None\n"
    )
    box.own(repo)
    tests = await run_tests(box, repo, ["test_where.py"])
    assert tests.passed == {
        "test_where.py::test_prefix",
        "test_where.py::test_the_workers_packages_are_not_there",
    }, tests.tail


# -- the step inside the issue resolver's pipeline ------------------------------------------

STATS = "def median(values):\n    ordered = sorted(values)\n    return ordered[len(ordered) // 2]\n"
# The existing test needs the dependency: without the install step it cannot even import.
STATS_TESTS = (
    "import swe_demo_dep\n\nfrom calc.stats import median\n\n\n"
    "def test_median_of_odd_count():\n    assert median([3, 1, 2]) == 2\n\n\n"
    "def test_the_dependency_is_there():\n    assert swe_demo_dep.VALUE == 42\n"
)
FIX = """### calc/stats.py
<<<<<<< SEARCH
    return ordered[len(ordered) // 2]
=======
    mid = len(ordered) // 2
    if len(ordered) % 2 == 0:
        return (ordered[mid - 1] + ordered[mid]) / 2
    return ordered[mid]
>>>>>>> REPLACE
"""
SCRIPT = [
    "```\ncalc/stats.py\n```",
    "```\ncalc/stats.py::median\n```",
    "```\ncalc/stats.py:1-3\n```",
    FIX,
    "```python\nfrom calc.stats import median\n\n\ndef test_even():\n"
    "    assert median([1, 2, 3, 4]) == 2.5\n```",
]


def resolver_context(
    tmp_path: Path, requirements: str, runtime: Path, base_url: str, wheels: Path
) -> RunContext:
    repo = make_repo(
        tmp_path / "origin",
        {
            "calc/__init__.py": "",
            "calc/stats.py": STATS,
            "tests/test_stats.py": STATS_TESTS,
            "requirements.txt": requirements,
        },
    )
    (tmp_path / "work").mkdir()

    async def log(_message: str, _fields: dict[str, Any]) -> None:
        return None

    return RunContext(
        settings=Settings(
            allow_file_repositories=True,
            checkout_cache_dir=str(tmp_path / "cache"),
            work_dir=str(tmp_path / "work"),
            llm_base_url=base_url,
            llm_api_key="sk-test-key",
            sandbox_wall_seconds=120,
            test_runtime=str(runtime),
            install_wheel_dir=str(wheels),
        ),
        run_id=uuid.uuid4().hex,
        agent_type="issue_resolver",
        config={"samples": 1},
        trigger={"kind": "api", "issue": {"title": "median of an even count", "description": ""}},
        repository_url=f"file://{repo}",
        default_branch="main",
        log=log,
        work_root=tmp_path / "work",
    )


async def test_the_resolver_installs_the_dependencies_its_tests_import(
    tmp_path: Path, runtime: Path, provider: Any
) -> None:
    wheels = tmp_path / "wheels"
    make_wheel(wheels)
    provider.reset(SCRIPT)
    ctx = resolver_context(tmp_path, "swe-demo-dep==1.0\n", runtime, provider.base_url, wheels)
    result = await issue_resolver.run(ctx)
    assert result["resolved"] is True, result["candidates"]
    # The tests importing the dependency passed before and after: it was installed.
    assert result["evidence"]["pass_to_pass"] == [
        "tests/test_stats.py::test_median_of_odd_count",
        "tests/test_stats.py::test_the_dependency_is_there",
    ]


async def test_an_install_that_fails_ends_the_run_before_any_model_call(
    tmp_path: Path, runtime: Path, provider: Any
) -> None:
    wheels = tmp_path / "wheels"
    make_wheel(wheels)
    provider.reset(SCRIPT)
    ctx = resolver_context(tmp_path, "not-in-the-cache==9.9\n", runtime, provider.base_url, wheels)
    with pytest.raises(RunFailure) as failure:
        await issue_resolver.run(ctx)
    assert failure.value.exit_reason == "dependency_install_failed"
    assert "No matching distribution found for not-in-the-cache==9.9" in failure.value.message
    assert provider.requests == []
