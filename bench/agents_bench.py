"""Agents benchmark: what the platform's analyzer pipeline costs against the same tools by hand.

1. analysis: ~50k lines of Python (alembic + fastapi + starlette copied from this venv) committed
   into a scratch git repository. The platform's code_analyzer runner (validate URL, fetch into
   the bare cache, export the tree, ruff + radon + bandit + secret scan concurrently, fingerprint,
   score, report) against ruff, radon cc, radon mi and bandit run by hand on a checkout of the
   same commit, one after the other (what a person types) and all four at once (the platform's
   own concurrency, so the ratio to it is the pure overhead).
2. review: a ~500-line diff (five files, 100 added lines each). The platform's pr_reviewer at
   level ``thorough`` against, by hand: ``git diff``, then the same tools on the changed files at
   head and at the merge base.

Runs offline, in a temporary directory, removed afterwards. Prints a Markdown table and writes
``bench/results/agents.json``. Run: ``uv run python bench/agents_bench.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from swe_agents.analysis.tool_parsers import RUFF_SELECT
from swe_agents.runners import code_analyzer, pr_reviewer
from swe_agents.runners.context import RunContext
from swe_agents.settings import Settings

PACKAGES = ("alembic", "fastapi", "starlette")
RESULTS = Path(__file__).resolve().parent / "results"
GIT_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, env=GIT_ENV, capture_output=True, text=True, check=True
    ).stdout


def site_packages() -> Path:
    import fastapi

    return Path(fastapi.__file__).resolve().parents[1]


def make_repo(root: Path) -> tuple[Path, int]:
    repo = root / "repo"
    source = site_packages()
    for name in PACKAGES:
        shutil.copytree(
            source / name, repo / "src" / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    git(repo, "init", "--quiet", "--initial-branch", "main")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "import")
    lines = sum(
        sum(1 for line in path.read_text(errors="replace").splitlines() if line.strip())
        for path in (repo / "src").rglob("*.py")
    )
    return repo, lines


def added_code(index: int) -> str:
    """100 lines: ten small functions, some with defects a review should flag."""
    return "".join(
        f"\n\ndef bench_{index}_{n}(value, items):\n"
        f"    total = 0\n"
        f"    for item in items:\n"
        f"        if item > value:\n"
        f"            total += item\n"
        f"    result = eval(str(total)) if value else total\n"
        f"    unused_{n} = {n}\n"
        f"    return result\n"
        for n in range(10)
    )


def make_pr(repo: Path) -> tuple[list[str], int]:
    git(repo, "checkout", "--quiet", "-b", "pr")
    targets = sorted(str(p.relative_to(repo)) for p in (repo / "src").rglob("*.py"))[5:10]
    added = 0
    for index, rel in enumerate(targets):
        code = added_code(index)
        added += code.count("\n")
        with (repo / rel).open("a") as handle:
            handle.write(code)
    git(repo, "commit", "--quiet", "-am", "pr")
    git(repo, "checkout", "--quiet", "main")
    return targets, added


async def quiet(_message: str, _fields: dict[str, Any]) -> None:
    return None


def context(repo: Path, cache: Path, agent_type: str, trigger: dict[str, Any]) -> RunContext:
    settings = Settings(allow_file_repositories=True, checkout_cache_dir=str(cache))
    return RunContext(
        settings=settings,
        run_id="bench",
        agent_type=agent_type,
        config={"min_severity": "info"},
        trigger=trigger,
        repository_url=f"file://{repo}",
        default_branch="main",
        log=quiet,
    )


def tool_commands(files: list[str]) -> list[list[str]]:
    python = [sys.executable, "-I", "-m"]
    return [
        [*python, "ruff", "check", "--isolated", "--no-cache", "--exit-zero",
         "--output-format", "json", "--select", RUFF_SELECT, *files],
        [*python, "radon", "cc", "-j", "-s", *files],
        [*python, "radon", "mi", "-j", *files],
        [*python, "bandit", "-f", "json", "-q", *files],
    ]  # fmt: skip


def by_hand_sequential(cwd: Path, files: list[str]) -> None:
    for argv in tool_commands(files):
        subprocess.run(argv, cwd=cwd, capture_output=True, check=False)


def by_hand_concurrent(cwd: Path, files: list[str]) -> None:
    # Output to files, not pipes: a full pipe would stall a tool until it is read.
    with tempfile.TemporaryDirectory() as out:
        handles = [(Path(out) / f"{n}.json").open("wb") for n in range(4)]
        procs = [
            subprocess.Popen(argv, cwd=cwd, stdout=handle, stderr=subprocess.DEVNULL)
            for argv, handle in zip(tool_commands(files), handles, strict=True)
        ]
        for proc, handle in zip(procs, handles, strict=True):
            proc.wait()
            handle.close()


def python_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in (root / "src").rglob("*.py"))


class CpuMeter:
    """CPU time of this process and of everything it starts.

    ``RUSAGE_CHILDREN`` is not enough: the platform runs the tools under bubblewrap, whose init
    in the run's PID namespace is never waited for (bwrap learns the exit status over an eventfd
    and exits), so the tools' CPU would go uncounted and the platform look ten times cheaper
    than it is. A cgroup of the bench's own counts every process started from it, orphans
    included. Where none can be made (no writable cgroup v2), rusage, and the table says so."""

    def __init__(self) -> None:
        self.group: Path | None = None
        self.home: Path | None = None

    def start(self) -> None:
        mount = next(
            (
                Path(line.split()[1])
                for line in Path("/proc/self/mounts").read_text().splitlines()
                if line.split()[2] == "cgroup2"
            ),
            None,
        )
        own = next(
            (
                line.split(":", 2)[2]
                for line in Path("/proc/self/cgroup").read_text().splitlines()
                if line.startswith("0::")
            ),
            None,
        )
        if mount is None or own is None:
            return
        home = mount / own.lstrip("/")
        group = home / f"agents-bench-{os.getpid()}"
        try:
            group.mkdir()
            (group / "cgroup.procs").write_text(str(os.getpid()))
        except OSError:
            with contextlib.suppress(OSError):
                group.rmdir()
            return
        self.group, self.home = group, home

    @property
    def counts_sandboxed(self) -> bool:
        return self.group is not None

    def seconds(self) -> float:
        if self.group is not None:
            for line in (self.group / "cpu.stat").read_text().splitlines():
                if line.startswith("usage_usec "):
                    return int(line.split()[1]) / 1e6
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    def close(self) -> None:
        if self.group is not None and self.home is not None:
            with contextlib.suppress(OSError):
                (self.home / "cgroup.procs").write_text(str(os.getpid()))
                self.group.rmdir()
            self.group = None


CPU = CpuMeter()


class Clock:
    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), CPU.seconds()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = CPU.seconds() - self._cpu


def review_by_hand(repo: Path, root: Path) -> Clock:
    """What the reviewer does, with the tools typed by hand: diff, then both sides."""
    base_dir, head_dir = root / "hand-base", root / "hand-head"
    for target, ref in ((base_dir, "main"), (head_dir, "pr")):
        git(repo, "worktree", "add", "--quiet", "--detach", str(target), ref)
    with Clock() as clock:
        merge_base = git(repo, "merge-base", "main", "pr").strip()
        changed = git(repo, "diff", "--name-only", merge_base, "pr").split()
        git(repo, "diff", "--unified=0", merge_base, "pr")
        by_hand_sequential(head_dir, changed)
        by_hand_sequential(base_dir, changed)
    return clock


async def main() -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="agents-bench-"))
    try:
        repo, lines = make_repo(root)
        files = python_files(repo)
        trigger = {"kind": "api", "ref": "main"}
        # Warm-up, not measured: the first start of each tool pays for imports from a cold
        # disk cache (and bytecode compilation), which would go to whichever side runs first.
        by_hand_sequential(repo, files[:1])
        # Interleaved, because other work on a shared machine comes and goes: by hand (all at
        # once), the platform cold (empty cache), by hand (one after another), the platform
        # warm (cache present).
        with Clock() as conc:
            by_hand_concurrent(repo, files)
        with Clock() as cold:
            report = await code_analyzer.run(
                context(repo, root / "cache", "code_analyzer", trigger)
            )
        with Clock() as seq:
            by_hand_sequential(repo, files)
        with Clock() as warm:
            await code_analyzer.run(context(repo, root / "cache", "code_analyzer", trigger))
        targets, added = make_pr(repo)
        pr_trigger = {
            "kind": "api",
            "level": "thorough",
            "pull_request": {"base_ref": "main", "head_ref": "pr"},
        }
        with Clock() as review_clock:
            review = await pr_reviewer.run(context(repo, root / "cache", "pr_reviewer", pr_trigger))
        hand_review = review_by_hand(repo, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {
        "benchmark": "agents",
        "at": datetime.now(UTC).isoformat(),
        "machine": f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "cpu_counts_sandboxed_tools": CPU.counts_sandboxed,
        "analysis": {
            "python_files": len(files),
            "lines_of_code": lines,
            "findings": report["counts"]["total"],
            "platform_cold_seconds": round(cold.wall, 2),
            "platform_warm_seconds": round(warm.wall, 2),
            "by_hand_sequential_seconds": round(seq.wall, 2),
            "by_hand_concurrent_seconds": round(conc.wall, 2),
            "platform_cold_cpu_seconds": round(cold.cpu, 2),
            "platform_warm_cpu_seconds": round(warm.cpu, 2),
            "by_hand_cpu_seconds": round(seq.cpu, 2),
            "ratio_warm_to_concurrent": round(warm.wall / conc.wall, 2),
            "ratio_warm_to_sequential": round(warm.wall / seq.wall, 2),
            "cpu_ratio_warm_to_by_hand": round(warm.cpu / seq.cpu, 2),
        },
        "review": {
            "changed_files": len(targets),
            "added_lines": added,
            "comments": review["comment_count"],
            "approval": review["approval"],
            "platform_seconds": round(review_clock.wall, 2),
            "by_hand_seconds": round(hand_review.wall, 2),
            "platform_cpu_seconds": round(review_clock.cpu, 2),
            "by_hand_cpu_seconds": round(hand_review.cpu, 2),
            "ratio": round(review_clock.wall / hand_review.wall, 2),
            "cpu_ratio": round(review_clock.cpu / hand_review.cpu, 2),
        },
    }


def table(result: dict[str, Any]) -> str:
    a, r = result["analysis"], result["review"]
    return "\n".join(
        [
            f"## agents ({a['lines_of_code']} lines in {a['python_files']} files; "
            f"PR diff {r['added_lines']} lines in {r['changed_files']} files)",
            "",
            "| workload | platform wall (s) | by hand wall (s) | wall ratio "
            "| platform CPU (s) | by hand CPU (s) | CPU ratio |",
            "|---|---|---|---|---|---|---|",
            f"| analysis, cold cache | {a['platform_cold_seconds']} | "
            f"{a['by_hand_concurrent_seconds']} (4 tools at once) | "
            f"{a['platform_cold_seconds'] / a['by_hand_concurrent_seconds']:.2f} | "
            f"{a['platform_cold_cpu_seconds']} | {a['by_hand_cpu_seconds']} | "
            f"{a['platform_cold_cpu_seconds'] / a['by_hand_cpu_seconds']:.2f} |",
            f"| analysis, warm cache | {a['platform_warm_seconds']} | "
            f"{a['by_hand_concurrent_seconds']} (4 tools at once) | "
            f"{a['ratio_warm_to_concurrent']} | {a['platform_warm_cpu_seconds']} | "
            f"{a['by_hand_cpu_seconds']} | {a['cpu_ratio_warm_to_by_hand']} |",
            f"| analysis, warm cache | {a['platform_warm_seconds']} | "
            f"{a['by_hand_sequential_seconds']} (one after another) | "
            f"{a['ratio_warm_to_sequential']} | | | |",
            f"| pr_reviewer thorough | {r['platform_seconds']} | {r['by_hand_seconds']} "
            f"(diff + tools on head and base) | {r['ratio']} | {r['platform_cpu_seconds']} | "
            f"{r['by_hand_cpu_seconds']} | {r['cpu_ratio']} |",
            "",
            f"Findings: {a['findings']}; review: {r['comments']} comments, {r['approval']}. "
            "Wall times on a shared 2-CPU machine vary run to run; CPU time is the steadier "
            "measure of the platform's overhead"
            + (
                " (counted in a cgroup of the bench's own, the sandboxed tools included)."
                if result["cpu_counts_sandboxed_tools"]
                else " - but no cgroup could be made here, so the platform's CPU misses the "
                "tools it runs in the sandbox: compare wall times."
            ),
        ]
    )


if __name__ == "__main__":
    CPU.start()
    try:
        outcome = asyncio.run(main())
    finally:
        CPU.close()
    print(table(outcome))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "agents.json").write_text(json.dumps(outcome, indent=2) + "\n")
