import json
import logging
import time

import structlog

from swe_common.context import traceparent_var
from swe_common.logging import REDACTED, AccessLogger, configure_logging, flush_logs, redact
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
    flush_logs()
    written = capsys.readouterr().err
    assert "eyJsecret" not in written and "eyJother" not in written
    assert f"access_token={REDACTED}" in written and "since=2" in written


def test_access_lines_are_written_in_batches_and_a_warning_at_once_after_them(capsys):
    configure_logging(
        ServiceSettings(service_name="logtest", log_format="json", log_flush_seconds=5)
    )
    log = structlog.stdlib.get_logger("swe.access")
    log.info("first")
    log.info("second")
    assert capsys.readouterr().err == ""  # waiting for the next batch
    log.warning("third")
    written = capsys.readouterr().err.splitlines()
    assert [json.loads(line)["event"] for line in written] == ["first", "second", "third"]


def test_every_other_line_is_written_at_once_after_the_access_lines_before_it(capsys):
    """uvicorn logs "Application shutdown complete" and then re-raises SIGTERM, an exit that
    runs no atexit hook: a line that waited for the next batch would never be written."""
    configure_logging(
        ServiceSettings(service_name="logtest", log_format="json", log_flush_seconds=5)
    )
    structlog.stdlib.get_logger("swe.access").info("request")
    logging.getLogger("uvicorn.error").info("Application shutdown complete.")
    written = capsys.readouterr().err.splitlines()
    assert [json.loads(line)["event"] for line in written] == [
        "request",
        "Application shutdown complete.",
    ]


def test_a_batch_waits_at_most_the_flush_interval(capsys):
    configure_logging(
        ServiceSettings(service_name="logtest", log_format="json", log_flush_seconds=0.05)
    )
    structlog.stdlib.get_logger("swe.access").info("soon")
    deadline = time.monotonic() + 2
    written = ""
    while "soon" not in written and time.monotonic() < deadline:
        time.sleep(0.02)
        written += capsys.readouterr().err
    assert '"event": "soon"' in written


def test_without_a_flush_interval_every_line_is_written_at_once(capsys):
    configure_logging(
        ServiceSettings(service_name="logtest", log_format="json", log_flush_seconds=0)
    )
    structlog.stdlib.get_logger("batch").info("now")
    assert '"event": "now"' in capsys.readouterr().err


def _access_lines(capsys, write) -> list[dict[str, object]]:
    write(structlog.stdlib.get_logger("swe.gateway.access"))
    write(AccessLogger("swe.gateway.access"))
    flush_logs()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    for line in lines:
        line.pop("timestamp")
    return lines


def test_the_access_logger_writes_the_line_structlog_writes(capsys):
    configure_logging(
        ServiceSettings(service_name="logtest", log_format="json", log_flush_seconds=5)
    )

    def write(log) -> None:
        with structlog.contextvars.bound_contextvars(correlation_id="c-1"):
            token = traceparent_var.set(f"00-{'a' * 32}-{'b' * 16}-01")
            try:
                log.info(
                    "request",
                    path="/x;access_token=eyJsecret",
                    status=200,
                    api_key="k",
                    detail={"password": "p", "ok": [1, 2.5, None]},
                    odd=object,
                )
            finally:
                traceparent_var.reset(token)

    via_structlog, direct = _access_lines(capsys, write)
    # The same keys in the same order, the same redaction, context and trace ids.
    assert list(direct.items()) == list(via_structlog.items())
    assert direct["path"] == f"/x;access_token={REDACTED}" and direct["api_key"] == REDACTED
    assert direct["correlation_id"] == "c-1" and direct["trace_id"] == "a" * 32
    assert direct["logger"] == "swe.gateway.access" and direct["service"] == "logtest"


def test_the_access_logger_honours_levels_and_other_configurations(capsys):
    configure_logging(
        ServiceSettings(service_name="logtest", log_format="json", log_level="WARNING")
    )
    AccessLogger("swe.gateway.access").info("request", path="/quiet")
    flush_logs()
    assert capsys.readouterr().err == ""
    # Console lines (development) are structlog's, whatever writes them.
    configure_logging(ServiceSettings(service_name="logtest", log_format="console"))
    AccessLogger("swe.gateway.access").info("request", path="/console")
    flush_logs()
    written = capsys.readouterr().err
    assert "/console" in written and not written.startswith("{")


def test_the_access_logger_follows_a_new_configuration(capsys):
    """A process configured again (each app a test builds) names the latest service, whichever
    configuration the access logger first wrote under."""
    access = AccessLogger("swe.gateway.access")
    for service in ("first", "second"):
        # No batching: the line takes structlog's path, the one a cached logger would pin.
        configure_logging(
            ServiceSettings(service_name=service, log_format="json", log_flush_seconds=0)
        )
        access.info("request", path="/x")
    flush_logs()
    written = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["service"] for line in written] == ["first", "second"]
