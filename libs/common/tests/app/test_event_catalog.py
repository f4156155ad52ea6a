"""The published event catalog matches what the services declare."""

from pathlib import Path

from swe_common.events.docs import render

ROOT = Path(__file__).resolve().parents[4]


def test_docs_events_md_is_current():
    current = (ROOT / "docs" / "events.md").read_text()
    assert current == render(ROOT), "docs/events.md is stale: run `make events-doc`"
