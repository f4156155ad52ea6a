"""The metrics catalog (docs/metrics.md) matches the metric definitions."""

from pathlib import Path

from prometheus_client import REGISTRY

from swe_common.metrics_docs import documented_names, render

ROOT = Path(__file__).resolve().parents[4]


def test_docs_metrics_md_is_current():
    current = (ROOT / "docs" / "metrics.md").read_text()
    assert current == render(ROOT), "docs/metrics.md is stale: run `make metrics-doc`"


def test_every_common_family_registered_in_this_process_is_in_the_catalog():
    """What the common modules register (imported by now) is documented; a family added to a
    module the catalog does not read fails here (deploy/tests checks every service's live
    /metrics the same way)."""
    documented = documented_names(ROOT)
    registered = {
        name
        for collector in list(getattr(REGISTRY, "_collector_to_names", {}))
        for name in REGISTRY._collector_to_names[collector]
        if name.startswith("swe_")
    }
    missing = set()
    for name in registered:
        base = name.removesuffix("_created").removesuffix("_bucket").removesuffix("_count")
        base = base.removesuffix("_sum")
        if not ({name, base, f"{base}_total"} & documented) and "_http_" not in name:
            missing.add(name)
    assert not missing, f"families missing from docs/metrics.md: {sorted(missing)}"
