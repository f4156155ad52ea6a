"""A pull request that changes TLS test fixtures and test asserts besides a source change: the
review comments on the source change, not on the fixtures' keys or the asserts; test code's
policy is configurable, and a key outside test code is still critical."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from swe_agents.runners import pr_reviewer

from . import contexts
from .gitrepo import commit, git, make_repo

NET_PY = '''"""Fetching things."""

import requests


def fetch(url: str) -> bytes:
    return requests.get(url, timeout=5).content
'''
NET_CHANGED_PY = (
    NET_PY
    + """

def fetch_all(urls: list[str]) -> list[bytes]:
    unused = len(urls)
    return [requests.get(url).content for url in urls]
"""
)
# Key material as a TLS test suite ships it (a made-up body: the header is what is detected).
KEY = "-----BEGIN PRIVATE KEY-----\nMIIEvAIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
RSA_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----\n"
TEST_TLS_PY = '''"""TLS tests."""

import ssl

from app.net import fetch

SERVER_KEY = "tests/certs/server.key"


def test_context() -> None:
    context = ssl.create_default_context()
    assert context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert SERVER_KEY.endswith(".key")
    assert fetch
    assert ssl.PROTOCOL_TLS_CLIENT
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert not context.post_handshake_auth
    assert context.options
    assert isinstance(context, ssl.SSLContext)
'''


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = make_repo(
        tmp_path_factory.mktemp("tls") / "repo",
        {"app/__init__.py": "", "app/net.py": NET_PY, "tests/__init__.py": ""},
    )
    git(path, "checkout", "--quiet", "-b", "tls-fixtures")
    commit(
        path,
        {
            "app/net.py": NET_CHANGED_PY,
            "tests/certs/server.key": KEY,
            "tests/certs/client.key": RSA_KEY,
            "tests/fixtures/ca.pem": KEY,
            "tests/certs/expired.key": RSA_KEY,
            "tests/test_tls.py": TEST_TLS_PY,
        },
        "TLS fixtures and fetch_all",
    )
    git(path, "checkout", "--quiet", "-b", "deploy-key", "main")
    commit(path, {"deploy/server.key": KEY}, "a key outside the tests")
    git(path, "checkout", "--quiet", "main")
    return path


@pytest.fixture(scope="module")
async def review(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("review")
    return await pr_reviewer.run(contexts.reviewer(tmp, repo, "tls-fixtures", min_severity="low"))


def test_the_review_comments_on_the_source_change_only(review: dict[str, Any]) -> None:
    places = {(c["path"], c["rule"]) for c in review["comments"]}
    assert {p for p, _ in places} == {"app/net.py"}, review["comments"]
    assert ("app/net.py", "B113") in places  # the request without a timeout
    assert ("app/net.py", "F841") in places  # the unused variable
    assert review["approval"] == "request_changes"  # for the source change's B113


def test_test_key_material_and_asserts_are_not_commented(review: dict[str, Any]) -> None:
    assert not [c for c in review["comments"] if c["severity"] == "critical"]
    dropped = review["suppressed"]
    assert dropped["test_noise"] >= 9  # the asserts
    assert dropped["test_below_min_severity"] >= 4  # the four keys, info in test code


async def test_test_code_policy_is_configurable(repo: Path, tmp_path: Path) -> None:
    ctx = contexts.reviewer(tmp_path, repo, "tls-fixtures", test_min_severity="info")
    result = await pr_reviewer.run(ctx)
    keys = [c for c in result["comments"] if c["tool"] == "secrets"]
    assert sorted(c["path"] for c in keys) == [
        "tests/certs/client.key",
        "tests/certs/expired.key",
        "tests/certs/server.key",
        "tests/fixtures/ca.pem",
    ]
    assert {(c["severity"], c["test"]) for c in keys} == {("info", True)}
    assert all("test data" in c["message"] for c in keys)
    # Asserts stay noise whatever the policy.
    assert not [c for c in result["comments"] if c["rule"] == "B101"]


async def test_a_key_outside_test_code_is_still_critical(repo: Path, tmp_path: Path) -> None:
    result = await pr_reviewer.run(contexts.reviewer(tmp_path, repo, "deploy-key"))
    assert [(c["path"], c["rule"], c["severity"]) for c in result["comments"]] == [
        ("deploy/server.key", "SEC001", "critical")
    ]
    assert result["approval"] == "request_changes"
