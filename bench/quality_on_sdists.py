"""The quality formulas on real projects: each unpacked source distribution given is analyzed by
the platform's pipeline (all steps, default options) and scored by formula versions 1 and 2.

Get the sources from PyPI first (their code is not part of this repository), e.g.:

    pip download --no-deps --no-binary :all: -d /tmp/sdists requests==2.32.3 flask==3.1.0
    for f in /tmp/sdists/*.tar.gz; do tar xzf "$f" -C /tmp/sdists; done
    uv run python bench/quality_on_sdists.py /tmp/sdists/*/

Prints a Markdown table (the service README's "Scores of real projects") and, per project, the
findings that set a rating other than A.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

from swe_agents.analysis import pipeline
from swe_agents.analysis.tools import Sandbox


async def analyze(source: Path) -> pipeline.AnalysisReport:
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "tree"
        shutil.copytree(source, tree, symlinks=True)
        files = pipeline.list_python_files(tree)
        other = pipeline.list_other_sources(tree)
        options = pipeline.AnalysisOptions()
        analysis = await pipeline.analyze_tree(
            tree, files, options, other_files=other, sandbox=Sandbox()
        )
        for path in [tree, *tree.rglob("*")]:  # sealed read-only by the pipeline
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o700)
        return pipeline.report(analysis, options)


def row(name: str, report: pipeline.AnalysisReport) -> str:
    quality = report["quality"]
    ratings = quality["ratings"]
    maintainability = ratings["maintainability"]
    return (
        f"| {name} | {report['lines_of_code'] - report['test_lines_of_code']} "
        f"| {quality['v1']['rating']} / {quality['v1']['score']} "
        f"| {quality['rating']} / {quality['score']} "
        f"| {maintainability['rating']} ({maintainability['debt_ratio'] * 100:.2f} %) "
        f"| {ratings['reliability']['rating']} ({ratings['reliability']['count']}) "
        f"| {ratings['security']['rating']} ({ratings['security']['count']}) "
        f"| {quality['to_review']['count']} | {quality['tests']['findings']} "
        f"| {quality['components']['test_noise_dropped']} |"
    )


def rated(report: pipeline.AnalysisReport) -> list[str]:
    return [
        f"  {f['kind']} {f['tool']}:{f['rule']} {f['severity']} {f['path']}:{f['line']} "
        f"{f['message'][:70]}"
        for f in report["findings"]
        if not f["test"] and f["kind"] in ("bug", "vulnerability") and f["severity"] != "info"
    ]


async def main(paths: list[str]) -> None:
    print(
        "| project | lines (non-test) | v1 | v2 | maintainability (debt) | reliability (bugs) "
        "| security (vulnerabilities) | hotspots to review | test-code findings "
        "| test noise dropped |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    details = []
    for path in paths:
        source = Path(path)
        report = await analyze(source)
        print(row(source.name, report))
        details += [f"{source.name}:", *rated(report)]
    print("\n" + "\n".join(details))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
