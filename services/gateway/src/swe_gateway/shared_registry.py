"""The registry's runtime changes, shared by every gateway instance through Redis.

The routes file (or ``GATEWAY_UPSTREAMS``) is the default: what each instance starts with and
what it returns to. Changes made through the admin API are written to Redis instead of one
process's memory:

- ``<prefix>:services``, a hash: service name -> JSON ``{"instances": [{"url", "weight"}],
  "routes": [{"prefix", "timeout"}], "registered": bool}``. A file service named here has these
  instances instead of the file's (``registered`` false, no routes); a service registered at
  runtime (``registered`` true) brings its own routes.
- ``<prefix>:resets``, a hash: service name -> how many times its breaker was reset.
- ``<prefix>:version``, bumped by every change, and ``<prefix>:changed``, the channel every
  change is published on.

Every instance subscribes to the channel and re-reads the state when told; it also compares
the version every ``registry_reconcile_seconds``, so an instance that missed a message (it was
reconnecting) still converges. A change is an optimistic transaction (WATCH/MULTI), so two
admins changing one service at once on two instances never lose one of the changes.

What each instance observes itself stays its own: health checks, ejections, the breaker's
counts. A breaker reset is an order, not a state: each instance resets its breaker when it
sees the service's reset count grow.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError, WatchError

from swe_common.errors import Conflict, NotFound, ServiceUnavailable, Unprocessable
from swe_gateway.config import GatewayConfig, Route
from swe_gateway.settings import Settings, UpstreamInstance
from swe_gateway.upstreams import Registry

log = structlog.stdlib.get_logger(__name__)

T = TypeVar("T")

# Paths the gateway answers itself: a runtime route may not take them.
RESERVED_PREFIXES = (
    "/api/v1/gateway",
    "/health",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/asyncapi.yaml",
    "/info",
    "/metrics",
)
PREFIX_PATTERN = re.compile(r"^(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$")
CHANGE_ATTEMPTS = 20


@dataclass
class State:
    """What Redis holds: runtime documents per service, breaker reset counts, the version."""

    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    resets: dict[str, int] = field(default_factory=dict)
    version: int = 0
    changed: set[str] = field(default_factory=set)  # services whose document a change rewrote
    reset: set[str] = field(default_factory=set)  # services whose breaker a change resets


class SharedRegistry:
    """Reads, applies and changes the shared state; owns the subscription that keeps this
    instance current."""

    def __init__(self, settings: Settings, config: GatewayConfig, registry: Registry) -> None:
        self.settings = settings
        self.config = config
        self.registry = registry
        self.file_services = {name: list(specs) for name, specs in config.services.items()}
        self.file_routes = config.routes
        prefix = settings.registry_prefix
        self.services_key = f"{prefix}:services"
        self.resets_key = f"{prefix}:resets"
        self.version_key = f"{prefix}:version"
        self.channel = f"{prefix}:changed"
        # Off the hot path: its own client, with timeouts for admin calls, not the 50 ms ones.
        self.redis: aioredis.Redis = aioredis.from_url(
            settings.redis_url.get_secret_value(),
            socket_timeout=2.0,
            socket_connect_timeout=1.0,
            decode_responses=True,
        )
        self.state = State()
        self.version: int | None = None  # None: never read (the file's configuration only)
        self._seen_resets: dict[str, int] | None = None
        self._task: asyncio.Task[None] | None = None

    # -- keeping current ----------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.redis.aclose()

    async def refresh(self) -> None:
        """Read the shared state and apply it (raises on a Redis error)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(self.services_key)
            pipe.hgetall(self.resets_key)
            pipe.get(self.version_key)
            services, resets, version = await pipe.execute()
        self.apply(_state(services, resets, version))

    async def _follow(self) -> None:
        """Subscribe, read the state, then re-read it on every message and whenever the
        version moved without one (checked every ``registry_reconcile_seconds``)."""
        interval = self.settings.registry_reconcile_seconds
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    await self.refresh()  # after subscribing: no change falls in between
                    next_check = time.monotonic() + interval
                    while True:
                        wait = max(0.0, min(1.0, next_check - time.monotonic()))
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=wait
                        )
                        if message is not None:
                            await self.refresh()
                        elif time.monotonic() >= next_check:
                            await self._reconcile()
                            next_check = time.monotonic() + interval
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("shared_registry_unreachable", error=type(exc).__name__)
                await asyncio.sleep(min(interval, 2.0))
            except Exception:  # never stop following: the next round may read a good state
                log.exception("shared_registry_follow_failed")
                await asyncio.sleep(min(interval, 2.0))

    async def _reconcile(self) -> None:
        raw = await self.redis.get(self.version_key)
        if int(raw or 0) != self.version:
            log.info("shared_registry_reconciled", version=raw)
            await self.refresh()

    def apply(self, state: State) -> None:
        """Make this instance's registry and routes what the file and the shared state say."""
        if self.version is not None and 0 < state.version < self.version:
            return  # read before a change this instance has already applied
        services: dict[str, list[UpstreamInstance]] = dict(self.file_services)
        routes = list(self.file_routes)
        for name, doc in state.services.items():
            services[name] = _instances(doc)
            if doc.get("registered") and name not in self.file_services:
                routes += [
                    Route(
                        prefix=str(r["prefix"]),
                        service=name,
                        timeout=float(r.get("timeout") or self.settings.default_timeout_seconds),
                        max_body_bytes=self.settings.max_body_bytes,
                    )
                    for r in doc.get("routes", [])
                ]
        self.registry.sync(services)
        self.config.routes = tuple(sorted(routes, key=lambda r: len(r.prefix), reverse=True))
        seen = self._seen_resets
        if seen is not None:
            for name, count in state.resets.items():
                if count > seen.get(name, 0) and name in self.registry.pools:
                    self.registry.pools[name].breaker.reset()
                    log.info("breaker_reset", service=name)
        self._seen_resets = dict(state.resets)
        self.state = state
        self.version = state.version

    # -- what the admin API shows --------------------------------------------------------

    def describe(self, name: str) -> dict[str, Any]:
        doc = self.state.services.get(name)
        registered = name not in self.file_services
        return {
            "source": "runtime" if registered else "file",
            "changed_at_runtime": doc is not None and not registered,
            "routes": sorted(r.prefix for r in self.config.routes if r.service == name),
        }

    # -- changes (the admin API) -----------------------------------------------------------

    async def set_instance(self, name: str, url: str, weight: int | None) -> bool:
        """Register an instance (weight 1 unless given) or change a registered one's weight;
        whether it is new."""

        def change(state: State) -> bool:
            doc = self._document(state, name)
            instances = doc["instances"]
            known = next((i for i in instances if i["url"] == url), None)
            if known is None:
                instances.append({"url": url, "weight": 1 if weight is None else weight})
            elif weight is not None:
                known["weight"] = weight
            state.services[name] = doc
            state.changed.add(name)
            return known is None

        return await self._change(change)

    async def remove_instance(self, name: str, url: str) -> None:
        def change(state: State) -> None:
            doc = self._document(state, name)
            kept = [i for i in doc["instances"] if i["url"] != url]
            if len(kept) == len(doc["instances"]):
                raise NotFound(f"{name} has no instance {url}")
            doc["instances"] = kept
            state.services[name] = doc
            state.changed.add(name)

        await self._change(change)

    async def reset_breaker(self, name: str) -> None:
        def change(state: State) -> None:
            self._document(state, name)  # 404 for an unknown service
            state.reset.add(name)

        await self._change(change)

    async def put_service(
        self, name: str, instances: list[UpstreamInstance], routes: list[tuple[str, float | None]]
    ) -> bool:
        """Register a service with its routes and instances, or replace a runtime one's; a file
        service may have its instances replaced but keeps the file's routes. Whether it is new."""
        if name in self.file_services and routes:
            raise Conflict(
                f"{name} is defined by the routes file; its routes cannot change at runtime "
                "(send its instances alone)"
            )
        urls = [i.url for i in instances]
        if len(set(urls)) != len(urls):
            raise Unprocessable(
                "An instance is listed twice",
                errors=[{"field": "instances", "message": "each URL at most once"}],
            )
        prefixes = [prefix for prefix, _ in routes]
        for index, prefix in enumerate(prefixes):
            _check_prefix(prefix, f"routes.{index}.prefix")
        if len(set(prefixes)) != len(prefixes):
            raise Unprocessable(
                "A route prefix is listed twice",
                errors=[{"field": "routes", "message": "each prefix at most once"}],
            )

        def change(state: State) -> bool:
            created = name not in state.services and name not in self.file_services
            for prefix in prefixes:
                owner = self._owner_of(state, prefix)
                if owner is not None and owner != name:
                    raise Conflict(f"{prefix} is already routed to {owner}", prefix=prefix)
            state.services[name] = {
                "instances": [{"url": i.url, "weight": i.weight} for i in instances],
                "routes": [{"prefix": p, "timeout": t} for p, t in routes],
                "registered": name not in self.file_services,
            }
            state.changed.add(name)
            return created

        return await self._change(change)

    async def forget(self, name: str) -> None:
        """Drop the runtime changes to a service: a registered one leaves with its routes, a
        file service returns to the file's instances."""

        def change(state: State) -> None:
            if name not in state.services and name not in self.file_services:
                raise NotFound(f"No service named {name!r}", service=name)
            state.services.pop(name, None)
            state.changed.add(name)

        await self._change(change)

    def _document(self, state: State, name: str) -> dict[str, Any]:
        """The service's document to change: its runtime one, or one made from the file's."""
        doc = state.services.get(name)
        if doc is not None:
            # A copy: a failed change leaves nothing behind.
            return cast(dict[str, Any], json.loads(json.dumps(doc)))
        if name not in self.file_services:
            raise NotFound(f"No service named {name!r}", service=name)
        instances = [{"url": i.url, "weight": i.weight} for i in self.file_services[name]]
        return {"instances": instances, "routes": [], "registered": False}

    def _owner_of(self, state: State, prefix: str) -> str | None:
        for route in self.file_routes:
            if route.prefix == prefix:
                return route.service
        for name, doc in state.services.items():
            if any(r.get("prefix") == prefix for r in doc.get("routes", [])):
                return name
        return None

    async def _change(self, change: Callable[[State], T]) -> T:
        """Apply ``change`` to the shared state in one optimistic transaction (retried when
        another instance changed it meanwhile), publish it, and apply it here at once."""
        try:
            for _ in range(CHANGE_ATTEMPTS):
                async with self.redis.pipeline(transaction=True) as pipe:
                    try:
                        await pipe.watch(self.services_key, self.resets_key)
                        state = _state(
                            cast(dict[str, str], await pipe.hgetall(self.services_key)),
                            cast(dict[str, str], await pipe.hgetall(self.resets_key)),
                            cast(str | None, await pipe.get(self.version_key)),
                        )
                        result = change(state)
                        pipe.multi()
                        for name in state.changed:
                            if name in state.services:
                                pipe.hset(self.services_key, name, json.dumps(state.services[name]))
                            else:
                                pipe.hdel(self.services_key, name)
                        for name in state.reset:
                            pipe.hincrby(self.resets_key, name, 1)
                            state.resets[name] = state.resets.get(name, 0) + 1
                        pipe.incr(self.version_key)
                        pipe.publish(self.channel, "changed")
                        replies = await pipe.execute()
                    except WatchError:
                        continue
                state.version = int(replies[-2])
                self.apply(state)
                return result
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("shared_registry_change_failed", error=type(exc).__name__)
            raise ServiceUnavailable(
                "The shared registry (Redis) cannot be reached; nothing was changed."
            ) from None
        raise ServiceUnavailable("The registry is changing too fast; retry shortly.")


def _state(services: dict[str, str], resets: dict[str, str], version: str | None) -> State:
    docs: dict[str, dict[str, Any]] = {}
    for name, raw in services.items():
        try:
            doc = json.loads(raw)
            # A malformed document is skipped, never half-applied.
            _instances(doc)
            for route in doc.get("routes", []):
                _check_prefix(str(route["prefix"]), "prefix")
                float(route.get("timeout") or 1)
        except (ValueError, TypeError, KeyError, AttributeError, Unprocessable) as exc:
            log.warning("shared_registry_bad_document", service=name, error=str(exc))
            continue
        docs[name] = doc
    counts = {name: int(count) for name, count in resets.items() if count.isdigit()}
    return State(services=docs, resets=counts, version=int(version) if version else 0)


def _instances(doc: dict[str, Any]) -> list[UpstreamInstance]:
    return [UpstreamInstance(url=i["url"], weight=i["weight"]) for i in doc["instances"]]


def _check_prefix(prefix: str, where: str) -> None:
    problem = None
    if not PREFIX_PATTERN.fullmatch(prefix):
        problem = "a path of one or more segments, e.g. /api/v1/reports"
    elif any(segment in (".", "..") for segment in prefix.split("/")):
        problem = "no '.' or '..' segments"
    elif any(prefix == r or prefix.startswith(r + "/") for r in RESERVED_PREFIXES):
        problem = "the gateway answers this path itself"
    if problem is not None:
        raise Unprocessable(
            f"Not a route prefix the gateway can take: {prefix!r}",
            errors=[{"field": where, "message": problem}],
        )
