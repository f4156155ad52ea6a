"""The web console's typed client is generated from a committed snapshot of the gateway's merged
OpenAPI document (services/web/openapi.json). When a service changes its API, the snapshot and
the client must be regenerated, or the console is typed against an API that no longer exists.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

SNAPSHOT = Path(__file__).resolve().parents[1] / "services" / "web" / "openapi.json"


def _differences(live: Any, committed: Any, path: str = "") -> list[str]:
    """Where two JSON documents differ (key order is not a difference)."""
    if isinstance(live, dict) and isinstance(committed, dict):
        out: list[str] = []
        for key in sorted(set(live) | set(committed)):
            where = f"{path}/{key}"
            if key not in live:
                out.append(f"{where} (only in the snapshot)")
            elif key not in committed:
                out.append(f"{where} (only in the running API)")
            else:
                out.extend(_differences(live[key], committed[key], where))
        return out
    return [] if live == committed else [path or "/"]


async def test_committed_openapi_snapshot_matches_the_running_gateway(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.get("/openapi.json")
    assert response.status_code == 200, response.text
    differences = _differences(response.json(), json.loads(SNAPSHOT.read_text("utf-8")))
    assert not differences, (
        "services/web/openapi.json is stale: run `npm run update-openapi` in services/web "
        "(against a running stack) and commit openapi.json and src/client. Differs at: "
        + ", ".join(differences[:10])
    )
