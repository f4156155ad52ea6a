"""swe_web as a browser meets it: the page on every client route, cached hashed assets,
compression, revalidation, security headers, and no way out of the build directory."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from pathlib import Path

import pytest
from web_support import SECRET, Server, poll, start_server

from swe_web.testing import write_placeholder_build

SECURITY = {
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
    "permissions-policy",
}


def script_path(server: Server) -> str:
    _, _, body = server.get("/")
    found = re.search(rb'<script type="module" crossorigin src="([^"]+)"', body)
    assert found, body
    return found.group(1).decode()


def test_root_answers_the_page_revalidated_on_every_load(server: Server):
    status, headers, body = server.get("/")
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["cache-control"] == "no-cache"
    assert b'<div id="root">' in body


@pytest.mark.parametrize("route", ["/projects", "/projects/42/issues", "/settings/keys?tab=2"])
def test_client_side_routes_answer_the_page(server: Server, route: str):
    status, headers, body = server.get(route)
    assert status == 200
    assert headers["cache-control"] == "no-cache"
    assert body == server.get("/")[2]


def test_hashed_assets_are_cached_for_a_year_as_immutable(server: Server):
    status, headers, body = server.get(script_path(server))
    assert status == 200
    assert headers["content-type"] == "text/javascript; charset=utf-8"
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert b"placeholder build" in body


def test_other_files_of_the_build_are_revalidated(server: Server):
    status, headers, body = server.get("/robots.txt")
    assert (status, headers["cache-control"]) == (200, "no-cache")
    assert body.startswith(b"User-agent")


def test_a_missing_asset_is_a_404_not_the_page(server: Server):
    status, headers, body = server.get("/assets/index-00000000.js")
    assert status == 404
    assert headers["content-type"] == "application/problem+json"
    assert b"<html" not in body


@pytest.mark.parametrize("path", ["/api", "/api/v1/nope", "/ws", "/ws/runs/1"])
def test_api_and_websocket_paths_never_answer_the_page(server: Server, path: str):
    status, headers, body = server.get(path)
    assert status == 404
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == 404


def test_gzip_is_sent_when_accepted_and_varies_on_accept_encoding(server: Server):
    path = script_path(server)
    status, headers, body = server.get(path, {"Accept-Encoding": "gzip, deflate"})
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert headers["vary"] == "Accept-Encoding"
    plain = server.get(path)[2]
    assert gzip.decompress(body) == plain
    assert len(body) < len(plain)


def test_identity_is_sent_when_gzip_is_refused(server: Server):
    status, headers, _ = server.get(script_path(server), {"Accept-Encoding": "gzip;q=0, br;q=0"})
    assert status == 200
    assert "content-encoding" not in headers
    assert headers["vary"] == "Accept-Encoding"


def test_a_precompressed_brotli_sibling_is_preferred_when_accepted(tmp_path: Path):
    dist = write_placeholder_build(tmp_path / "dist")
    script = next((dist / "assets").glob("*.js"))
    (script.parent / (script.name + ".br")).write_bytes(b"pretend-brotli")
    proc, server = start_server(dist)
    try:
        path = f"/assets/{script.name}"
        status, headers, body = server.get(path, {"Accept-Encoding": "gzip, br"})
        assert (status, headers["content-encoding"], body) == (200, "br", b"pretend-brotli")
        assert server.get(path, {"Accept-Encoding": "gzip"})[1]["content-encoding"] == "gzip"
        assert server.get(path + ".br")[0] == 404, "a sibling is a variant, not a file"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_etag_revalidation_answers_304_without_a_body(server: Server):
    path = script_path(server)
    _, headers, _ = server.get(path, {"Accept-Encoding": "gzip"})
    status, again, body = server.get(
        path, {"Accept-Encoding": "gzip", "If-None-Match": headers["etag"]}
    )
    assert (status, body) == (304, b"")
    assert again["etag"] == headers["etag"]
    assert again["cache-control"] == "public, max-age=31536000, immutable"


def test_each_encoding_has_its_own_etag(server: Server):
    path = script_path(server)
    gzipped = server.get(path, {"Accept-Encoding": "gzip"})[1]["etag"]
    plain = server.get(path)[1]["etag"]
    assert gzipped != plain
    assert server.get(path, {"If-None-Match": gzipped})[0] == 200


def test_head_answers_the_headers_without_the_body(server: Server):
    status, headers, body = server.get("/", method="HEAD")
    assert (status, body) == (200, b"")
    assert int(headers["content-length"]) == len(server.get("/")[2])


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_only_get_and_head_are_allowed(server: Server, method: str):
    status, headers, _ = server.get("/projects", method=method)
    assert status == 405
    assert headers["allow"] == "GET, HEAD"
    assert headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/projects/1",
        "/assets/missing.js",
        "/api/v1/nope",
        "/../secret.txt",
        "/health/ready",
        "/health/live",
    ],
)
def test_every_answer_carries_the_security_headers(server: Server, path: str):
    _, headers, _ = server.get(path)
    assert headers.keys() >= SECURITY, SECURITY - headers.keys()
    csp = headers["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self';",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert "unsafe-eval" not in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    "raw_path",
    [
        "/../secret.txt",
        "/assets/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/assets/%2E%2E/%2e%2e/secret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/..%5c..%5csecret.txt",
        "/secret.txt%00.js",
        "/%00",
        "/assets/leak.txt",
    ],
)
def test_no_request_reads_a_file_outside_the_build(server: Server, raw_path: str):
    status, _, body = server.get(raw_path)
    assert status in (400, 404), (status, body[:200])
    assert SECRET.encode() not in body


def test_a_dot_segment_path_is_refused_with_a_problem(server: Server):
    status, headers, body = server.get("/%2e%2e/secret.txt")
    assert status == 400
    assert headers["content-type"] == "application/problem+json"
    assert "'..'" in json.loads(body)["detail"]


def test_not_ready_until_a_build_exists_then_ready_without_restart(fresh_server: Server):
    assert fresh_server.get("/health/live")[0] == 200
    status, _, body = fresh_server.get("/health/ready")
    assert status == 503
    assert "index.html" in json.loads(body)["detail"]
    assert fresh_server.get("/")[0] == 503
    write_placeholder_build(fresh_server.dist)
    assert poll(lambda: fresh_server.get("/health/ready")[0] == 200)
    assert b'<div id="root">' in fresh_server.get("/")[2]


def test_a_rebuild_is_served_without_restart(fresh_server: Server):
    write_placeholder_build(fresh_server.dist, label="first")
    assert poll(lambda: fresh_server.get("/health/ready")[0] == 200)
    first = script_path(fresh_server)
    shutil.rmtree(fresh_server.dist)
    write_placeholder_build(fresh_server.dist, label="second")
    assert poll(lambda: script_path(fresh_server) != first)
    status, _, body = fresh_server.get(script_path(fresh_server))
    assert status == 200
    assert body.rstrip().endswith(b'second";')


def test_metrics_count_requests_by_status(server: Server):
    server.get("/projects")
    status, _, body = server.get("/metrics")
    assert status == 200
    assert re.search(
        rb'swe_web_http_requests_total\{handler="/",method="GET",status="200"\} ', body
    )
