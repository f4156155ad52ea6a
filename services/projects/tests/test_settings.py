"""The service refuses to start with unsafe configuration."""

from __future__ import annotations

import pytest

from swe_projects.settings import PLACEHOLDER_SECRET_KEY, Settings


def test_production_refuses_the_placeholder_webhook_key() -> None:
    with pytest.raises(SystemExit, match="PROJECTS_WEBHOOK_SECRET_KEY"):
        Settings.load(environment="production")


def test_production_refuses_a_short_webhook_key() -> None:
    with pytest.raises(SystemExit, match="at least 32 characters"):
        Settings.load(environment="production", webhook_secret_key="short")


def test_production_accepts_a_long_random_webhook_key() -> None:
    settings = Settings.load(environment="production", webhook_secret_key="k" * 40)
    assert settings.webhook_secret_key.get_secret_value() != PLACEHOLDER_SECRET_KEY
    assert "k" * 40 not in repr(settings)


def test_file_repositories_are_off_by_default() -> None:
    assert Settings.load().allow_file_repositories is False


def test_enterprise_hosts_must_be_host_names() -> None:
    with pytest.raises(SystemExit, match="PROJECTS_GITHUB_ENTERPRISE_HOSTS"):
        Settings.load(github_enterprise_hosts=["https://ghe.example.com/"])
    settings = Settings.load(github_enterprise_hosts=["GHE.Example.com"])
    assert settings.repository_hosts == ("github.com", "ghe.example.com")


def test_by_default_a_delivery_of_githubs_largest_size_is_taken() -> None:
    # GitHub never resends a delivery refused for its size; 25 MB is its documented cap.
    assert Settings.load().webhook_max_body_bytes >= 25 * 1024 * 1024
