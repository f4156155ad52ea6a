"""What FastAPI works out on every request about a route's declarations, worked out once.

On every request FastAPI asks of each declared path and query parameter whether its annotation
is a sequence (a recursive walk of ``Optional[list[...]]``, twice), whether it is a model of
parameters, and which names it answers to; and of each dependency, its cache key (which walks
the dependency's sub-dependencies for security scopes and unwraps its callable). All of these are
facts of the route, not of the request. For a list endpoint's eight or nine query parameters the
first was ~75 µs of CPU per request before any value was validated (pydantic's own validation
of them takes a tenth of it), the largest piece of a list page's CPU spent around the route;
the cache keys of a list route's seven dependencies another ~15 µs.

``install`` puts two functions in FastAPI's place (``fastapi.dependencies.utils``):

* ``request_params_to_args``: per parameter the facts are kept on the parameter's
  ``ModelField`` the first time it is met; per request it does what FastAPI does with them, in
  FastAPI's order, validating each value through FastAPI's own field (same values, same
  errors, same ``loc``: a bad ``?status=`` is the same 422). What it does not handle the same
  way goes to FastAPI's function: a model of parameters (``Annotated[Model, Query()]``),
  headers, forms.
* ``_get_cache_key``: FastAPI's answer kept per dependency object.

The OpenAPI documents are untouched: they are made from the routes' declarations, which stay
as they are.

``tests/app/test_route_facts.py`` checks the two against FastAPI's own on parameters of every
kind the services declare (optional, enum, Literal, constrained and repeated values, aliases,
defaults and default factories, path and cookie parameters) with good and bad values, so an
upgrade of FastAPI that changes its reading fails there rather than in production.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.dependencies import utils

# FastAPI's module, untyped here: its private helpers and re-exports are what is replaced and
# reused (see the tests for what keeps that honest across releases).
_fastapi: Any = utils

_ModelField = Any  # fastapi._compat.ModelField: its module's layout moves between releases
_Undefined = _fastapi.Undefined
_ORIGINAL: Callable[[Sequence[Any], Any], tuple[dict[str, Any], list[Any]]] = (
    _fastapi.request_params_to_args
)
_ORIGINAL_CACHE_KEY = _fastapi._get_cache_key
_PLAN = "_swe_param_plan"
# Defaults FastAPI's deepcopy hands back as they are: a missing parameter's value without it.
_ATOMIC = (type(None), bool, int, float, str)


@dataclass(frozen=True, slots=True)
class _Plan:
    """What FastAPI works out about one parameter on every request, worked out once."""

    name: str
    aliases: tuple[str, ...]  # the request keys it answers to, preferred first
    getlist: bool  # a sequence read with ``getlist`` from a multi-dict (``?labels=a&labels=b``)
    empty_is_missing: bool  # a sequence: an empty value counts as absent
    kind: str  # "query", "path": the first part of an error's ``loc``
    # A missing optional parameter's value when FastAPI would return its default unvalidated
    # and unchanged (no factory, an immutable default); _Undefined: ask FastAPI's own code.
    missing: Any


def _plan_of(field: _ModelField) -> _Plan | None:
    """``field``'s plan (made on first use and kept on the field), or None for a parameter
    FastAPI reads another way (a model of parameters)."""
    plan: _Plan | bool | None = field.__dict__.get(_PLAN, False)
    if plan is not False:
        return plan  # type: ignore[return-value]
    made: _Plan | None = None
    if _fastapi._get_param_model(field) is None:
        info = field.field_info
        annotation = info.annotation
        sequence = _fastapi.field_annotation_is_sequence(annotation)
        missing: Any = _Undefined
        if (
            not info.is_required()
            and info.default_factory is None
            and not info.validate_default
            and type(info.default) in _ATOMIC
        ):
            missing = info.default
        made = _Plan(
            name=field.name,
            aliases=tuple(request for _, request in _fastapi._get_param_aliases(field)),
            getlist=sequence and not _fastapi._is_json_field(field),
            empty_is_missing=sequence,
            kind=info.in_.value,
            missing=missing,
        )
    field.__dict__[_PLAN] = made
    return made


def request_params_to_args(
    fields: Sequence[_ModelField], received_params: Any
) -> tuple[dict[str, Any], list[Any]]:
    """``fastapi.dependencies.utils.request_params_to_args``, the same answers (see the
    module's docstring)."""
    if not fields:
        return {}, []
    received_type = type(received_params)
    if received_type is _fastapi.QueryParams:
        multi = True
    elif received_type is dict:  # path parameters, cookies
        multi = False
    else:  # headers (case-insensitive), forms
        return _ORIGINAL(fields, received_params)
    plans = []
    for field in fields:
        plan = _plan_of(field)
        if plan is None:
            return _ORIGINAL(fields, received_params)
        plans.append(plan)
    received: Mapping[str, Any] = received_params
    values: dict[str, Any] = {}
    errors: list[Any] = []
    validate = _fastapi._validate_value_with_model_field
    for field, plan in zip(fields, plans, strict=True):
        aliases = plan.aliases
        alias = aliases[0]
        if len(aliases) > 1:
            alias = next((a for a in aliases if a in received), alias)
        value = received_params.getlist(alias) if plan.getlist and multi else received.get(alias)
        if value is None or (plan.empty_is_missing and len(value) == 0):
            if plan.missing is not _Undefined:
                # FastAPI would deepcopy an immutable default and return it unvalidated.
                values[plan.name] = plan.missing
                continue
            value = _Undefined
        found, found_errors = validate(
            field=field, value=value, values=values, loc=(plan.kind, alias)
        )
        if found_errors:
            errors.extend(found_errors)
        else:
            values[plan.name] = found
    return values, errors


# id(dependant) -> (the dependant, its cache key): the dependant kept and compared, so that an
# id reused after a dependant is gone never finds another's key. Dependants are made with their
# routes, except under ``dependency_overrides`` (tests), where FastAPI makes them per request:
# the memo is then emptied whenever it grows past its bound.
_CACHE_KEYS: dict[int, tuple[Any, Any]] = {}
_MAX_CACHE_KEYS = 4096


def get_cache_key(*, dependant: Any, uses_scopes_cache: Any = None) -> Any:
    """``fastapi.dependencies.models._get_cache_key``, kept per dependency."""
    known = _CACHE_KEYS.get(id(dependant))
    if known is not None and known[0] is dependant:
        return known[1]
    key = _ORIGINAL_CACHE_KEY(dependant=dependant, uses_scopes_cache=uses_scopes_cache)
    if len(_CACHE_KEYS) >= _MAX_CACHE_KEYS:
        _CACHE_KEYS.clear()
    _CACHE_KEYS[id(dependant)] = (dependant, key)
    return key


def install() -> None:
    """FastAPI uses ``request_params_to_args`` and ``get_cache_key`` from now on (idempotent)."""
    _fastapi.request_params_to_args = request_params_to_args
    _fastapi._get_cache_key = get_cache_key


def installed() -> bool:
    return (
        _fastapi.request_params_to_args is request_params_to_args
        and _fastapi._get_cache_key is get_cache_key
    )
