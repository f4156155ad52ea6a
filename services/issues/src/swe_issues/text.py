"""Constrained text types for API input.

PostgreSQL cannot store NUL characters in text; refusing them at the edge turns what would be
a driver error (a 500) into a clear 422.
"""

from typing import Annotated

from pydantic import AfterValidator, StringConstraints


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Title = Annotated[
    str,
    StringConstraints(min_length=1, max_length=300, strip_whitespace=True),
    AfterValidator(_no_nul),
]
LongText = Annotated[str, StringConstraints(max_length=50_000), AfterValidator(_no_nul)]
Label = Annotated[
    str,
    StringConstraints(min_length=1, max_length=50, strip_whitespace=True),
    AfterValidator(_no_nul),
]
ShortText = Annotated[str, StringConstraints(max_length=255), AfterValidator(_no_nul)]
Sha = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{7,64}$")]
SearchText = Annotated[str, StringConstraints(max_length=200), AfterValidator(_no_nul)]
