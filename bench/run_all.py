"""`make bench`: run every benchmark under bench/ in turn and gather one report.

Each ``*_bench.py`` prints its own Markdown table (with the side-by-side ratio it exists for)
and writes ``bench/results/<name>.json``. This runner adds the machine it ran on and its load
average, then a summary of every ``bench/results/*.json`` (``report.py``: one table of
throughput and latency per scenario, the ratios, and a PNG chart, ``results/report.png``), and
writes ``bench/results/REPORT.md``. ``make bench BENCH=events`` runs one (``BENCH=auth,services``
some); the others keep their sections of the last report and the summary still covers every
result file there (each row says when it was measured). ``load.json`` comes from
the end-to-end load run (``tests-e2e/test_load.py``, ``make load``).

``python bench/run_all.py --report-only`` runs no benchmark: it redraws the chart and the
summary from the JSON files as they are and keeps the per-benchmark sections of the last
``REPORT.md``.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def machine() -> str:
    cpus = os.cpu_count()
    with open("/proc/meminfo") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    return (
        f"{platform.node()}: {cpus} CPUs, {total_kb / 1024 / 1024:.0f} GiB, "
        f"Python {platform.python_version()}, {platform.platform()}"
    )


def load_average() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def header(note: str) -> list[str]:
    return [
        "# Benchmark report",
        "",
        f"Taken {datetime.now(UTC):%Y-%m-%d %H:%M UTC} on {machine()}, load average "
        f"{load_average()} at the start. {note}",
        "Figures are measured side by side in one run; the ratios are what to compare. On a "
        "shared machine absolute numbers move with the neighbours' load (each result's own "
        "load average is in the table when the benchmark recorded it).",
        "",
    ]


def previous_sections(report: Path) -> list[str]:
    """The per-benchmark sections of an earlier REPORT.md (everything but header and summary)."""
    if not report.exists():
        return []
    kept: list[str] = []
    keep = False
    for line in report.read_text().splitlines():
        if line.startswith("## "):
            keep = line.strip() != "## Summary"
        if keep:
            kept.append(line)
    return kept


# The heading run_all gives each benchmark's section (a benchmark's own headings have no "s)").
SECTION = re.compile(r"^## (\S+) \(\d+ s\)$")


def sections_by_bench(lines: list[str]) -> dict[str, list[str]]:
    """An earlier report's per-benchmark sections, by benchmark name."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        if match := SECTION.match(line):
            current = found.setdefault(match.group(1), [])
        if current is not None:
            current.append(line)
    return found


def summary() -> list[str]:
    sys.path.insert(0, str(HERE))
    try:
        import report  # bench/report.py

        return [report.build(RESULTS)]
    except Exception as exc:  # a broken chart must not lose the benchmarks' sections
        return ["## Summary", "", f"(summary failed: {exc!r})", ""]


def report_only() -> int:
    target = RESULTS / "REPORT.md"
    kept = previous_sections(target)
    note = "Benchmarks not re-run: the summary is drawn from the result files as they are."
    target.write_text("\n".join([*header(note), *summary(), *kept, ""]))
    print(f"report: {target}")
    return 0


def main() -> int:
    if "--report-only" in sys.argv[1:]:
        return report_only()
    only = set(filter(None, os.environ.get("BENCH", "").split(",")))
    benches = sorted(
        p for p in HERE.glob("*_bench.py") if not only or p.stem.removesuffix("_bench") in only
    )
    RESULTS.mkdir(exist_ok=True)
    head = header("")  # the load average before the benchmarks add their own
    sections: list[str] = []
    failed = []
    for bench in benches:
        print(f"== {bench.name}", flush=True)
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, str(bench)], capture_output=True, text=True, cwd=HERE.parent
        )
        elapsed = time.monotonic() - started
        print(proc.stdout, end="")
        if proc.returncode != 0:
            failed.append(bench.name)
            print(proc.stderr[-3000:], file=sys.stderr)
        sections += [
            f"## {bench.stem.removesuffix('_bench')} ({elapsed:.0f} s)",
            "",
            proc.stdout.strip() or "(no output)",
            "",
        ]
        if proc.returncode != 0:
            sections += [f"**failed** (exit {proc.returncode})", ""]
    if only:  # the benchmarks not run keep their sections of the last report
        kept = sections_by_bench(previous_sections(RESULTS / "REPORT.md"))
        kept.update(sections_by_bench(sections))
        sections = [line for name in sorted(kept) for line in kept[name]]
    (RESULTS / "REPORT.md").write_text("\n".join([*head, *summary(), *sections]))
    print(f"report: {RESULTS / 'REPORT.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
