"""The gateway's own pages: /docs and /redoc with their assets served locally (no CDN, no web
font), /info (name, version, commit, build time), /asyncapi.yaml next to /openapi.json."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)


async def test_swagger_and_redoc_pages_load_nothing_from_another_origin(client):
    for page in ("/docs", "/redoc"):
        response = await client.get(page)
        assert response.status_code == 200, page
        html = response.text
        assert "/openapi.json" in html
        assert not EXTERNAL.findall(html), f"{page} loads from elsewhere: {EXTERNAL.findall(html)}"
        assert "cdn." not in html and "fonts.googleapis" not in html
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "http" not in csp
        for asset in re.findall(r"""(?:src|href)=["'](/docs/assets/[^"']+)""", html):
            loaded = await client.get(asset)
            assert loaded.status_code == 200, asset
            assert len(loaded.content) > 1000, asset


async def test_an_unknown_docs_asset_is_a_404_problem(client):
    response = await client.get("/docs/assets/nothing.js")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_info_names_the_platform_its_version_and_commit(client):
    response = await client.get("/info")
    assert response.status_code == 200
    info = response.json()
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert info["name"] == "swe-platform"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", info["version"])
    assert info["commit"] == head
    assert "build_time" in info


async def test_the_asyncapi_contract_is_served_next_to_the_openapi(client):
    response = await client.get("/asyncapi.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/yaml")
    assert response.content == (REPO / "docs" / "asyncapi.yaml").read_bytes()
    assert yaml.safe_load(response.text)["asyncapi"] == "3.0.0"
