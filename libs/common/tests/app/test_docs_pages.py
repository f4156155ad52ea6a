"""Every service's /docs and /redoc load their scripts and styles from the service itself:
nothing from a CDN, no web fonts, a CSP that allows no other origin."""

from __future__ import annotations

import re

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)


async def test_docs_and_redoc_are_served_without_any_other_origin(client):
    for page in ("/docs", "/redoc"):
        response = await client.get(page)
        assert response.status_code == 200, page
        assert "/openapi.json" in response.text
        assert not EXTERNAL.findall(response.text), page
        assert "http" not in response.headers["content-security-policy"]
        assets = re.findall(r"""(?:src|href)=["'](/docs/assets/[^"']+)""", response.text)
        assert assets, page
        for asset in assets:
            loaded = await client.get(asset)
            assert loaded.status_code == 200 and len(loaded.content) > 1000, asset
