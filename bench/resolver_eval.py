"""Evaluate the issue resolver on task instances in SWE-bench's format.

Each instance: ``instance_id``, ``repo``, ``base_commit``, ``problem_statement``,
``FAIL_TO_PASS`` and ``PASS_TO_PASS`` (lists, or JSON strings of lists as SWE-bench ships
them), and ``test_patch`` (the hidden tests, a unified diff). The pipeline runs on the
repository at the base commit with the problem statement as the issue; its patch is then
judged as SWE-bench judges it: the hidden tests are added, FAIL_TO_PASS must pass and
PASS_TO_PASS must still pass (run in the same bubblewrap sandbox). Reported per instance:
resolved, model calls, tokens, cost, wall time; overall: resolved %.

Local instances (``bench/resolver_instances/local.json``) carry the repository itself
(``files``), the hidden tests (``test_files``) and, for running without a model,
``scripted_answers``, played by a local fake OpenAI-compatible server:

    uv run python bench/resolver_eval.py --scripted                       # no model, no network
    uv run python bench/resolver_eval.py --base-url http://127.0.0.1:8080/v1 --model qwen2.5-coder

SWE-bench Lite (needs the network and a model; the repositories' dependencies must be
installable in the sandbox's Python):

    pip download datasets && python -c "import datasets, json; d = datasets.load_dataset(
        'princeton-nlp/SWE-bench_Lite', split='test'); json.dump(list(d), open('lite.json', 'w'))"
    AGENTS_LLM_API_KEY=... uv run python bench/resolver_eval.py --instances lite.json \\
        --base-url https://api.openai.com/v1 --model gpt-4o-mini --limit 20

Results: a Markdown table on stdout and ``bench/results/resolver_eval.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from swe_agents.resolver.testrun import copy_tree, run_tests
from swe_agents.runners import issue_resolver
from swe_agents.runners.context import RunContext, RunFailure
from swe_agents.sandbox import code_sandbox
from swe_agents.settings import Settings

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
GIT_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, env=GIT_ENV, capture_output=True, text=True, check=True
    ).stdout.strip()


def tests_of(value: Any) -> list[str]:
    return json.loads(value) if isinstance(value, str) else list(value)


def prepare(instance: dict[str, Any], root: Path) -> tuple[Path, str]:
    """The instance's repository at its base commit: made from ``files``, or cloned."""
    repo = root / "repo"
    if "files" in instance:
        repo.mkdir()
        git(repo, "init", "--quiet", "--initial-branch", "main")
        for rel, text in instance["files"].items():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            (repo / rel).write_text(text)
        git(repo, "add", "--all")
        git(repo, "commit", "--quiet", "-m", "base")
        return repo, git(repo, "rev-parse", "HEAD")
    url = f"https://github.com/{instance['repo']}.git"
    git(root, "clone", "--quiet", url, str(repo))
    git(repo, "checkout", "--quiet", "-B", "main", instance["base_commit"])
    return repo, instance["base_commit"]


async def judge(
    instance: dict[str, Any], repo: Path, patch_files: dict[str, str], work: Path
) -> bool:
    """SWE-bench's verdict: hidden tests added; FAIL_TO_PASS pass, PASS_TO_PASS still pass."""
    sandbox = code_sandbox()
    copy = copy_tree(repo, work / "judge", {**patch_files, **instance.get("test_files", {})})
    if instance.get("test_patch"):
        subprocess.run(
            ["git", "apply", "-"], cwd=copy, input=instance["test_patch"].encode(), check=True
        )
    sandbox.own(copy)
    f2p, p2p = tests_of(instance["FAIL_TO_PASS"]), tests_of(instance["PASS_TO_PASS"])
    files = sorted({t.split("::")[0] for t in f2p + p2p})
    run = await run_tests(sandbox, copy, files)
    return all(t in run.passed for t in f2p + p2p)


async def evaluate(
    instance: dict[str, Any], args: argparse.Namespace, base_url: str
) -> dict[str, Any]:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="resolver-eval-") as tmp:
        root = Path(tmp)
        repo, base = prepare(instance, root)
        (root / "work").mkdir()
        lines: list[str] = []

        async def log(message: str, _fields: dict[str, Any]) -> None:
            lines.append(message)
            if args.verbose:
                print(f"  {instance['instance_id']}: {message}", file=sys.stderr)

        samples = len(instance["scripted_answers"]) - 4 if args.scripted else args.samples
        ctx = RunContext(
            settings=Settings(
                allow_file_repositories=True,
                checkout_cache_dir=str(root / "cache"),
                llm_base_url=base_url,
                llm_api_key=os.environ.get("AGENTS_LLM_API_KEY") or "sk-none",
                llm_model=args.model,
            ),
            run_id=instance["instance_id"],
            agent_type="issue_resolver",
            config={
                "samples": samples,
                "max_calls": args.max_calls,
                "max_cost": args.max_cost,
                "price_input_per_mtok": args.price_input,
                "price_output_per_mtok": args.price_output,
                "stream": args.stream,
                "tool_calling": args.tools,
            },
            trigger={
                "kind": "api",
                "ref": base,
                "issue": {
                    "title": instance["instance_id"],
                    "description": instance["problem_statement"],
                },
            },
            repository_url=f"file://{repo}",
            default_branch="main",
            log=log,
            work_root=root / "work",
        )
        outcome: dict[str, Any] = {"instance_id": instance["instance_id"]}
        result: Mapping[str, Any]
        try:
            result = await issue_resolver.run(ctx)
        except RunFailure as failure:
            outcome |= {"resolved": False, "error": f"{failure.exit_reason}: {failure.message}"}
            result = {}
        calls = ctx.trajectory or []
        outcome |= {
            "calls": len(calls),
            "tokens": sum(c.prompt_tokens + c.completion_tokens for c in calls),
            "cost": round(sum(c.cost for c in calls), 6),
        }
        if result.get("resolved"):
            chosen = next(
                c for c in result["candidates"] if c["candidate"] == result["evidence"]["candidate"]
            )
            files = _patched_files(repo, result["diff"], root)
            outcome["resolved"] = await judge(instance, repo, files, root)
            outcome["pipeline_says"] = f"candidate {chosen['candidate']} passed"
        else:
            outcome.setdefault("resolved", False)
            outcome["pipeline_says"] = result.get("summary") or outcome.get("error")
    outcome["seconds"] = round(time.monotonic() - started, 2)
    return outcome


def _patched_files(repo: Path, diff: str, root: Path) -> dict[str, str]:
    """The files the resolver's diff writes, read from a scratch checkout it is applied to."""
    scratch = root / "patched"
    git(root, "clone", "--quiet", str(repo), str(scratch))
    subprocess.run(["git", "apply", "-"], cwd=scratch, input=diff.encode(), check=True)
    names = git(scratch, "diff", "--name-only").splitlines()
    names += git(scratch, "ls-files", "--others", "--exclude-standard").splitlines()
    return {n: (scratch / n).read_text() for n in names}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", default=str(HERE / "resolver_instances" / "local.json"))
    parser.add_argument("--base-url", help="an OpenAI-compatible endpoint (…/v1)")
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--scripted", action="store_true", help="play scripted_answers locally")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--max-calls", type=int, default=12)
    parser.add_argument("--max-cost", type=float, default=None)
    parser.add_argument("--price-input", type=float, default=0.0, help="$ per million tokens")
    parser.add_argument("--price-output", type=float, default=0.0, help="$ per million tokens")
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--tools", action="store_true")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    instances = json.loads(Path(args.instances).read_text())[: args.limit]
    outcomes = []
    fake = None
    if args.scripted:
        from swe_common.testing_llm import FakeProvider  # the tests' wire-format fake

        fake = FakeProvider(api_key="sk-none")
        await fake.start()
        os.environ["AGENTS_LLM_API_KEY"] = "sk-none"
    elif not args.base_url:
        parser.error("--base-url or --scripted")
    try:
        for instance in instances:
            if fake is not None:
                fake.reset(list(instance["scripted_answers"]))
            outcomes.append(
                await evaluate(instance, args, fake.base_url if fake else args.base_url)
            )
            print(json.dumps(outcomes[-1]), file=sys.stderr)
    finally:
        if fake is not None:
            await fake.stop()
    resolved = sum(o["resolved"] for o in outcomes)
    print("| instance | resolved | calls | tokens | cost ($) | time (s) | pipeline |")
    print("|---|---|---|---|---|---|---|")
    for o in outcomes:
        print(
            f"| {o['instance_id']} | {'yes' if o['resolved'] else 'no'} | {o['calls']} | "
            f"{o['tokens']} | {o['cost']:.4f} | {o['seconds']} | {o['pipeline_says']} |"
        )
    share = 100 * resolved / max(1, len(outcomes))
    print(f"\nresolved {resolved}/{len(outcomes)} ({share:.0f} %)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "resolver_eval.json").write_text(
        json.dumps(
            {
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "instances_file": Path(args.instances).name,
                "model": "scripted" if args.scripted else args.model,
                "resolved_percent": round(share, 1),
                "instances": outcomes,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    asyncio.run(main())
