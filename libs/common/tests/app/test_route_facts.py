"""``swe_common.route_facts`` reads path and query parameters as FastAPI does (the same
values, the same errors with the same ``loc``), working out each parameter's route-only facts
once instead of on every request."""

from __future__ import annotations

import enum
import itertools
import re
import tomllib
import uuid
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any, Literal

import fastapi.dependencies.utils as fastapi_utils
import pytest
from fastapi import APIRouter, Cookie, FastAPI, Header, Query
from fastapi.routing import APIRoute
from packaging.specifiers import SpecifierSet
from pydantic import AfterValidator, BaseModel, Field, StringConstraints
from starlette.datastructures import Headers, QueryParams

from swe_common import route_facts
from swe_common.pagination import PageQuery
from swe_common.testing import running_app

from .conftest import build_app


class Colour(enum.StrEnum):
    red = "red"
    green = "green"


def _not_banned(value: str) -> str:
    if value == "banned":
        raise ValueError("that word is banned")
    return value


Word = Annotated[str, StringConstraints(min_length=1, max_length=8, pattern=r"^[a-z]+$")]


class Filters(BaseModel):
    colour: Colour | None = None
    size: int = 1


router = APIRouter()


@router.get("/things/{thing_id}/{slot}")
async def many_kinds(
    *,
    thing_id: uuid.UUID,
    slot: Annotated[int, Field(ge=0, le=9)],
    page: PageQuery,
    colour: Colour | None = None,
    shade: Colour = Colour.red,
    words: Annotated[list[Word] | None, Query(max_length=3)] = None,
    tags: Annotated[list[str], Query()] = [],  # noqa: B006 - a mutable default, as FastAPI allows
    required: Annotated[int, Query(ge=1)] = ...,  # type: ignore[assignment]
    renamed: Annotated[str | None, Query(alias="other-name")] = None,
    mode: Literal["a", "b"] | None = None,
    flag: bool = False,
    ratio: float | None = None,
    checked: Annotated[str | None, AfterValidator(_not_banned)] = None,
    checked_default: Annotated[int, Query(ge=5)] = 1,
    from_factory: Annotated[list[int], Query(default_factory=lambda: [7])],
    session: Annotated[str | None, Cookie()] = None,
    x_trace: Annotated[str | None, Header()] = None,
) -> None:
    raise AssertionError("only the parameters are read here")


@router.get("/filtered")
async def with_model(filters: Annotated[Filters, Query()]) -> None:
    raise AssertionError("only the parameters are read here")


def _routes() -> list[APIRoute]:
    app = FastAPI()
    app.include_router(router)
    return [r for r in router.routes if isinstance(r, APIRoute)]


def _dependants(route: APIRoute) -> Iterator[Any]:
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        yield dependant
        pending.extend(dependant.dependencies)


QUERIES = [
    "required=1",
    "",
    "required=0",
    "required=x",
    "required=1&colour=red&shade=green&words=a&words=bc&tags=x&tags=&other-name=hi",
    "required=1&colour=blue&shade=&words=A1&words=&words=b&words=c&words=d",
    "required=1&renamed=direct&mode=a&flag=true&ratio=0.5",
    "required=2&mode=c&flag=maybe&ratio=nan&ratio=1e400&checked=banned",
    "required=3&checked=fine&checked_default=2&from_factory=1&from_factory=x",
    "required=3&checked_default=9&from_factory=&limit=0&offset=-1&sort=-name,id",
    "required=3&limit=101&offset=1000001&sort=%00",
    "required=3&limit=50&limit=x&required=4&colour=",
    "colour=green&colour=red&words=" + "&words=".join("abcdefg"),
]
PATHS = [
    {"thing_id": str(uuid.UUID(int=1)), "slot": "3"},
    {"thing_id": "not-a-uuid", "slot": "10"},
    {"thing_id": str(uuid.UUID(int=2)), "slot": ""},
]
COOKIES: list[dict[str, str]] = [{}, {"session": "abc"}, {"session": ""}]


def _same(fields: Any, received: Any) -> None:
    expected = route_facts._ORIGINAL(fields, received)
    got = route_facts.request_params_to_args(fields, received)
    # repr: an error's ctx may hold the exception a validator raised (no equality of its own)
    assert repr(got) == repr(expected)
    assert [type(v) for v in got[0].values()] == [type(v) for v in expected[0].values()]


@pytest.mark.parametrize("query", QUERIES)
def test_query_parameters_read_as_fastapi_reads_them(query: str) -> None:
    for route, dependant in ((r, d) for r in _routes() for d in _dependants(r)):
        for _ in range(2):  # the first read makes the plans, the second uses them
            _same(dependant.query_params, QueryParams(query))
        assert route


def test_path_cookie_and_header_parameters_read_as_fastapi_reads_them() -> None:
    for dependant in (d for r in _routes() for d in _dependants(r)):
        for path, cookies in itertools.product(PATHS, COOKIES):
            _same(dependant.path_params, dict(path))
            _same(dependant.cookie_params, dict(cookies))
        for headers in ({}, {"x-trace": "t"}, {"x_trace": "u"}):
            _same(dependant.header_params, Headers(headers))


def test_a_default_is_not_shared_between_requests() -> None:
    route = next(r for r in _routes() if r.path.startswith("/things"))
    fields = route.dependant.query_params
    first, errors = route_facts.request_params_to_args(fields, QueryParams("required=1"))
    assert errors == []
    first["tags"].append("changed")
    first["from_factory"].append(8)
    second, _ = route_facts.request_params_to_args(fields, QueryParams("required=1"))
    assert second["tags"] == [] and second["from_factory"] == [7]


def test_a_model_of_parameters_is_left_to_fastapi() -> None:
    route = next(r for r in _routes() if r.path == "/filtered")
    values, errors = route_facts.request_params_to_args(
        route.dependant.query_params, QueryParams("colour=green&size=3")
    )
    assert errors == [] and values["filters"] == Filters(colour=Colour.green, size=3)


async def test_a_service_reads_parameters_without_walking_annotations_per_request(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The point of the module: after a route's first request, FastAPI's per-request walk of
    its parameters' annotations (``field_annotation_is_sequence``) is not run again."""
    app = build_app(database_url)
    assert route_facts.installed()
    walks = 0
    walk = fastapi_utils.field_annotation_is_sequence  # type: ignore[attr-defined]

    def counted(annotation: Any) -> bool:
        nonlocal walks
        walks += 1
        return walk(annotation)

    monkeypatch.setattr(fastapi_utils, "field_annotation_is_sequence", counted)
    async with running_app(app) as client:
        path = "/api/v1/example/widgets/7"  # a path parameter, the page's query parameters
        first = await client.get(path, params={"limit": 5})
        walked_by_first = walks
        again = await client.get(path, params={"limit": 5, "sort": "name"})
        bad = await client.get("/api/v1/example/widgets/seven")
    assert first.status_code == again.status_code == 404
    assert walks == walked_by_first
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["errors"][0]["field"] == "path.widget_id"


def test_dependency_cache_keys_are_fastapi_s() -> None:
    for dependant in (d for r in _routes() for d in _dependants(r)):
        expected = route_facts._ORIGINAL_CACHE_KEY(dependant=dependant, uses_scopes_cache={})
        for _ in range(2):  # the first asks FastAPI, the second is the kept answer
            assert route_facts.get_cache_key(dependant=dependant) == expected


def test_fastapi_is_pinned_to_a_minor_version_and_the_installed_one_matches() -> None:
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    pinned = next(d for d in dependencies if re.match(r"fastapi\b(?!-)", d))
    spec = SpecifierSet(pinned.removeprefix("fastapi"))
    assert any(s.operator == "<" for s in spec), f"{spec}: an upper bound keeps upgrades deliberate"
    assert version("fastapi") in spec, f"installed fastapi {version('fastapi')} is not {spec}"
