"""docs/asyncapi.yaml: the AsyncAPI 3.0 contract of the domain events, generated from the
services' event catalogs, kept current, and valid for the AsyncAPI project's own parser."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import yaml

from swe_common.events.asyncapi import render
from swe_common.events.docs import collect_catalogs

ROOT = Path(__file__).resolve().parents[4]
DOCUMENT = ROOT / "docs" / "asyncapi.yaml"
VALIDATOR = ROOT / "tests-e2e" / "web" / "validate-asyncapi.mjs"
PARSER = ROOT / "tests-e2e" / "web" / "node_modules" / "@asyncapi" / "parser"


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node, "Node.js is needed to validate docs/asyncapi.yaml (apt-get install nodejs)"
    assert PARSER.is_dir(), f"@asyncapi/parser is not installed ({PARSER}): run `make tools`"
    return subprocess.run(
        [node, str(VALIDATOR), str(path)], capture_output=True, text=True, timeout=120
    )


def test_docs_asyncapi_yaml_is_current():
    assert DOCUMENT.read_text() == render(ROOT), "docs/asyncapi.yaml is stale: make events-doc"


def test_every_event_type_and_version_has_its_channel_and_payload_schema():
    document = yaml.safe_load(DOCUMENT.read_text())
    specs = [spec for catalog in collect_catalogs(ROOT) for spec in catalog.specs.values()]
    assert specs
    for spec in specs:
        channel = document["channels"][spec.type]
        assert channel["address"] == spec.type
        assert channel["bindings"]["amqp"]["exchange"]["name"] == "swe.events"
        message = document["components"]["messages"][f"{spec.type}.v{spec.version}"]
        data = message["payload"]["allOf"][1]["properties"]
        assert data["schemaversion"] == {"const": spec.version}
        schema = document["components"]["schemas"][f"{spec.type}.v{spec.version}.data"]
        assert set(schema.get("required", [])) == {
            name for name, field in spec.payload.model_fields.items() if field.is_required()
        }


def test_the_asyncapi_parser_accepts_it_without_an_error():
    result = validate(DOCUMENT)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    events = sum(len(c.specs) for c in collect_catalogs(ROOT))
    assert summary == {"valid": True, "version": "3.0.0", "channels": events, "messages": events}


def test_the_parser_refuses_a_broken_contract(tmp_path):
    """The check can fail: a message pointing at a schema that does not exist is an error."""
    document = yaml.safe_load(DOCUMENT.read_text())
    first = next(iter(document["components"]["messages"].values()))
    first["payload"] = {"$ref": "#/components/schemas/NoSuchSchema"}
    broken = tmp_path / "asyncapi.yaml"
    broken.write_text(yaml.safe_dump(document))
    result = validate(broken)
    assert result.returncode == 1, result.stdout + result.stderr
