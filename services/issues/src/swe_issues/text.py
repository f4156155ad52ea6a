"""The issues service's text inputs: the common NUL-free types (``swe_common.types``) at the
lengths of this service's columns."""

from typing import Annotated

from pydantic import StringConstraints

from swe_common.types import Name, NulFree

Title = Annotated[
    str, StringConstraints(min_length=1, max_length=300, strip_whitespace=True), NulFree()
]
LongText = Annotated[str, StringConstraints(max_length=50_000), NulFree()]
Label = Annotated[
    str, StringConstraints(min_length=1, max_length=50, strip_whitespace=True), NulFree()
]
# A comment: something to read, not a blank line (surrounding whitespace is dropped first).
CommentText = Annotated[
    str, StringConstraints(min_length=1, max_length=10_000, strip_whitespace=True), NulFree()
]
ShortText = Annotated[str, StringConstraints(max_length=255), NulFree()]
Sha = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{7,64}$", max_length=64), NulFree()]
SearchText = Name
