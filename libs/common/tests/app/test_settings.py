"""Settings: per-service variables beat platform-wide ones; bad values stop start-up clearly."""

from __future__ import annotations

import pytest
from pydantic_settings import SettingsConfigDict

from swe_common.settings import ServiceSettings


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore", frozen=True)
    service_name: str = "demo"


def test_defaults_point_at_localhost(monkeypatch):
    for name in ("SWE_DATABASE_URL", "DEMO_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = DemoSettings.load()
    assert settings.database_url == "postgresql+psycopg://postgres@127.0.0.1:5432/swe"
    assert settings.amqp_url.get_secret_value() == "amqp://guest:guest@127.0.0.1:5672/"
    assert settings.redis_url.get_secret_value() == "redis://127.0.0.1:6379/0"


def test_service_variable_beats_platform_variable(monkeypatch):
    monkeypatch.setenv("SWE_LOG_LEVEL", "warning")
    assert DemoSettings.load().log_level == "WARNING"
    monkeypatch.setenv("DEMO_LOG_LEVEL", "debug")
    assert DemoSettings.load().log_level == "DEBUG"


def test_invalid_value_stops_start_up_naming_the_variable(monkeypatch):
    monkeypatch.setenv("DEMO_DB_POOL_SIZE", "lots")
    with pytest.raises(SystemExit) as stopped:
        DemoSettings.load()
    assert "DEMO_DB_POOL_SIZE" in str(stopped.value)


def test_non_postgres_database_url_is_refused(monkeypatch):
    monkeypatch.setenv("DEMO_DATABASE_URL", "mysql://root@localhost/x")
    with pytest.raises(SystemExit) as stopped:
        DemoSettings.load()
    assert "DEMO_DATABASE_URL" in str(stopped.value)


def test_secrets_are_not_shown_in_repr(monkeypatch):
    monkeypatch.setenv("DEMO_AMQP_URL", "amqp://user:s3cret@broker:5672/")
    assert "s3cret" not in repr(DemoSettings.load())


def test_logs_are_json_in_production_and_readable_elsewhere(monkeypatch):
    from swe_common.settings import LogFormat

    monkeypatch.delenv("DEMO_LOG_FORMAT", raising=False)
    monkeypatch.delenv("SWE_LOG_FORMAT", raising=False)
    monkeypatch.setenv("DEMO_ENVIRONMENT", "production")
    assert DemoSettings.load().log_format is LogFormat.json
    monkeypatch.setenv("DEMO_ENVIRONMENT", "development")
    assert DemoSettings.load().log_format is LogFormat.console
    monkeypatch.setenv("DEMO_LOG_FORMAT", "json")
    assert DemoSettings.load().log_format is LogFormat.json
