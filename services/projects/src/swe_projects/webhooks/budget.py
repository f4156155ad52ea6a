"""The per-project budget of signed webhook deliveries, counted in Redis.

The gateway cannot verify GitHub's signatures, so it gives the public webhook path only a
generous per-address budget (and never spends the anonymous one on it); the budget that
names a project is spent here, after the signature, so nobody without the project's secret
can exhaust it and have GitHub's real deliveries refused.
"""

from __future__ import annotations

from fastapi import FastAPI

from swe_common.ratelimit import RateLimiter


async def start(app: FastAPI) -> None:
    app.state.webhook_limiter = RateLimiter(app.state.redis, namespace="swe:projects:webhooks")
