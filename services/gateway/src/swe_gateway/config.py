"""Routes, public paths, per-route limits (rates and body sizes) and upstream instances, from
TOML plus environment."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from swe_common.middleware import compile_path_patterns
from swe_gateway.settings import Settings, UpstreamInstance

PACKAGED_ROUTES = Path(__file__).with_name("routes.toml")
ROUTE_MEMO_SIZE = 10_000
_UNKNOWN = object()


@dataclass(frozen=True, slots=True)
class Route:
    prefix: str
    service: str
    timeout: float
    max_body_bytes: int  # the route's own, or GATEWAY_MAX_BODY_BYTES
    # A public route needs no credentials (the web console's page and assets).
    public: bool = False
    # Methods the route accepts (others answer 405 here); None: any. A route limited to
    # methods serves plain HTTP only, never a WebSocket.
    methods: frozenset[str] | None = None
    # Prefixes below this one that the route never serves, even when no other route does:
    # "/" for the console must not turn an unknown "/api/..." path into the app's page.
    excluded: tuple[str, ...] = ()

    def matches(self, path: str) -> bool:
        # Segment boundary: "/api/v1/prs" must not catch "/api/v1/prsx".
        if not (path == self.prefix or path.startswith(self.prefix + "/")):
            return False
        return not any(path == e or path.startswith(e + "/") for e in self.excluded)


@dataclass(frozen=True, slots=True)
class RouteLimit:
    name: str
    pattern: re.Pattern[str]
    limit: int
    period: float
    # The path's own budget instead of the caller's: requests on it never spend the caller's
    # per-role (anonymous: per-address) budget (GitHub's webhook deliveries).
    replaces_caller_limit: bool = False
    # Whose budget: "address" (the client's address: login, password reset, webhooks) or
    # "caller" (the user or API key; the address for an anonymous caller): the expensive
    # routes, which a shared office address must not make everyone's.
    per: str = "address"
    # Methods the limit counts (None: all): starting an agent is a POST; reading runs is not.
    methods: frozenset[str] | None = None

    def applies(self, path: str, method: str) -> bool:
        if self.methods is not None and method not in self.methods:
            return False
        return self.pattern.fullmatch(path) is not None


@dataclass(frozen=True, slots=True)
class BodyLimit:
    name: str
    pattern: re.Pattern[str]
    max_bytes: int


@dataclass
class GatewayConfig:
    # Replaced (never changed in place) when the shared registry adds or removes a route.
    routes: tuple[Route, ...]
    services: dict[str, list[UpstreamInstance]]
    public: re.Pattern[str]
    limits: tuple[RouteLimit, ...]
    body_limits: tuple[BodyLimit, ...] = ()
    public_max_body_bytes: int = 64 * 1024
    # (the routes it was built for, path -> route): see route_for.
    _routes_memo: tuple[tuple[Route, ...] | None, dict[str, Route | None]] = field(
        default=(None, {}), init=False, repr=False, compare=False
    )
    # (the limits it was built from, every limit's pattern as one): see limits_for.
    _any_limit: tuple[tuple[RouteLimit, ...] | None, re.Pattern[str]] = field(
        default=(None, re.compile("(?!)")), init=False, repr=False, compare=False
    )

    def route_for(self, path: str) -> Route | None:
        # Remembered per path (bounded) for the routes it was found in: every request asks.
        memo = self._routes_memo
        if memo[0] is not self.routes:
            memo = self._routes_memo = (self.routes, {})
        known = memo[1].get(path, _UNKNOWN)
        if known is not _UNKNOWN:
            return known  # type: ignore[return-value]
        found = next((route for route in self.routes if route.matches(path)), None)
        if len(memo[1]) >= ROUTE_MEMO_SIZE:
            memo[1].clear()
        memo[1][path] = found
        return found

    def is_public(self, path: str) -> bool:
        return self.public.fullmatch(path) is not None

    def limits_for(self, path: str, method: str = "GET") -> list[RouteLimit]:
        # Inlined ``RouteLimit.applies``: this runs for every request, and most paths have no
        # limit of their own: one match of every pattern at once rules them out.
        if self._any_limit[0] is not self.limits:
            self._any_limit = (self.limits, re.compile("|".join(
                f"(?:{limit.pattern.pattern})" for limit in self.limits) or "(?!)"))  # fmt: skip
        if self._any_limit[1].fullmatch(path) is None:
            return []
        return [
            limit
            for limit in self.limits
            if (limit.methods is None or method in limit.methods)
            and limit.pattern.fullmatch(path) is not None
        ]

    def max_body_for(self, path: str, route: Route, public: bool) -> int:
        """A ``[[body_limits]]`` entry naming the path, else the route's limit, capped on public
        paths (anyone may call them, so they take small bodies only)."""
        for limit in self.body_limits:
            if limit.pattern.fullmatch(path):
                return limit.max_bytes
        if public:
            return min(route.max_body_bytes, self.public_max_body_bytes)
        return route.max_body_bytes


# ``/a/*`` matches everything below ``/a``; an inner ``*`` matches one path segment (the same
# patterns as a service's ServiceSpec.body_limits).
compile_patterns = compile_path_patterns


_INSTANCES = TypeAdapter(list[str | UpstreamInstance])


def instances_of(raw: object, where: str) -> list[UpstreamInstance]:
    """``["http://a", {url = "http://b", weight = 3}]``: plain URLs have weight 1."""
    try:
        items = _INSTANCES.validate_python(raw)
        return [UpstreamInstance(url=i) if isinstance(i, str) else i for i in items]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise SystemExit(f"{where}: {problems}") from None


def _route_limit(item: dict[str, Any], settings: Settings, path: Path) -> RouteLimit:
    name = str(item["name"])
    per = str(item.get("per", "address"))
    if per not in ("address", "caller"):
        raise SystemExit(f"{path}: limits {name!r}: per must be 'address' or 'caller', not {per!r}")
    override = settings.route_limits.get(name)
    limit = int(item["limit"]) if override is None or override.limit is None else override.limit
    period = float(item.get("period", 60))
    if override is not None and override.period is not None:
        period = override.period
    return RouteLimit(
        name=name,
        pattern=compile_patterns(list(item["paths"])),
        limit=limit,
        period=period,
        replaces_caller_limit=bool(item.get("replaces_caller_limit", False)),
        per=per,
        methods=frozenset(str(m).upper() for m in item["methods"]) if "methods" in item else None,
    )


def load_config(settings: Settings) -> GatewayConfig:
    path = Path(settings.routes_file) if settings.routes_file else PACKAGED_ROUTES
    raw: dict[str, Any] = tomllib.loads(path.read_text())
    services = {
        name: instances_of(spec.get("instances", []), f"{path}: services.{name}.instances")
        for name, spec in raw.get("services", {}).items()
    }
    for name, items in settings.upstreams.items():
        services[name] = instances_of(items, f"GATEWAY_UPSTREAMS: {name}")
    routes = sorted(
        (
            Route(
                prefix=str(r["prefix"]).rstrip("/"),
                service=str(r["service"]),
                timeout=float(r.get("timeout", settings.default_timeout_seconds)),
                max_body_bytes=int(r.get("max_body_bytes", settings.max_body_bytes)),
                public=bool(r.get("public", False)),
                methods=frozenset(str(m).upper() for m in r["methods"]) if "methods" in r else None,
                excluded=tuple(str(e).rstrip("/") for e in r.get("except", [])),
            )
            for r in raw.get("routes", [])
        ),
        key=lambda r: len(r.prefix),
        reverse=True,
    )
    unknown = {r.service for r in routes} - services.keys()
    if unknown:
        raise SystemExit(f"{path}: routes name unknown services: {', '.join(sorted(unknown))}")
    limits = tuple(_route_limit(item, settings, path) for item in raw.get("limits", []))
    unknown_limits = settings.route_limits.keys() - {limit.name for limit in limits}
    if unknown_limits:
        raise SystemExit(
            f"GATEWAY_ROUTE_LIMITS names limits {path} does not have: "
            + ", ".join(sorted(unknown_limits))
        )
    body_limits = tuple(
        BodyLimit(
            name=str(item["name"]),
            pattern=compile_patterns(list(item["paths"])),
            max_bytes=int(item["max_bytes"]),
        )
        for item in raw.get("body_limits", [])
    )
    return GatewayConfig(
        routes=tuple(routes),
        services=services,
        public=compile_patterns(list(raw.get("public", []))),
        limits=limits,
        body_limits=body_limits,
        public_max_body_bytes=settings.public_max_body_bytes,
    )
