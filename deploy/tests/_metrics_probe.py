"""Runs one service app in-process (swe_common.testing.running_app) and prints its /metrics.

    python deploy/tests/_metrics_probe.py <service> <database_url>

One process per service: the apps share module-level registries (Prometheus, SQLAlchemy), so
several of them cannot live in one interpreter. The broker URL points at a closed port: the
exposition must not depend on RabbitMQ (events wait in the outbox), and nothing is declared on
the shared broker. Redis keys get a unique prefix.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from swe_common.testing import free_port, running_app, unique_name

CLOSED_BROKER = "amqp://guest:guest@127.0.0.1:1/"


def settings_for(service: str, database_url: str):
    settings_cls = importlib.import_module(f"swe_{service}.settings").Settings
    overrides: dict[str, object] = {
        "amqp_url": CLOSED_BROKER,
        "events_exchange": unique_name("swe.events.deploytest"),
        "database_url": database_url,
    }
    if "metrics_port" in settings_cls.model_fields:  # the gateway: its own metrics listener
        overrides["metrics_port"] = free_port()
    for name, field in settings_cls.model_fields.items():
        default = field.default
        if isinstance(default, str) and (name.endswith("_queue") or name.endswith("_prefix")):
            queue = unique_name(f"deploytest.{default or service}")
            # A queue prefix is one dot-free segment (auth's setting says so).
            overrides[name] = queue.replace(".", "-") if name.endswith("_prefix") else queue
    return settings_cls(**overrides)


@asynccontextmanager
async def raw_asgi_app(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """running_app for a plain ASGI app (the gateway): drive the lifespan protocol by hand."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"startup failed: {started}")
    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


def metrics_url(app: Any) -> str:
    """A service's /metrics is on its app; the gateway's on its own listener (loopback)."""
    settings = getattr(app, "settings", None)
    if settings is not None and hasattr(settings, "metrics_port"):
        return f"http://127.0.0.1:{settings.metrics_port}/metrics"
    return "/metrics"


async def main(service: str, database_url: str) -> int:
    module = importlib.import_module(f"swe_{service}.main")
    kwargs = {}
    if "queue" in inspect.signature(module.create_app).parameters:
        kwargs["queue"] = unique_name(f"deploytest.{service}")
    app = module.create_app(settings_for(service, database_url), **kwargs)
    runner = running_app if hasattr(app, "router") else raw_asgi_app
    async with runner(app) as client:
        for path in ("/health/live", "/health/ready", "/openapi.json", "/no-such-path"):
            await client.get(path)
        url = metrics_url(app)
        if url.startswith("http"):
            async with httpx.AsyncClient() as network:  # a real socket, not the ASGI transport
                response = await network.get(url)
        else:
            response = await client.get(url)
    if response.status_code != 200:
        print(f"/metrics answered {response.status_code}", file=sys.stderr)
        return 1
    sys.stdout.write(response.text)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1], sys.argv[2])))
