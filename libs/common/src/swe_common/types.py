"""The request types every schema and query/path parameter uses: text PostgreSQL can store and
integers that fit their column.

PostgreSQL refuses a NUL character in ``text``/``varchar``/``jsonb`` and an integer wider than
its column; either used to reach the database and answer 500. Text here is NUL-free and capped
in length, integers are bounded to the column they go to, so such input is a 422 naming the
field. The aliases work in pydantic models and as ``Annotated[..., Query()]``/``Path()``
parameters. ``swe_common.testing.unbounded_request_inputs`` fails a service's tests when a
request string or integer in its OpenAPI document lacks these bounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from annotated_types import Interval
from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

# Shown in the OpenAPI document, so clients and fuzzers see the rule (valid as an ECMA and as a
# Python regular expression).
NUL_FREE_PATTERN = r"^[^\x00]*$"
NUL_MESSAGE = "must not contain a NUL (\\u0000) character"
UNSTORABLE_MESSAGE = "must not contain a NUL (\\u0000) character or a lone surrogate"

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _reject_nul(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("nul_character", NUL_MESSAGE)
    return value


class NulFree:
    """``Annotated[str, NulFree()]``: a NUL character is a validation error. The JSON schema
    says so with a ``pattern``, unless the type has a stricter pattern of its own."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(_reject_nul, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault("pattern", NUL_FREE_PATTERN)
        return json_schema

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NulFree)

    def __hash__(self) -> int:
        return hash(NulFree)


# Text, by what it holds. Narrower rules (min_length, a pattern, stripping) go on the field:
# ``name: Name = Field(min_length=1)``.
Name = Annotated[str, StringConstraints(max_length=200), NulFree()]
"""A name, label, username, search term: at most 200 characters."""
Title = Annotated[str, StringConstraints(max_length=500), NulFree()]
"""A title or one-line summary: at most 500 characters."""
Body = Annotated[str, StringConstraints(max_length=65_536), NulFree()]
"""A description, comment or message body: at most 64 Ki characters."""
Token = Annotated[str, StringConstraints(max_length=4096), NulFree()]
"""An opaque credential or code the caller echoes back (tokens, keys, cursors)."""
# A field whose limit is its own (a password, a URL) spells it out, constraints before the
# marker: ``Annotated[str, StringConstraints(max_length=1024), NulFree()]``. (A ``Field(
# max_length=...)`` after ``NulFree()`` would not reach the OpenAPI document.)


# Integers, by the column they go to.
Int32 = Annotated[int, Interval(ge=INT32_MIN, le=INT32_MAX)]
"""An ``integer`` column."""
NonNegativeInt32 = Annotated[int, Interval(ge=0, le=INT32_MAX)]
PositiveInt32 = Annotated[int, Interval(ge=1, le=INT32_MAX)]
Int64 = Annotated[int, Interval(ge=INT64_MIN, le=INT64_MAX)]
"""A ``bigint`` column."""
NonNegativeInt64 = Annotated[int, Interval(ge=0, le=INT64_MAX)]
PositiveInt64 = Annotated[int, Interval(ge=1, le=INT64_MAX)]


def _unstorable(text: str) -> bool:
    """NUL, or a lone surrogate (JSON's ``\\ud800`` alone): neither is storable UTF-8 text."""
    if "\x00" in text:
        return True
    if text.isascii():
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def unstorable_path(value: Any, path: str = "") -> str | None:
    """Where in a JSON value (strings, keys, lists, objects) text PostgreSQL cannot store (a
    NUL character, a lone surrogate) is, or None."""
    if isinstance(value, str):
        return path if _unstorable(value) else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _unstorable(key):
                return where.replace("\x00", "\\u0000")
            found = unstorable_path(item, where)
            if found is not None:
                return found
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = unstorable_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


class RequestModel(BaseModel):
    """The base of every request body: unknown fields are refused (``roles`` or ``id`` slipped
    into a body is an error, not silently dropped), and a NUL character anywhere in a field's
    value, free-form JSON included, is a 422 naming the field, whatever the field's type (a
    lone surrogate too: PostgreSQL refuses it in ``jsonb``)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul_anywhere(cls, value: Any, info: ValidationInfo) -> Any:
        where = unstorable_path(value)
        if where is not None:
            detail = UNSTORABLE_MESSAGE + (f" (at {where})" if where else "")
            raise PydanticCustomError("nul_character", detail)
        return value
