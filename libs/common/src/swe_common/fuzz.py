"""Schema-driven fuzzing of a service's whole API, the one harness every service's tests use.

Two sets of requests, both deterministic (derandomized, no example database), sent in-process
through the service's own httpx client as each caller (a normal user and an admin):

- generated: schemathesis' valid and invalid requests for every operation of the OpenAPI
  document, a bounded number per operation;
- targeted: for every operation, a valid request with one input at a time replaced by text
  holding a NUL character or by an integer beyond int32/int64 (path, query, header parameters
  and each body field, one level of nesting included).

No answer may be a 5xx; every error must be problem+json; a NUL or an integer beyond the
input's declared bounds must be refused with a 4xx. Known ids (``project_id`` of a real
project...) replace generated ones in half the generated cases and in every targeted one, so
that requests get past the 404s and reach the database.

Test-only: it imports schemathesis and hypothesis, which services do not ship.
"""

from __future__ import annotations

import contextlib
import copy
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Err
from schemathesis.generation import GenerationMode

# Per operation and mode; with the targeted cases a service's fuzz stays within seconds.
EXAMPLES_PER_MODE = 6
NUL_TEXT = "nul\x00text"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
OUT_OF_RANGE = (2**31, 2**63, -(2**63) - 1)
PROBLEM_JSON = "application/problem+json"
BASE_URL = "http://testserver"


@dataclass
class Probe:
    """One request to send, and whether it must be refused (4xx) rather than merely not fail."""

    case: Any
    must_refuse: bool = False
    note: str = ""


def generated_probes(openapi: dict[str, Any], examples: int = EXAMPLES_PER_MODE) -> list[Probe]:
    """schemathesis' valid and invalid requests, ``examples`` per operation and mode."""
    probes: list[Probe] = []
    for operation in _operations(openapi):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            probes.extend(
                Probe(case, note=mode.value) for case in _cases(operation, mode, examples)
            )
    return probes


def targeted_probes(openapi: dict[str, Any]) -> list[Probe]:
    """For every operation, a valid request with one input replaced by NUL-bearing text or an
    out-of-range integer."""
    components = openapi.get("components", {}).get("schemas", {})
    probes: list[Probe] = []
    for operation in _operations(openapi):
        bases = _cases(operation, GenerationMode.POSITIVE, 1)
        if not bases:
            continue
        base = bases[0]
        for location, name, schema in _parameters(operation.definition.raw, openapi):
            for value, refuse in _bad_values(schema, components):
                probes.append(_with_parameter(base, location, name, value, refuse))
        body_schema = _json_body_schema(operation.definition.raw, base.media_type)
        if body_schema is not None:
            for path, schema in _body_leaves(body_schema, components):
                for value, refuse in _bad_values(schema, components):
                    probes.append(_with_body_value(base, path, value, refuse))
    return probes


async def fuzz(
    client: httpx.AsyncClient,
    openapi: dict[str, Any],
    callers: Mapping[str, Mapping[str, str]],
    ids: Mapping[str, str] | None = None,
    *,
    examples: int = EXAMPLES_PER_MODE,
    seed: int = 7,
    last: Sequence[str] = (),
) -> list[str]:
    """Send every probe as every caller; the failures, one line each (empty when none).
    ``last``: paths whose operations run after the others (a logout ending the caller's
    session); deletions run last anyway, so that the others still find the real resources."""
    ids = ids or {}
    probes = targeted_probes(openapi) + generated_probes(openapi, examples)
    assert len(probes) > len(openapi.get("paths", {})), "the fuzzing generated (almost) nothing"
    probes.sort(key=lambda probe: (probe.case.path in last, probe.case.method.upper() == "DELETE"))
    failures: list[str] = []
    for caller, auth in callers.items():
        rng = random.Random(seed)  # noqa: S311 - reproducible choices, not secrets
        for probe in probes:
            case = probe.case
            if probe.must_refuse or rng.random() < 0.5:
                case = _with_ids(case, ids)
            failure = await _send(client, case, auth, probe)
            if failure:
                failures.append(f"[{caller}] {failure}")
    return failures


# -- generation -----------------------------------------------------------------------------


def _operations(openapi: dict[str, Any]) -> list[Any]:
    operations = []
    for result in schemathesis.openapi.from_dict(openapi).get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # a document schemathesis cannot read is the service's bug
        operations.append(result.ok())
    return operations


def _cases(operation: Any, mode: GenerationMode, examples: int) -> list[Any]:
    cases: list[Any] = []

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def collect(case: Any) -> None:
        cases.append(case)

    # An operation without inputs has no invalid request to make.
    with contextlib.suppress(Unsatisfiable):
        collect()
    return cases


def _resolve(schema: dict[str, Any], components: Mapping[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _kinds(schema: dict[str, Any], components: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The concrete schemas a (possibly nullable, possibly referenced) schema allows."""
    schema = _resolve(schema, components)
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        for option in options:
            yield from _kinds(option, components)
    else:
        yield schema


def _bad_values(schema: dict[str, Any], components: Mapping[str, Any]) -> list[tuple[Any, bool]]:
    """(value, must be refused) pairs for an input of this schema."""
    values: list[tuple[Any, bool]] = []
    for kind in _kinds(schema, components):
        if kind.get("type") == "string":
            values.append((NUL_TEXT, True))
        elif kind.get("type") == "integer":
            # FastAPI writes bounds as floats (int64's read back as +-2**63): clamp to int64.
            low = max(int(kind.get("minimum", INT64_MIN)), INT64_MIN)
            high = min(int(kind.get("maximum", INT64_MAX)), INT64_MAX)
            values.extend((value, not low <= value <= high) for value in OUT_OF_RANGE)
        elif kind.get("type") == "array":
            values.extend(
                ([value], refuse)
                for value, refuse in _bad_values(kind.get("items", {}), components)
            )
    return values


def _parameters(raw: dict[str, Any], openapi: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    for param in raw.get("parameters", []):
        if "$ref" in param:
            param = openapi["components"]["parameters"][param["$ref"].rsplit("/", 1)[1]]
        yield param["in"], param["name"], param.get("schema", {})


def _json_body_schema(raw: dict[str, Any], media_type: str | None) -> dict[str, Any] | None:
    content = raw.get("requestBody", {}).get("content", {})
    body = content.get(media_type or "") or next(iter(content.values()), None)
    return None if body is None else body.get("schema", {})


def _body_leaves(
    schema: dict[str, Any], components: Mapping[str, Any], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Each body field (and each field of a nested object, one level down) with its schema."""
    for kind in _kinds(schema, components):
        for name, prop in kind.get("properties", {}).items():
            path = (*prefix, name)
            nested = [k for k in _kinds(prop, components) if "properties" in k]
            if nested and not prefix:
                for inner in nested:
                    yield from _body_leaves(inner, components, path)
            else:
                yield path, prop


def _copy(case: Any, **changes: Any) -> Any:
    fields = {
        "method": case.method,
        "path_parameters": copy.deepcopy(case.path_parameters),
        "headers": copy.deepcopy(dict(case.headers or {})),
        "cookies": copy.deepcopy(case.cookies),
        "query": copy.deepcopy(case.query),
        # Not deep-copied unless a container: a copied "no body" sentinel would be a body.
        "body": copy.deepcopy(case.body) if isinstance(case.body, dict | list) else case.body,
        "media_type": case.media_type,
    }
    fields.update(changes)
    return case.operation.Case(**fields)


def _with_parameter(base: Any, location: str, name: str, value: Any, refuse: bool) -> Probe:
    attribute = {"path": "path_parameters", "query": "query", "header": "headers"}.get(
        location, "cookies"
    )
    params = dict(getattr(base, attribute) or {})
    params[name] = value
    case = _copy(base, **{attribute: params})
    return Probe(case, must_refuse=refuse, note=f"{location}.{name}={value!r}")


def _with_body_value(base: Any, path: tuple[str, ...], value: Any, refuse: bool) -> Probe:
    body = copy.deepcopy(base.body) if isinstance(base.body, dict) else {}
    target = body
    for part in path[:-1]:
        if not isinstance(target.get(part), dict):
            target[part] = {}
        target = target[part]
    target[path[-1]] = value
    return Probe(
        _copy(base, body=body), must_refuse=refuse, note=f"body.{'.'.join(path)}={value!r}"
    )


def _with_ids(case: Any, ids: Mapping[str, str]) -> Any:
    """The case aimed at real resources: known ids replace generated ones (the input under test
    excepted, which a targeted probe has just set)."""
    if not ids:
        return case
    changes: dict[str, Any] = {}
    for attribute in ("path_parameters", "query"):
        params = getattr(case, attribute)
        if params:
            changes[attribute] = {
                k: ids[k] if k in ids and _plain(v) else v for k, v in params.items()
            }
    if isinstance(case.body, dict):
        changes["body"] = {k: ids[k] if k in ids and _plain(v) else v for k, v in case.body.items()}
    return _copy(case, **changes)


def _plain(value: Any) -> bool:
    """Not a value a targeted probe planted."""
    return not (value == NUL_TEXT or value in OUT_OF_RANGE or value == [NUL_TEXT])


# -- sending --------------------------------------------------------------------------------


async def _send(
    client: httpx.AsyncClient, case: Any, auth: Mapping[str, str], probe: Probe
) -> str | None:
    kwargs = case.as_transport_kwargs(base_url=BASE_URL)
    headers = {**kwargs.get("headers", {}), **auth}
    cookies = kwargs.get("cookies") or {}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif isinstance(kwargs.get("data"), dict):
        body["data"] = kwargs["data"]
    elif kwargs.get("data") is not None:
        body["content"] = kwargs["data"]
    # Relative, so that the client's own base URL applies; schemathesis leaves a NUL in a path
    # unquoted.
    url = kwargs["url"].removeprefix(BASE_URL).replace("\x00", "%00")
    response = await client.request(
        kwargs["method"], url, params=kwargs.get("params"), headers=headers, **body
    )
    status = response.status_code
    content_type = response.headers.get("content-type", "")
    if status >= 500:
        problem = f"{status}"
    elif status >= 400 and not content_type.startswith(PROBLEM_JSON):
        problem = f"{status} not problem+json ({content_type})"
    elif probe.must_refuse and status < 400:
        problem = f"{status}: accepted {probe.note}"
    else:
        return None
    return f"{problem} {case.method} {case.formatted_path} {probe.note}: {response.text[:300]}"
