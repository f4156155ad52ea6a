import logging

import structlog

from swe_common.logging import REDACTED, configure_logging, redact
from swe_common.settings import ServiceSettings


def test_redact_replaces_secret_keys_at_any_depth():
    value = {"user": "ann", "nested": [{"Authorization": "Bearer x", "refresh_token": "r"}]}
    assert redact(value) == {
        "user": "ann",
        "nested": [{"Authorization": REDACTED, "refresh_token": REDACTED}],
    }


def test_a_token_in_a_logged_url_is_cut_out_whichever_logger_wrote_it(capsys):
    # uvicorn's own config hands its loggers their own handlers; ours must take them over.
    logging.getLogger("uvicorn").addHandler(logging.StreamHandler())
    logging.getLogger("uvicorn").propagate = False
    configure_logging(ServiceSettings(service_name="logtest", log_format="json"))
    logging.getLogger("uvicorn.error").warning(
        '%s - "WebSocket %s" 403', "127.0.0.1:5", "/ws/logs/1?since=2&access_token=eyJsecret"
    )
    structlog.stdlib.get_logger("ours").info("request", path="/x?token=eyJother&a=1")
    written = capsys.readouterr().err
    assert "eyJsecret" not in written and "eyJother" not in written
    assert f"access_token={REDACTED}" in written and "since=2" in written
