"""``/docs`` (Swagger UI) and ``/redoc`` with their assets served by the process itself, never
from a CDN: the files ship in the ``fastapi-offline`` wheel and are read once, at import.

Every service and the gateway serve the same pages: ``docs_router(openapi_url, title)``.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from swe_common.errors import NotFound

ASSET_PREFIX = "/docs/assets"
_STATIC = Path(fastapi_offline.__file__).parent / "static"
_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
ASSETS: dict[str, bytes] = {name: (_STATIC / name).read_bytes() for name in _TYPES}
# Swagger UI's page starts it with an inline script; ReDoc renders in a blob: worker. Nothing
# from another origin: no CDN, no web fonts.
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'"
)
_CACHE = "public, max-age=86400"


def _page(response: HTMLResponse) -> HTMLResponse:
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


def swagger_page(openapi_url: str, title: str) -> HTMLResponse:
    return _page(
        get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{ASSET_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSET_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{ASSET_PREFIX}/favicon.png",
        )
    )


def redoc_page(openapi_url: str, title: str) -> HTMLResponse:
    return _page(
        get_redoc_html(
            openapi_url=openapi_url,
            title=title,
            redoc_js_url=f"{ASSET_PREFIX}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSET_PREFIX}/favicon.png",
            with_google_fonts=False,
        )
    )


def docs_router(openapi_url: str, title: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def swagger() -> HTMLResponse:
        return swagger_page(openapi_url, title)

    @router.get("/redoc")
    async def redoc() -> HTMLResponse:
        return redoc_page(openapi_url, title)

    @router.get(ASSET_PREFIX + "/{name}")
    async def asset(name: str) -> Response:
        if name not in ASSETS:
            raise NotFound(f"No documentation asset {name!r}")
        return Response(ASSETS[name], media_type=_TYPES[name], headers={"Cache-Control": _CACHE})

    return router
