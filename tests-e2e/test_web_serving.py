"""The web console through the gateway, as a browser fetches it: the page on every client
route, hashed assets cached for good, compression, security headers, unknown API paths still
the gateway's 404 problem, and no request path that reads outside the build."""

from __future__ import annotations

import gzip
import http.client
import re
from urllib.parse import urlsplit

import httpx
import pytest
from e2e_support import Stack

SCRIPT = re.compile(r'<script[^>]+type="module"[^>]+src="(/assets/[^"]+\.js)"')


def script_path(page: httpx.Response) -> str:
    found = SCRIPT.search(page.text)
    assert found, f"no module script in the page:\n{page.text[:1000]}"
    return found.group(1)


def raw_get(stack: Stack, raw_path: str) -> tuple[int, bytes]:
    """The path goes on the wire as written: no client-side dot-segment removal."""
    where = urlsplit(stack.base_url)
    assert where.hostname is not None
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    try:
        connection.request("GET", raw_path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


async def test_the_root_answers_the_console_page_without_a_token(anonymous: httpx.AsyncClient):
    page = await anonymous.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-cache"
    assert '<div id="root">' in page.text or "<div id=root>" in page.text


async def test_a_deep_client_route_answers_the_same_page(anonymous: httpx.AsyncClient):
    root = await anonymous.get("/")
    deep = await anonymous.get("/projects/00000000-0000-0000-0000-000000000000/issues?state=open")
    assert deep.status_code == 200
    assert deep.text == root.text


async def test_hashed_assets_are_served_immutable_and_compressed(anonymous: httpx.AsyncClient):
    path = script_path(await anonymous.get("/"))
    asset = await anonymous.get(path, headers={"Accept-Encoding": "gzip"})
    assert asset.status_code == 200
    assert asset.headers["content-type"] == "text/javascript; charset=utf-8"
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert asset.headers["content-encoding"] == "gzip"
    assert asset.headers["vary"] == "Accept-Encoding"
    async with anonymous.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as streamed:
        wire = b"".join([chunk async for chunk in streamed.aiter_raw()])
    assert gzip.decompress(wire) == asset.content


async def test_an_unchanged_asset_revalidates_with_a_304(anonymous: httpx.AsyncClient):
    path = script_path(await anonymous.get("/"))
    first = await anonymous.get(path)
    again = await anonymous.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


async def test_an_unknown_api_path_is_the_gateways_404_problem(anonymous: httpx.AsyncClient):
    response = await anonymous.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["instance"] == "/api/v1/nope"


async def test_the_api_behind_the_console_still_wants_a_token(anonymous: httpx.AsyncClient):
    assert (await anonymous.get("/api/v1/projects")).status_code == 401


async def test_writes_to_console_paths_are_refused(anonymous: httpx.AsyncClient):
    response = await anonymous.post("/projects", content=b"x")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize("path", ["/", "/projects", "/api/v1/nope"])
async def test_console_answers_carry_a_strict_csp_and_the_security_headers(
    anonymous: httpx.AsyncClient, path: str
):
    response = await anonymous.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    if path != "/api/v1/nope":  # the page's policy; the API answers JSON, not a document
        csp = response.headers["content-security-policy"]
        assert "script-src 'self';" in csp
        assert "frame-ancestors 'none'" in csp
        assert "object-src 'none'" in csp
        assert "permissions-policy" in response.headers
        assert response.headers.get_list("content-security-policy") == [csp], "one policy"


async def test_no_cors_is_opened_for_the_console(anonymous: httpx.AsyncClient):
    response = await anonymous.get("/", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    "raw_path",
    ["/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/assets/..%2f..%2fetc%2fpasswd", "/a%00b"],
)
def test_no_path_reads_outside_the_build(stack: Stack, raw_path: str):
    status, body = raw_get(stack, raw_path)
    assert status in (400, 404), (status, body[:200])
    assert b"root:" not in body
