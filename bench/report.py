"""The benchmark report's summary: one table and one PNG chart from ``bench/results/*.json``.

Each benchmark writes its own JSON in its own shape; this module reads them all without knowing
the shapes in advance. A *scenario* is any JSON object holding a throughput (``rps``,
``per_second``, ``rate_per_s``, ``rate``, optionally prefixed: ``copy_rate``) and/or latency
percentiles (``p50_ms``, ``p95_ms``, ``p99_ms``, optionally prefixed: ``login_p50_ms``), named by
its path in the file. Keys holding ``ratio`` or ``_vs_`` are the side-by-side ratios. Missing or
unreadable files are skipped (and said so).

``uv run python bench/report.py`` draws ``bench/results/report.png`` from whatever JSON files are
there and prints the Markdown summary; ``bench/run_all.py`` embeds both in ``REPORT.md``. The
capacity run's steps (``capacity.json``) get a chart of their own, ``capacity.png``: latency
against the offered rate, which the bars of the summary cannot show.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CHART = "report.png"
CAPACITY_CHART = "capacity.png"

THROUGHPUT = re.compile(r"^(?:(?P<prefix>\w+?)_)?(?:rps|per_second|rate_per_s|rate)$")
LATENCY = re.compile(r"^(?:(?P<prefix>\w+?)_)?p(?P<q>50|95|99)_ms$")
RATIO = re.compile(r"(?:^|_)ratio(?:$|_)|_vs_")
STAMP_KEYS = ("at", "ran_at", "taken_at")
SKIP_SEGMENTS = {"results", "queries", "endpoints"}  # containers that add nothing to a name


@dataclass
class Scenario:
    bench: str
    name: str
    per_second: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None

    @property
    def label(self) -> str:
        return f"{self.bench}: {self.name}" if self.name else self.bench


@dataclass
class BenchResult:
    bench: str
    path: Path
    taken_at: str | None
    scenarios: list[Scenario]
    ratios: dict[str, float]
    load_average: str | None = None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _walk(bench: str, node: Any, path: list[str], out: BenchResult) -> None:
    if isinstance(node, list):
        return  # series (memory samples, ...) are not scenarios
    if not isinstance(node, dict):
        return
    found: dict[str, Scenario] = {}

    def scenario(prefix: str | None) -> Scenario:
        parts = [p for p in path if p not in SKIP_SEGMENTS] + ([prefix] if prefix else [])
        key = prefix or ""
        if key not in found:
            found[key] = Scenario(bench, " / ".join(parts) or "total")
        return found[key]

    for key, value in node.items():
        number = _number(value)
        if number is not None:
            if RATIO.search(key):
                out.ratios[".".join([*path, key])] = number
            elif match := THROUGHPUT.match(key):
                scenario(match["prefix"]).per_second = number
            elif match := LATENCY.match(key):
                setattr(scenario(match["prefix"]), f"p{match['q']}_ms", number)
        elif isinstance(value, dict):
            _walk(bench, value, [*path, key], out)
    out.scenarios.extend(found.values())


def load_text(data: dict[str, Any]) -> str | None:
    """The load average a result recorded at its start, as "1.2 0.9 0.5": a string, or
    ``{"start": [...], "end": [...]}`` (analytics)."""
    load = data.get("load_average") or data.get("load_average_before")
    if isinstance(load, dict):
        load = load.get("start")
    if isinstance(load, list):
        load = " ".join(str(value) for value in load)
    return str(load) if load else None


def load_result(path: Path) -> BenchResult | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    bench = str(data.get("benchmark") or path.stem)
    stamp = next((str(data[k]) for k in STAMP_KEYS if data.get(k)), None)
    if stamp is None:  # no timestamp inside: the file's own time
        stamp = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
    stamp = stamp.replace("T", " ")[:16] + " UTC" if stamp[:4].isdigit() else stamp
    result = BenchResult(bench, path, stamp, [], {}, load_text(data))
    _walk(bench, data, [], result)
    return result


def collect(results: Path = RESULTS) -> tuple[list[BenchResult], list[str]]:
    """Every readable result file, and the names of the ones that could not be read."""
    found, unreadable = [], []
    for path in sorted(results.glob("*.json")):
        result = load_result(path)
        if result is None:
            unreadable.append(path.name)
        else:
            found.append(result)
    return found, unreadable


def draw_chart(results: list[BenchResult], target: Path) -> Path | None:
    """Two panels side by side: throughput per scenario, latency p50/p95/p99 per scenario (both
    on log scales: the scenarios span five orders of magnitude). None when nothing to draw."""
    rows = [s for r in results for s in r.scenarios]
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(rows, key=lambda s: (s.bench, s.name))
    ratios = [(f"{r.bench}: {k}", v) for r in results for k, v in r.ratios.items()]
    labels = [s.label for s in rows]
    height = max(4.0, 0.28 * len(rows) + 1.5)
    strip_height = 0.3 * len(ratios) + 1.0 if ratios else 0.0
    fig = plt.figure(figsize=(15, height + strip_height))
    grid = fig.add_gridspec(
        2 if ratios else 1, 2, height_ratios=[height, strip_height] if ratios else [1]
    )
    left = fig.add_subplot(grid[0, 0])
    right = fig.add_subplot(grid[0, 1], sharey=left)
    y = list(range(len(rows)))
    palette = plt.get_cmap("tab10")
    benches = sorted({s.bench for s in rows})
    colors = [palette(benches.index(s.bench) % 10) for s in rows]

    values = [s.per_second or 0 for s in rows]
    left.barh(y, values, color=colors)
    left.set_xscale("symlog", linthresh=1)
    left.set_title("throughput (operations per second, more is better)")
    for i, v in enumerate(values):
        if v:
            left.annotate(f"{v:,.0f}", (v, i), xytext=(3, 0), textcoords="offset points",
                          va="center", fontsize=7)  # fmt: skip

    width = 0.27
    for offset, (q, marker) in enumerate((("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99"))):
        ys = [i + (offset - 1) * width for i in y]
        vals = [getattr(s, q) or 0 for s in rows]
        right.barh(ys, vals, height=width, label=marker, color=palette(offset), alpha=0.85)
    right.set_xscale("symlog", linthresh=1)
    right.set_title("latency (ms, less is better)")
    right.tick_params(labelleft=False)
    right.legend(loc="lower right", fontsize=8)

    left.set_yticks(y, labels, fontsize=8)
    left.invert_yaxis()
    for axis in (left, right):
        axis.grid(axis="x", which="both", alpha=0.3)
    if ratios:  # a strip below: the side-by-side ratios, 1.0 = parity
        strip = fig.add_subplot(grid[1, 0])
        strip.barh(range(len(ratios)), [v for _, v in ratios], color=palette(7))
        strip.axvline(1.0, color="black", linewidth=0.8)
        strip.set_yticks(range(len(ratios)), [k for k, _ in ratios], fontsize=8)
        strip.invert_yaxis()
        strip.set_title("side-by-side ratios (1.0 = parity)", fontsize=9)
        for i, (_, v) in enumerate(ratios):
            strip.annotate(f"{v:.2f}", (v, i), xytext=(3, 0), textcoords="offset points",
                           va="center", fontsize=7)  # fmt: skip
    fig.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return target


def draw_capacity_chart(source: Path, target: Path) -> Path | None:
    """The capacity run (``capacity_bench.py``): p50/p95/p99 against the offered rate for each
    mix (a cross where a step did not hold), the p99 limit, and achieved against offered.
    None when there is no capacity result."""
    try:
        data = json.loads(source.read_text())
        mixes = {name: mix["steps"] for name, mix in data["mixes"].items() if mix["steps"]}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not mixes:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (latency, achieved) = plt.subplots(1, 2, figsize=(14, 5.5))
    palette = plt.get_cmap("tab10")
    styles = ["-", "--", ":", "-."]
    top = 1.0
    for m, (name, steps) in enumerate(mixes.items()):
        offered = [s["offered"] for s in steps]
        top = max(top, *offered)
        for q, quantile in enumerate(("p50_ms", "p95_ms", "p99_ms")):
            values = [s[quantile] for s in steps]
            latency.plot(offered, values, styles[m % 4], marker="o", markersize=3,
                         color=palette(q), label=f"{quantile[:3]}, {name}")  # fmt: skip
        failed = [s for s in steps if not s.get("holds")]
        latency.scatter([s["offered"] for s in failed], [s["p99_ms"] for s in failed],
                        marker="x", s=60, color="black", zorder=3)  # fmt: skip
        achieved.plot(offered, [s["rps"] for s in steps], styles[m % 4], marker="o",
                      color=palette(m + 3), label=name)  # fmt: skip
        capacity = data["mixes"][name].get("capacity_rps")
        if capacity:
            latency.axvline(capacity, color=palette(m + 3), linewidth=0.8, alpha=0.6)
    limit = data.get("p99_limit_ms", 200)
    latency.axhline(limit, color="red", linewidth=0.8, label=f"p99 limit {limit:.0f} ms")
    latency.set(xscale="log", yscale="log", xlabel="offered requests/s (open loop)",
                ylabel="latency ms (from the scheduled send)",
                title="latency against the offered rate (x: step did not hold)")  # fmt: skip
    rates = sorted({s["offered"] for steps in mixes.values() for s in steps})
    latency.set_xticks(rates, [f"{r:g}" for r in rates], fontsize=7)
    values = [s[q] for steps in mixes.values() for s in steps for q in ("p50_ms", "p99_ms")]
    marks = [m for m in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000)
             if min(values) / 2 <= m <= max(values) * 2]  # fmt: skip
    latency.set_yticks(marks, [f"{m:g}" for m in marks], fontsize=7)
    latency.minorticks_off()
    latency.legend(fontsize=7)
    achieved.plot([0, top], [0, top], color="grey", linewidth=0.8, label="achieved = offered")
    achieved.set(xlabel="offered requests/s", ylabel="answered requests/s",
                 title=f"throughput ({data.get('cores', '?')} cores, load average "
                 f"{data.get('load_average_before', '?')} at the start)")  # fmt: skip
    achieved.legend(fontsize=8)
    for axis in (latency, achieved):
        axis.grid(which="both", alpha=0.3)
    fig.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return target


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def summary_markdown(
    results: list[BenchResult],
    unreadable: list[str],
    chart: Path | None,
    capacity_chart: Path | None = None,
) -> str:
    lines = ["## Summary", ""]
    if chart is not None:
        lines += [f"![throughput and latency per scenario]({chart.name})", ""]
    if capacity_chart is not None:
        lines += [f"![capacity: latency against the offered rate]({capacity_chart.name})", ""]
    if not results:
        return "\n".join([*lines, "(no results in bench/results/ yet)", ""])
    lines += [
        "| bench | measured | load average | scenario | ops/s | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for result in results:
        for s in sorted(result.scenarios, key=lambda s: s.name):
            lines.append(
                f"| {result.bench} | {result.taken_at or '?'} | {result.load_average or '?'} | "
                f"{s.name} | {_fmt(s.per_second)} | {_fmt(s.p50_ms)} | "
                f"{_fmt(s.p95_ms)} | {_fmt(s.p99_ms)} |"
            )
    ratios = [(r.bench, k, v) for r in results for k, v in r.ratios.items()]
    if ratios:
        lines += ["", "| bench | ratio | value |", "|---|---|---:|"]
        lines += [f"| {b} | {k} | {_fmt(v)} |" for b, k, v in ratios]
    if unreadable:
        lines += ["", f"Unreadable result files (skipped): {', '.join(unreadable)}."]
    return "\n".join([*lines, ""])


def build(results_dir: Path = RESULTS) -> str:
    """Draw the chart (when matplotlib is there) and answer the summary's Markdown."""
    results, unreadable = collect(results_dir)
    try:
        chart = draw_chart(results, results_dir / CHART)
        capacity_chart = draw_capacity_chart(
            results_dir / "capacity.json", results_dir / CAPACITY_CHART
        )
    except ImportError:
        chart = capacity_chart = None
        unreadable.append("(chart skipped: matplotlib is not installed)")
    return summary_markdown(results, unreadable, chart, capacity_chart)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS
    print(build(target))
