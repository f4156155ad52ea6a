"""`make bench`: run every benchmark under bench/ in turn and gather one report.

Each ``*_bench.py`` prints its own Markdown table (with the side-by-side ratio it exists for)
and writes ``bench/results/<name>.json``. This runner adds the machine it ran on and writes
``bench/results/REPORT.md``. ``make bench BENCH=events`` runs one.
"""

from __future__ import annotations

import os
import platform
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


def main() -> int:
    only = set(filter(None, os.environ.get("BENCH", "").split(",")))
    benches = sorted(
        p for p in HERE.glob("*_bench.py") if not only or p.stem.removesuffix("_bench") in only
    )
    RESULTS.mkdir(exist_ok=True)
    sections = [
        "# Benchmark report",
        "",
        f"Taken {datetime.now(UTC):%Y-%m-%d %H:%M UTC} on {machine()}.",
        "Figures are measured side by side in one run; the ratios are what to compare.",
        "",
    ]
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
    (RESULTS / "REPORT.md").write_text("\n".join(sections))
    print(f"report: {RESULTS / 'REPORT.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
