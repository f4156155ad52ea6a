from swe_common.logging import REDACTED, redact


def test_redact_replaces_secret_keys_at_any_depth():
    value = {"user": "ann", "nested": [{"Authorization": "Bearer x", "refresh_token": "r"}]}
    assert redact(value) == {
        "user": "ann",
        "nested": [{"Authorization": REDACTED, "refresh_token": REDACTED}],
    }
