"""Request budgets per role: the windows the gateway counts every caller against, and the bound
auth checks an API key's own budget against (no key may get more than its owner's role).

A budget names windows (``minute``, ``hour``...) and how many requests each allows, e.g. the
sources' user: ``{"minute": 60, "hour": 1000}``: a burst of 60 a minute within 1,000 an hour.
The gateway and auth read the same setting (``SWE_RATE_LIMITS``, or ``GATEWAY_``/``AUTH_``
``RATE_LIMITS`` for one of them); this module holds the defaults and the one way to read them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Literal

from pydantic import Field

# Window name -> seconds.
WINDOWS: dict[str, int] = {"second": 1, "minute": 60, "hour": 3600, "day": 86_400}
Window = Literal["second", "minute", "hour", "day"]
# The most any window may allow (fits every counter, and an obvious typo is refused).
MAX_REQUESTS = 100_000_000
Requests = Annotated[int, Field(ge=1, le=MAX_REQUESTS)]
Budget = dict[Window, Requests]
"""``{"minute": 60, "hour": 1000}``: requests allowed per window."""

# Strongest first wins: a caller with several roles gets its strongest role's budget.
ROLE_RANK: dict[str, int] = {"readonly": 1, "user": 2, "agent": 3, "admin": 4}
ANONYMOUS = "anonymous"

DEFAULT_ROLE_BUDGETS: dict[str, Budget] = {
    # Per client address: the console's page and assets, sign-up, login and reset all count.
    ANONYMOUS: {"minute": 120, "hour": 3000},
    "readonly": {"minute": 30, "hour": 500},
    # What the source systems promise a user.
    "user": {"minute": 60, "hour": 1000},
    # Automation accounts and operators.
    "agent": {"minute": 300, "hour": 5000},
    "admin": {"minute": 300, "hour": 5000},
}


def default_role_budgets() -> dict[str, int | Budget]:
    """A fresh copy of the defaults, in a setting's type (a plain number or windows per role)."""
    return {role: dict(budget) for role, budget in DEFAULT_ROLE_BUDGETS.items()}


def strongest_role(roles: Iterable[str]) -> str:
    """The caller's strongest known role (``readonly`` when it has none of them)."""
    ranked = [role for role in roles if role in ROLE_RANK]
    return max(ranked, key=ROLE_RANK.__getitem__) if ranked else "readonly"


def with_defaults(budgets: Mapping[str, Budget]) -> dict[str, Budget]:
    """Configured budgets over the defaults, per role: a role named replaces that role's windows;
    a role not named keeps its default."""
    return {**DEFAULT_ROLE_BUDGETS, **budgets}


def over_owner(key_budget: Mapping[str, int], owner: Mapping[str, int]) -> list[str]:
    """The windows of an API key's budget that its owner's budget does not allow (a window the
    owner has no limit on is not bounded by it: the owner's other windows still apply)."""
    return [window for window, limit in key_budget.items() if limit > owner.get(window, limit)]


# The access token an API key is exchanged for carries the key's own budget in this claim
# (window -> requests), when the key was made with one; the gateway counts the key by it.
KEY_BUDGET_CLAIM = "rate_limits"
