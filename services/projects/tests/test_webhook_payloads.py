"""Whatever bytes arrive as a (signed) webhook body, parsing answers a dict or a 400, never
a crash, and never a value PostgreSQL's jsonb would refuse."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swe_common.errors import BadRequest
from swe_projects.webhooks.service import MAX_DEPTH, parse_payload

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def _has_unstorable_text(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(_has_unstorable_text(k) or _has_unstorable_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_unstorable_text(v) for v in value)
    return False


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_parse_to_an_object_or_a_400(body: bytes) -> None:
    try:
        payload = parse_payload(body, "application/json")
    except BadRequest:
        return
    assert isinstance(payload, dict)
    assert not _has_unstorable_text(payload)


@settings(max_examples=300)
@given(st.dictionaries(st.text(max_size=10), json_values, max_size=5))
def test_json_objects_survive_parsing_unchanged_unless_unstorable(obj: dict[str, Any]) -> None:
    payload = parse_payload(json.dumps(obj).encode(), "application/json; charset=utf-8")
    assert not _has_unstorable_text(payload)
    if not _has_unstorable_text(obj):
        assert payload == obj


def test_payloads_nested_deeper_than_github_sends_are_refused() -> None:
    deep = "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5)
    with pytest.raises(BadRequest):
        parse_payload(f'{{"a": {deep}}}'.encode(), "application/json")
    very_deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(BadRequest):
        parse_payload(f'{{"a": {very_deep}}}'.encode(), "application/json")


def test_a_form_body_without_a_payload_field_is_refused() -> None:
    with pytest.raises(BadRequest):
        parse_payload(b"other=1", "application/x-www-form-urlencoded")
