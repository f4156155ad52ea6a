"""The console's server: ``uvicorn --factory swe_web.main:create_app`` (port 8006).

A plain ASGI app, no framework routing on the hot path: one dict lookup per request in the
build held in memory (``site.py``). ``/`` and every client-side route answer ``index.html``
(``no-cache``: a new build shows at the next load); hashed files under ``/assets/`` are cached
for a year (``immutable``: their names change with their content). ``/api/`` and ``/ws/``
belong to the gateway's other routes: a request for them that reaches this server answers a
404 problem, never the app's page.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterable
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import Receive, Scope, Send

from swe_common.errors import send_problem
from swe_common.logging import configure_logging
from swe_web.settings import Settings
from swe_web.site import (
    EMPTY,
    Build,
    StaticFile,
    accepted_encodings,
    etag_matches,
    index_signature,
    load_build,
)

log = structlog.stdlib.get_logger("swe.web")

Headers = list[tuple[bytes, bytes]]

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # 'unsafe-inline' for styles only: the component library (Mantine) and its
        # dependencies set style attributes and inject <style> elements at run time. Styles
        # cannot run code; scripts stay 'self' only, so an injected <script> never runs.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        # 'self' covers same-origin ws:/wss: as well (CSP Level 3; the browser test checks it).
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS: Headers = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (
        b"permissions-policy",
        b"camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    ),
]
NO_CACHE = b"no-cache"
IMMUTABLE = b"public, max-age=31536000, immutable"
ASSETS = "/assets/"
NOT_OURS = ("/api", "/ws")  # the gateway's API and WebSocket routes
ALLOWED = (b"allow", b"GET, HEAD")

REQUESTS = Counter("swe_web_http_requests", "Requests answered", ["method", "status", "handler"])
DURATION = Histogram(
    "swe_web_http_request_duration_highr_seconds",
    "Time to answer a request",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


class WebConsole:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.build: Build = EMPTY
        self._watcher: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1008})
            return
        started = time.perf_counter()
        status, handler = 500, "none"
        try:
            status, handler = await self._answer(scope, send)
        except Exception:
            log.exception("unhandled_error", path=scope["path"])
            with contextlib.suppress(RuntimeError):  # the answer had already begun
                await _problem(send, 500, "An unexpected error occurred.", "internal")
        finally:
            REQUESTS.labels(scope["method"], str(status), handler).inc()
            DURATION.observe(time.perf_counter() - started)

    async def _answer(self, scope: Scope, send: Send) -> tuple[int, str]:
        path: str = scope["path"]
        method: str = scope["method"]
        if "\x00" in path or "\\" in path or _has_dot_segment(path):
            detail = "Paths with NUL, backslash, '.' or '..' segments are not accepted."
            return await _problem(send, 400, detail, "bad-path"), "none"
        if path in ("/health/live", "/health/ready", "/metrics"):
            return await self._own(path, send), path
        if method not in ("GET", "HEAD"):
            detail = f"{method} is not allowed here; the console only answers GET and HEAD."
            return await _problem(send, 405, detail, "method-not-allowed", [ALLOWED]), "none"
        if any(path == p or path.startswith(p + "/") for p in NOT_OURS):
            return await _problem(send, 404, f"No service serves {path}", "not-found"), "none"
        build = self.build
        if build.index is None:
            detail = "The console is not built yet (npm run build in services/web)."
            extra = [(b"retry-after", b"5")]
            return await _problem(send, 503, detail, "unavailable", extra), "none"
        found = build.files.get(path)
        if found is not None and path.startswith(ASSETS):
            return await self._file(scope, send, found, IMMUTABLE), "/assets/{file}"
        if found is not None:
            return await self._file(scope, send, found, NO_CACHE), "/{file}"
        if path.startswith(ASSETS):
            # A stale page asking for an asset of an older build: a 404, not the page (the
            # browser would otherwise try to run HTML as a script).
            return await _problem(send, 404, f"No asset {path}", "not-found"), "none"
        return await self._file(scope, send, build.index, NO_CACHE), "/"

    async def _file(self, scope: Scope, send: Send, file: StaticFile, cache: bytes) -> int:
        variant = file.variant_for(accepted_encodings(_header(scope, b"accept-encoding")))
        headers: Headers = [(b"cache-control", cache), (b"etag", variant.etag)]
        if file.negotiated:
            headers.append((b"vary", b"Accept-Encoding"))
        if etag_matches(_header(scope, b"if-none-match"), variant.etag):
            await _send(send, 304, headers, b"")
            return 304
        headers.append((b"content-type", file.content_type))
        if variant.encoding:
            headers.append((b"content-encoding", variant.encoding.encode()))
        headers.append((b"content-length", str(len(variant.body)).encode()))
        await _send(send, 200, headers, b"" if scope["method"] == "HEAD" else variant.body)
        return 200

    async def _own(self, path: str, send: Send) -> int:
        if path == "/metrics":
            body = generate_latest()
            await _send(send, 200, [(b"content-type", CONTENT_TYPE_LATEST.encode())], body)
            return 200
        if path == "/health/live":
            return await _json(send, 200, {"status": "ok"})
        if self.build.index is None:
            detail = f"Not ready: no built console (index.html) in {self.settings.dist_dir}"
            checks = {"build": "missing index.html"}
            return await _problem(send, 503, detail, "unavailable", checks=checks)
        return await _json(send, 200, {"status": "ok", "checks": {"build": "ok"}})

    # -- the build ------------------------------------------------------------------

    async def reload_if_changed(self) -> None:
        """Load the build again when its index.html changed (a rebuild writes it last)."""
        root = self.settings.dist_dir
        signature = await asyncio.to_thread(index_signature, root)
        if signature is None or signature == self.build.signature:
            # Mid-rebuild (index.html gone) the last complete build keeps being served.
            return
        build = await asyncio.to_thread(load_build, root, self.settings.gzip_min_bytes)
        if build.index is not None:
            self.build = build
            log.info("build_loaded", dist=str(root), files=len(build.files))

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.settings.reload_seconds)
            try:
                await self.reload_if_changed()
            except OSError as exc:  # a file vanished mid-read: the next round sees the rest
                log.warning("build_reload_failed", error=str(exc))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.reload_if_changed()
                if self.build.index is None:
                    log.warning("no_build", dist=str(self.settings.dist_dir))
                self._watcher = asyncio.create_task(self._watch())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._watcher is not None:
                    self._watcher.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._watcher
                await send({"type": "lifespan.shutdown.complete"})
                return


def _has_dot_segment(path: str) -> bool:
    """``.`` or ``..`` as a whole segment (uvicorn has already percent-decoded ``%2e``)."""
    return "/." in path and any(segment in (".", "..") for segment in path.split("/"))


def _header(scope: Scope, name: bytes) -> bytes | None:
    headers: Iterable[tuple[bytes, bytes]] = scope["headers"]
    for key, value in headers:
        if key == name:
            return value
    return None


async def _send(send: Send, status: int, headers: Headers, body: bytes) -> None:
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + SECURITY_HEADERS}
    )
    await send({"type": "http.response.body", "body": body})


async def _json(send: Send, status: int, payload: dict[str, Any]) -> int:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
    await _send(send, status, [*headers, (b"content-length", str(len(body)).encode())], body)
    return status


async def _problem(
    send: Send,
    status: int,
    detail: str,
    slug: str,
    headers: Headers | None = None,
    **extra: Any,
) -> int:
    headers = [(b"cache-control", b"no-store"), *(headers or []), *SECURITY_HEADERS]
    await send_problem(send, status, detail=detail, slug=slug, headers=headers, **extra)
    return status


def create_app(settings: Settings | None = None) -> WebConsole:
    settings = settings or Settings.load()
    configure_logging(settings)
    return WebConsole(settings)
