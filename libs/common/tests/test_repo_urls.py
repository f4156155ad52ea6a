"""Repository URLs: only well-formed GitHub (or configured enterprise) repositories pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swe_common.repo_urls import RepositoryRef, validate_repository_url

WELL_FORMED = re.compile(
    r"^https://(github\.com|ghe\.example\.com)(:443)?/"
    r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}/[A-Za-z0-9._-]{1,100}/?$",
    re.IGNORECASE,
)


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/octocat/Hello-World",
        "https://github.com/octocat/Hello-World.git",
        "https://github.com/octocat/Hello-World/",
        "https://github.com/octocat/Hello-World.git/",
        "HTTPS://GitHub.com/octocat/Hello-World",
        "https://github.com:443/octocat/Hello-World",
        "  https://github.com/octocat/Hello-World  ",
    ],
)
def test_github_repository_urls_are_accepted(url: str) -> None:
    ref = validate_repository_url(url)
    assert ref == RepositoryRef(
        host="github.com",
        owner="octocat",
        name="Hello-World",
        clone_url="https://github.com/octocat/Hello-World.git",
        url="https://github.com/octocat/Hello-World",
    )


def test_repository_names_may_contain_dots_and_underscores() -> None:
    ref = validate_repository_url("https://github.com/my-org/my_repo.v2")
    assert (ref.owner, ref.name) == ("my-org", "my_repo.v2")


def test_configured_enterprise_host_is_accepted() -> None:
    ref = validate_repository_url(
        "https://ghe.example.com/team/service.git", allowed_hosts=("github.com", "GHE.example.com")
    )
    assert ref.host == "ghe.example.com"
    assert ref.clone_url == "https://ghe.example.com/team/service.git"


def test_enterprise_host_is_refused_unless_configured() -> None:
    with pytest.raises(ValueError, match="not an allowed repository host"):
        validate_repository_url("https://ghe.example.com/team/service")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://github.com/octocat/repo", "scheme 'http' is not allowed"),
        ("ssh://git@github.com/octocat/repo", "scheme 'ssh' is not allowed"),
        ("git://github.com/octocat/repo", "scheme 'git' is not allowed"),
        ("ext::sh -c touch% /tmp/pwned", "printable ASCII"),
        ("git@github.com:octocat/repo.git", "must start with https://"),
        ("github.com/octocat/repo", "must start with https://"),
        ("https://user:pass@github.com/octocat/repo", "credentials"),
        ("https://token@github.com/octocat/repo", "credentials"),
        ("https://github.com:8443/octocat/repo", "port other than 443"),
        ("https://github.com:/octocat/repo", "port other than 443"),
        ("https://github.com/octocat/repo?ref=main", "query string or fragment"),
        ("https://github.com/octocat/repo#readme", "query string or fragment"),
        ("https://github.com/octocat/../admin", "'..' path segments"),
        ("https://github.com/octocat/..", "'..' path segments"),
        ("https://github.com/octocat/%2e%2e", "percent-escapes"),
        ("https://github.com/octocat/repo/tree/main", "must have the form"),
        ("https://github.com/octocat", "must have the form"),
        ("https://github.com//repo", "not a valid owner"),
        ("https://github.com/-octocat/repo", "not a valid owner"),
        ("https://github.com/octo--cat/repo", "not a valid owner"),
        ("https://github.com/octocat/.git", "not a valid repository name"),
        ("https://127.0.0.1/octocat/repo", "IP addresses"),
        ("https://2130706433/octocat/repo", "IP addresses"),
        ("https://0x7f.1/octocat/repo", "IP addresses"),
        ("https://[::1]/octocat/repo", "IP addresses"),
        ("https://169.254.169.254/latest/meta", "IP addresses"),
        ("https://localhost/octocat/repo", "local or private host"),
        ("https://metadata.google.internal/octocat/repo", "local or private host"),
        ("https://evil.localhost/octocat/repo", "local or private host"),
        ("https://github.com.evil.example/octocat/repo", "not an allowed repository host"),
        ("https://github.com\\@evil.example/octocat/repo", "backslashes"),
        ("https://g\u0456thub.com/octocat/repo", "printable ASCII"),  # a Cyrillic i
        ("https://github.com/octo cat/repo", "printable ASCII"),
        ("", "must not be empty"),
        ("https://github.com/" + "a" * 3000, "at most 2048"),
    ],
)
def test_unsafe_or_malformed_urls_are_refused_with_a_reason(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        validate_repository_url(url)


def test_trailing_newline_is_trimmed_not_smuggled() -> None:
    # A pasted URL's surrounding whitespace is harmless; it is trimmed, never kept.
    ref = validate_repository_url("https://github.com/octocat/repo\n")
    assert ref.url == "https://github.com/octocat/repo"


def test_file_repositories_are_refused_unless_enabled(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not enabled"):
        validate_repository_url(f"file://{tmp_path}")


def test_file_repository_to_an_existing_directory_is_accepted_when_enabled(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "sample.git"
    repo.mkdir()
    ref = validate_repository_url(f"file://{repo}/", allow_file=True)
    assert ref.is_local
    assert ref.clone_url == f"file://{repo}"
    assert ref.name == "sample"


@pytest.mark.parametrize(
    ("suffix", "reason"),
    [
        ("/missing", "not an existing directory"),
        ("/../etc", "normalised"),
        ("/./x", "normalised"),
    ],
)
def test_file_repository_paths_must_be_normalised_existing_directories(
    tmp_path: Path, suffix: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        validate_repository_url(f"file://{tmp_path}{suffix}", allow_file=True)


def test_file_repository_must_be_absolute_and_hostless(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="file:///absolute/path"):
        validate_repository_url(f"file://localhost{tmp_path}", allow_file=True)


def test_file_repository_must_not_be_a_regular_file(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(ValueError, match="not an existing directory"):
        validate_repository_url(f"file://{target}", allow_file=True)


url_alphabet = st.sampled_from([*"abcgithu.com/:@?#%[]-_.0123456789xyzHTTPSs \\\t\n", "://"])


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80))
def test_random_text_never_passes_unless_well_formed(text: str) -> None:
    _assert_refused_unless_well_formed(text)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.builds(
        lambda prefix, body: prefix + body,
        st.sampled_from(["https://github.com/", "https://", "https://ghe.example.com/", ""]),
        st.lists(url_alphabet, max_size=40).map("".join),
    )
)
def test_url_like_text_never_passes_unless_well_formed(text: str) -> None:
    _assert_refused_unless_well_formed(text)


def _assert_refused_unless_well_formed(text: str) -> None:
    try:
        ref = validate_repository_url(text, allowed_hosts=("github.com", "ghe.example.com"))
    except ValueError:
        return
    assert WELL_FORMED.match(text.strip()), text
    assert ref.host in ("github.com", "ghe.example.com")
    assert ref.clone_url == f"{ref.url}.git"


owners = st.from_regex(r"\A[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,15}\Z")
names = st.from_regex(r"\A[A-Za-z0-9_-][A-Za-z0-9._-]{0,30}\Z").filter(
    lambda n: not n.endswith(".git")
)


@settings(max_examples=200)
@given(owners, names, st.sampled_from(["", ".git", "/", ".git/"]))
def test_every_well_formed_github_url_passes_and_round_trips(
    owner: str, name: str, suffix: str
) -> None:
    ref = validate_repository_url(f"https://github.com/{owner}/{name}{suffix}")
    assert (ref.owner, ref.name) == (owner, name)
    assert validate_repository_url(ref.url) == ref
