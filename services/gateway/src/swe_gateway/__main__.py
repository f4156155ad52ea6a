"""``python -m swe_gateway``: uvicorn with the settings the gateway needs.

Run this rather than plain ``uvicorn``: uvicorn trusts ``X-Forwarded-For`` from 127.0.0.1 by
default and rewrites the client address before the gateway sees it, which would let any local
caller pick its own rate-limit identity. The gateway applies its own ``trusted_proxies``.
"""

from __future__ import annotations

import uvicorn

from swe_gateway.server import GatewayHttpProtocol
from swe_gateway.settings import Settings


def main() -> None:
    settings = Settings.load()
    uvicorn.run(
        "swe_gateway.main:create_app",
        factory=True,
        http=GatewayHttpProtocol,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        proxy_headers=False,
        server_header=False,
        access_log=False,
        log_config=None,  # configure_logging owns the handlers
        timeout_graceful_shutdown=20,
        backlog=4096,
    )


if __name__ == "__main__":
    main()
