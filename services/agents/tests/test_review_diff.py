"""The diff a pull request review looked at: kept with the run, bounded, and served to the
project's members only (GET /api/v1/agents/runs/{run_id}/diff).

A real repository: a modified file, a rename with an edit, a binary file, names with a space
and with a newline, and a file too large to show; git does the diffing."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from swe_agents.analysis import diffs
from swe_agents.analysis.checkout import Repository
from swe_agents.analysis.tools import ToolError
from swe_agents.runners import pr_reviewer
from swe_common.testing import TokenFactory, eventually

from .conftest import wait_run
from .gitrepo import git, make_repo
from .test_pr_reviewer import context

KEEP = "".join(f"value_{n} = {n}\n" for n in range(1, 31))  # 30 lines
RENAMED = "".join(f"def f{n}():\n    return {n}\n\n\n" for n in range(1, 6))
SPACE_NAME = "docs/with space.py"
NEWLINE_NAME = "docs/odd\nname.py"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


def _write(repo: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
        git(repo, "add", "--", name)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = make_repo(
        tmp_path_factory.mktemp("diff") / "repo",
        {"app/keep.py": KEEP, "app/old_name.py": RENAMED, SPACE_NAME: "x = 1\n"},
    )
    _write(path, {"assets/logo.png": PNG})
    git(path, "commit", "--quiet", "-m", "binary")
    git(path, "checkout", "--quiet", "-b", "feature")
    git(path, "mv", "app/old_name.py", "app/new_name.py")
    _write(
        path,
        {
            # Line 10 changed, two lines added after line 30.
            "app/keep.py": KEEP.replace("value_10 = 10\n", "value_10 = 100\n")
            + "import os\nlast = 2\n",
            "app/new_name.py": RENAMED.replace("return 3", "return 33"),
            "assets/logo.png": PNG + b"\x00more",
            SPACE_NAME: "x = 2\n",
            NEWLINE_NAME: "y = 1\n",
            "data/big.txt": "".join(f"row {n}\n" for n in range(5000)),
        },
    )
    git(path, "commit", "--quiet", "-m", "feature work")
    git(path, "checkout", "--quiet", "main")
    return path


async def _diff(
    repo: Path, tmp_path: Path, limits: diffs.DiffLimits | None = None
) -> diffs.DiffDocument:
    cache = Repository(tmp_path / "cache", f"file://{repo}", allow_file=True, timeout=60)
    await cache.fetch()
    head = await cache.resolve("feature")
    base = await cache.merge_base(await cache.resolve("main"), head)
    changes = [c for c in await cache.changes(base, head) if c.status != "D"]
    return (await diffs.capture(cache, base, head, changes, limits)).to_dict()


def _file(diff: diffs.DiffDocument, path: str) -> diffs.DiffFileDict:
    return next(f for f in diff["files"] if f["path"] == path)


def _lines(file: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [line for hunk in file["hunks"] for line in hunk["lines"]]


async def test_a_modified_file_shows_its_changed_lines_with_context_and_numbers(
    repo: Path, tmp_path: Path
) -> None:
    keep = _file(await _diff(repo, tmp_path), "app/keep.py")
    assert (keep["status"], keep["additions"], keep["deletions"]) == ("modified", 3, 1)
    lines = _lines(keep)
    assert {"kind": "delete", "old": 10, "new": None, "text": "value_10 = 10"} in [
        {k: line[k] for k in ("kind", "old", "new", "text")} for line in lines
    ]
    added = {line["new"]: line["text"] for line in lines if line["kind"] == "add"}
    assert added == {10: "value_10 = 100", 31: "import os", 32: "last = 2"}
    context = [(line["old"], line["new"]) for line in lines if line["kind"] == "context"]
    assert (7, 7) in context and (13, 13) in context and (30, 30) in context
    assert len(keep["hunks"]) == 2 and not keep["truncated"]


async def test_a_rename_is_one_file_with_its_old_name_and_only_the_edit(
    repo: Path, tmp_path: Path
) -> None:
    diff = await _diff(repo, tmp_path)
    renamed = _file(diff, "app/new_name.py")
    assert (renamed["status"], renamed["old_path"]) == ("renamed", "app/old_name.py")
    changed = [
        (line["kind"], line["text"]) for line in _lines(renamed) if line["kind"] != "context"
    ]
    assert changed == [("delete", "    return 3"), ("add", "    return 33")]
    assert "app/old_name.py" not in {f["path"] for f in diff["files"]}


async def test_a_binary_file_is_listed_as_binary_without_lines(repo: Path, tmp_path: Path) -> None:
    logo = _file(await _diff(repo, tmp_path), "assets/logo.png")
    assert (logo["binary"], logo["omitted"], logo["hunks"]) == (True, "binary", [])
    assert logo["additions"] is None


async def test_names_with_a_space_or_a_newline_stay_one_name(repo: Path, tmp_path: Path) -> None:
    diff = await _diff(repo, tmp_path)
    space = _file(diff, SPACE_NAME)
    assert [(line["kind"], line["text"]) for line in _lines(space)] == [
        ("delete", "x = 1"),
        ("add", "x = 2"),
    ]
    odd = _file(diff, NEWLINE_NAME)
    assert odd["status"] == "added"
    assert [(line["new"], line["text"]) for line in _lines(odd)] == [(1, "y = 1")]


async def test_the_limits_cut_files_and_lines_and_say_so(repo: Path, tmp_path: Path) -> None:
    limits = diffs.DiffLimits(max_lines_per_file=50, max_line_chars=8)
    diff = await _diff(repo, tmp_path, limits)
    big = _file(diff, "data/big.txt")
    # 5000 added lines: far over 4 x 50, so git is not even asked for them.
    assert (big["omitted"], big["truncated"], big["hunks"]) == ("too_large", True, [])
    assert big["additions"] == 5000
    keep = _file(diff, "app/keep.py")
    clipped = next(line for line in _lines(keep) if line["text"].startswith("value_10"))
    assert len(clipped["text"]) == 8 and clipped["truncated"] is True
    assert diff["truncated"] is True and diff["limits"]["max_lines_per_file"] == 50


async def test_a_file_over_the_per_file_limit_shows_its_first_lines(
    repo: Path, tmp_path: Path
) -> None:
    diff = await _diff(repo, tmp_path, diffs.DiffLimits(max_lines_per_file=2000))
    big = _file(diff, "data/big.txt")
    assert big["omitted"] is None and big["truncated"] is True
    assert len(_lines(big)) == 2000
    assert _lines(big)[-1] == {
        "kind": "add",
        "old": None,
        "new": 2000,
        "text": "row 1999",
        "truncated": False,
    }


async def test_the_whole_diff_stays_within_its_byte_and_file_limits(
    repo: Path, tmp_path: Path
) -> None:
    limits = diffs.DiffLimits(max_bytes=600, max_files=3)
    diff = await _diff(repo, tmp_path, limits)
    assert [f["path"] for f in diff["files"]] == [
        "app/keep.py",
        "app/new_name.py",
        "assets/logo.png",
    ]
    assert diff["files_total"] == 6 and diff["truncated"] is True
    shown = sum(
        diffs.LINE_OVERHEAD + len(line["text"]) for f in diff["files"] for line in _lines(f)
    )
    assert 0 < shown <= 600 + diffs.LINE_OVERHEAD + limits.max_line_chars
    renamed = _file(diff, "app/new_name.py")
    assert renamed["truncated"] is True


async def test_gits_output_cut_short_marks_the_rest_truncated(repo: Path, tmp_path: Path) -> None:
    diff = await _diff(repo, tmp_path, diffs.DiffLimits(max_raw_bytes=200))
    keep = _file(diff, "app/keep.py")  # the first file of the patch, cut inside it
    assert keep["truncated"] is True
    later = _file(diff, SPACE_NAME)
    assert (later["omitted"], later["hunks"]) == ("limit", [])
    assert diff["truncated"] is True


def test_patch_lines_split_on_newlines_only() -> None:
    patch = (
        "diff --git a/f.py b/f.py\n--- a/f.py\n+++ b/f.py\n@@ -1 +1 @@\n"
        "-a\x0cb\u2028c\n+a\x0cb\n\\ No newline at end of file\n"
    )
    [parsed] = diffs.parse_patch(patch)
    assert [(line.kind, line.text) for line in parsed.hunks[0].lines] == [
        ("delete", "a\x0cb\u2028c"),
        ("add", "a\x0cb"),
    ]


def test_a_deleted_line_that_looks_like_a_header_is_a_line() -> None:
    patch = (
        "diff --git a/f.md b/f.md\n--- a/f.md\n+++ b/f.md\n@@ -1,2 +1,1 @@\n"
        "--- a/elsewhere\n keep\n"
    )
    [parsed] = diffs.parse_patch(patch)
    assert parsed.path == "f.md"
    assert [(line.kind, line.text) for line in parsed.hunks[0].lines] == [
        ("delete", "-- a/elsewhere"),
        ("context", "keep"),
    ]


async def test_a_review_keeps_the_diff_its_comments_sit_on(repo: Path, tmp_path: Path) -> None:
    ctx = context(tmp_path, repo, level="quick")
    result = await pr_reviewer.run(ctx)
    assert ctx.diff is not None and "diff" not in result
    assert (ctx.diff["base"], ctx.diff["head"]) == (
        result["reviewed_range"]["from"],
        result["reviewed_range"]["to"],
    )
    added = {
        (f["path"], line["new"])
        for f in ctx.diff["files"]
        for line in _lines(f)
        if line["kind"] == "add"
    }
    assert result["comments"]
    for comment in result["comments"]:
        if comment["path"] != "data/big.txt":
            assert (comment["path"], comment["line"]) in added, comment


async def test_a_review_goes_on_without_its_diff_when_git_cannot_give_it(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing(*_args: Any, **_kwargs: Any) -> Any:
        raise ToolError("git diff failed: fatal: out of memory")

    monkeypatch.setattr(diffs, "capture", failing)
    logged: list[str] = []
    ctx = context(tmp_path, repo, level="quick")

    async def log(message: str, _fields: dict[str, Any]) -> None:
        logged.append(message)

    ctx.log = log
    result = await pr_reviewer.run(ctx)
    assert ctx.diff is None and result["comments"]
    assert any(m.startswith("the diff was not kept: git diff failed") for m in logged)


# -- through the API and the worker ---------------------------------------------------------


@pytest.fixture(scope="module")
async def reviewed(
    client: Any,
    tokens: TokenFactory,
    projects: Any,
    repo: Path,
    worker: Any,
    captured: list[dict[str, Any]],
) -> dict[str, Any]:
    owner, viewer = uuid.uuid4(), uuid.uuid4()
    headers = tokens.headers(owner)
    project = await projects.create(
        owner, f"file://{repo}", members=[{"user_id": str(viewer), "role": "viewer"}]
    )
    body = {"project_id": str(project), "name": "reviewer", "type": "pr_reviewer"}
    agent = (await client.post("/api/v1/agents", json=body, headers=headers)).json()
    pr = {"pull_request": {"base_ref": "main", "head_ref": "feature"}, "level": "quick"}
    run = (
        await client.post(f"/api/v1/agents/{agent['id']}/start", json=pr, headers=headers)
    ).json()
    run = await wait_run(client, headers, run["id"], "completed", "failed", timeout=120)
    assert run["status"] == "completed", run
    return {"run": run, "headers": headers, "viewer": tokens.headers(viewer), "project": project}


async def test_members_read_a_reviews_diff_and_others_get_404(
    client: Any, tokens: TokenFactory, reviewed: dict[str, Any]
) -> None:
    run = reviewed["run"]
    url = f"/api/v1/agents/runs/{run['id']}/diff"
    for headers in (reviewed["headers"], reviewed["viewer"]):
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        diff = response.json()
        assert diff["run_id"] == run["id"] and diff["head_sha"] == run["result"]["head_sha"]
        keep = _file(diff, "app/keep.py")
        assert {line["new"] for line in _lines(keep) if line["kind"] == "add"} == {10, 31, 32}
    stranger = await client.get(url, headers=tokens.headers(uuid.uuid4()))
    assert stranger.status_code == 404
    assert stranger.headers["content-type"].startswith("application/problem+json")
    missing = await client.get(
        f"/api/v1/agents/runs/{uuid.uuid4()}/diff", headers=reviewed["headers"]
    )
    assert missing.status_code == 404


async def test_the_diff_is_kept_apart_from_the_result_and_its_event(
    reviewed: dict[str, Any], engine: Any, captured: list[dict[str, Any]]
) -> None:
    run = reviewed["run"]
    assert "hunks" not in str(run["result"])

    async def completed() -> list[dict[str, Any]]:
        return [
            e
            for e in captured
            if e["type"] == "agents.run.completed" and e["data"]["run_id"] == run["id"]
        ]

    heard = await eventually(completed, timeout=15)
    assert "hunks" not in str(heard[0]["data"])
    assert {"path", "line", "severity", "category", "new"} <= set(
        heard[0]["data"]["result"]["comments"][0]
    )
    async with engine.connect() as conn:
        stored = await conn.scalar(
            sa.text("SELECT files_total FROM agents.run_diffs WHERE run_id = :id"),
            {"id": run["id"]},
        )
    assert stored == 6  # the files the review selected (not the deleted old name)


async def test_a_run_that_reviews_nothing_has_no_diff(
    client: Any, reviewed: dict[str, Any]
) -> None:
    headers = reviewed["headers"]
    body = {"project_id": str(reviewed["project"]), "name": "analyzer", "type": "code_analyzer"}
    agent = (await client.post("/api/v1/agents", json=body, headers=headers)).json()
    run = (
        await client.post(f"/api/v1/agents/{agent['id']}/start", json={}, headers=headers)
    ).json()
    early = await client.get(f"/api/v1/agents/runs/{run['id']}/diff", headers=headers)
    assert early.status_code in (404, 409)  # 409 while it runs; 404 once it has finished
    await wait_run(client, headers, run["id"], "completed", "failed", timeout=120)
    done = await client.get(f"/api/v1/agents/runs/{run['id']}/diff", headers=headers)
    assert done.status_code == 404 and "kept no diff" in done.json()["detail"]
