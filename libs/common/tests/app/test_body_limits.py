"""Every service refuses a body over MAX_BODY_BYTES with 413 problem+json, before parsing it."""

from __future__ import annotations

from collections.abc import AsyncIterator

from swe_common.testing import running_app

from .conftest import build_app

PROBLEM = "application/problem+json"
WIDGETS = "/api/v1/example/widgets"


def padded_widget(size: int) -> bytes:
    """A valid widget as JSON, padded with whitespace to ``size`` bytes."""
    body = b'{"name": "w", "size": 1}'
    return body + b" " * (size - len(body))


async def test_a_declared_body_over_the_limit_answers_413_before_parsing(database_url):
    async with running_app(build_app(database_url, max_body_bytes=1000)) as client:
        # Not even JSON: a parser would have answered 422.
        response = await client.post(
            WIDGETS, content=b"{" * 1001, headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == "The request body exceeds 1000 bytes."
    assert response.json()["request_id"]


async def test_a_streamed_body_crossing_the_limit_answers_413(database_url):
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 100  # 2000 bytes in all, no Content-Length

    async with running_app(build_app(database_url, max_body_bytes=1000)) as client:
        response = await client.post(
            WIDGETS, content=chunks(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


async def test_a_body_within_the_limit_is_served(database_url):
    async with running_app(build_app(database_url, max_body_bytes=1000)) as client:
        response = await client.post(
            WIDGETS, content=padded_widget(1000), headers={"content-type": "application/json"}
        )
    assert response.status_code == 201


async def test_a_path_the_service_allows_more_takes_a_larger_body(database_url):
    app = build_app(database_url, body_limits={"/api/v1/example/*": 5000}, max_body_bytes=1000)
    async with running_app(app) as client:
        response = await client.post(
            WIDGETS, content=padded_widget(4000), headers={"content-type": "application/json"}
        )
    assert response.status_code == 201


async def test_the_default_limit_is_one_mebibyte(database_url):
    async with running_app(build_app(database_url)) as client:
        fits = await client.post(
            WIDGETS,
            content=padded_widget(1024 * 1024),
            headers={"content-type": "application/json"},
        )
        over = await client.post(
            WIDGETS,
            content=padded_widget(1024 * 1024 + 1),
            headers={"content-type": "application/json"},
        )
    assert fits.status_code == 201
    assert over.status_code == 413
