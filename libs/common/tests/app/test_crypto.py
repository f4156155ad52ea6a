"""Sealed secrets: readable back only with the same key, purpose and context."""

import pytest

from swe_common.crypto import SecretBox


def test_a_sealed_secret_opens_with_the_same_key_and_context():
    box = SecretBox("k" * 40, "test/v1")
    assert box.open(b"row-1", box.seal(b"row-1", "s3cret")) == "s3cret"


def test_a_sealed_secret_copied_to_another_row_does_not_open():
    box = SecretBox("k" * 40, "test/v1")
    with pytest.raises(ValueError):
        box.open(b"row-2", box.seal(b"row-1", "s3cret"))


def test_another_purpose_or_key_cannot_open_it():
    sealed = SecretBox("k" * 40, "test/v1").seal(b"row", "s3cret")
    for other in (SecretBox("k" * 40, "other/v1"), SecretBox("x" * 40, "test/v1")):
        with pytest.raises(ValueError):
            other.open(b"row", sealed)
