"""Run contexts for calling a runner directly on a local repository (no queue, no database)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from swe_agents.runners.context import RunContext
from swe_agents.settings import Settings


async def _quiet(_message: str, _fields: dict[str, Any]) -> None:
    return None


def _settings(tmp_path: Path) -> Settings:
    return Settings(allow_file_repositories=True, checkout_cache_dir=str(tmp_path / "cache"))


def analyzer(tmp_path: Path, repo: Path, ref: str | None = None, **config: Any) -> RunContext:
    trigger: dict[str, Any] = {"kind": "api", **({"ref": ref} if ref else {})}
    return RunContext(
        settings=_settings(tmp_path),
        run_id="r",
        agent_type="code_analyzer",
        config=config,
        trigger=trigger,
        repository_url=f"file://{repo}",
        default_branch="main",
        log=_quiet,
    )


def reviewer(
    tmp_path: Path, repo: Path, head_ref: str, level: str = "thorough", **config: Any
) -> RunContext:
    return RunContext(
        settings=_settings(tmp_path),
        run_id="r",
        agent_type="pr_reviewer",
        config={"min_severity": "info", **config},
        trigger={
            "kind": "api",
            "level": level,
            "pull_request": {"base_ref": "main", "head_ref": head_ref},
        },
        repository_url=f"file://{repo}",
        default_branch="main",
        log=_quiet,
    )
