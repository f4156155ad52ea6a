"""What a SARIF document must hold: the OASIS 2.1.0 schema, and every property GitHub's code
scanning documents that it reads (docs.github.com, "SARIF support for code scanning")."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SCHEMA = json.loads(
    (Path(__file__).parents[3] / "tests-e2e" / "data" / "sarif-schema-2.1.0.json").read_text()
)
LINE_HASH = re.compile(r"^[0-9a-f]{16}:[1-9][0-9]*$")
SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$")


def assert_github_requirements(document: dict[str, Any]) -> None:
    """Every property GitHub's code scanning documents that it reads, read and checked."""
    assert document["version"] == "2.1.0"
    assert "sarif-schema-2.1.0" in document["$schema"]
    assert 1 <= len(document["runs"]) <= 20
    categories = set()
    for run in document["runs"]:
        driver = run["tool"]["driver"]
        assert driver["name"] and driver["informationUri"].startswith("https://")
        assert driver["version"] and SEMVER.match(driver["semanticVersion"]), driver
        category, _, _ = run["automationDetails"]["id"].rpartition("/")
        assert category.startswith("swe-agents/")
        assert (driver["name"], category) not in categories  # one run per tool and category
        categories.add((driver["name"], category))
        provenance = run["versionControlProvenance"][0]
        assert provenance["repositoryUri"] and re.fullmatch(
            r"[0-9a-f]{40}", provenance["revisionId"]
        )
        assert provenance["branch"] and provenance["mappedTo"] == {"uriBaseId": "%SRCROOT%"}
        assert "%SRCROOT%" in run["originalUriBaseIds"]
        _check_rules(driver, security=driver["name"] in ("bandit", "secrets"))
        assert len(run["results"]) <= 25_000
        for result in run["results"]:
            _check_result(result, driver["rules"])


def _check_rules(driver: dict[str, Any], security: bool) -> None:
    assert len(driver["rules"]) <= 25_000
    for rule in driver["rules"]:
        assert rule["id"] and rule["name"]
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] in ("note", "warning", "error")
        properties = rule["properties"]
        assert properties["precision"] in ("very-high", "high", "medium", "low")
        assert properties["problem.severity"] in ("error", "warning", "recommendation")
        assert isinstance(properties["tags"], list) and len(properties["tags"]) <= 20
        if security:
            assert 0.0 <= float(properties["security-severity"]) <= 10.0
            assert "security" in properties["tags"]
        else:
            assert "security-severity" not in properties


def _check_result(result: dict[str, Any], rules: list[dict[str, Any]]) -> None:
    assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    assert result["level"] in ("note", "warning", "error")
    assert result["message"]["text"]
    assert 1 <= len(result["locations"]) <= 10
    physical = result["locations"][0]["physicalLocation"]
    uri = physical["artifactLocation"]["uri"]
    assert not uri.startswith(("/", "file:")) and " " not in uri
    assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    region = physical["region"]
    assert 1 <= region["startLine"] <= region["endLine"]
    if "endColumn" in region:
        assert region["startColumn"] >= 1
        assert (
            region["endLine"] > region["startLine"] or region["endColumn"] > region["startColumn"]
        )
    assert LINE_HASH.match(result["partialFingerprints"]["primaryLocationLineHash"])
