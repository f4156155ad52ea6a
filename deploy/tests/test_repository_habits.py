"""The repository's habits stay true: the pre-commit hooks are `make lint`, and the docs the
README points to are in the repository."""

from __future__ import annotations

import re
import subprocess

import yaml

from .conftest import ROOT, tool


def lint_parts() -> list[str]:
    """The targets `make lint` runs, read from make's own plan (dry run)."""
    plan = subprocess.run(
        ["make", "-n", "--no-print-directory", "lint"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in plan.splitlines() if "lint-" in line)
    return re.findall(r"\b(?:lint-\w+|web-lint)\b", line)


def test_the_pre_commit_hooks_run_exactly_the_parts_of_make_lint():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert all(repo["repo"] == "local" for repo in config["repos"]), "nothing fetched at lint time"
    entries = []
    for hook in hooks:
        assert hook["language"] == "system", f"{hook['id']}: the workspace's own tools"
        assert hook["pass_filenames"] is False, f"{hook['id']}: the whole tree, as make lint"
        words = hook["entry"].split()
        assert words[0] == "make", f"{hook['id']}: calls a Makefile target"
        entries.append(words[-1])
    parts = lint_parts()
    assert sorted(entries) == sorted(parts), f"hooks {entries} != make lint's parts {parts}"


def test_the_pre_commit_config_is_valid_for_pre_commit_itself():
    result = subprocess.run(
        [tool("pre-commit"), "validate-config", ".pre-commit-config.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_docs_linked_from_the_readme_and_the_service_guide_are_in_the_repository():
    for source in (ROOT / "README.md", ROOT / "docs" / "SERVICE_GUIDE.md"):
        text = source.read_text()
        assert "../shared" not in text, f"{source.name} links outside the repository"
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            assert (source.parent / target).exists(), f"{source.name}: {target} is missing"
    adr = ROOT / "docs" / "adr"
    index = (adr / "README.md").read_text()
    for record in sorted(adr.glob("[0-9][0-9][0-9][0-9]-*.md")):
        assert f"({record.name})" in index, f"{record.name} is not in docs/adr/README.md"


def test_every_end_to_end_module_gets_the_tests_relaxations_of_mypy():
    """tests-e2e/ is type-checked as top-level modules (`make lint-types`), relaxed like every
    package's tests by pyproject.toml's `tests` override, which names each of them."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    [relaxed] = [o for o in config["overrides"] if "tests" in o["module"]]
    e2e = ROOT / "tests-e2e"
    modules = {
        ".".join(path.relative_to(e2e).with_suffix("").parts).removesuffix(".__init__")
        for path in e2e.rglob("*.py")
        if "node_modules" not in path.parts
    }
    assert modules, "no module found under tests-e2e"
    named = set(relaxed["module"])
    missing = sorted(m for m in modules if m not in named and m.split(".")[0] + ".*" not in named)
    assert not missing, f"add to pyproject.toml's tests override of mypy: {missing}"
