"""Validating the repository URLs users register, before any service clones or calls them.

A repository URL is attacker-controlled input that later reaches ``git clone`` and HTTP clients,
so only a narrow, well-formed shape passes: ``https://github.com/<owner>/<repo>`` (optionally
``.git`` and a trailing slash) or the same on a configured GitHub Enterprise host. Everything
else is refused with a message that says why: other schemes (``ssh``, ``git``, ``http``, ``ext::``
transports), credentials in the URL, non-default ports, query strings and fragments, encoded or
traversing paths, IP literals and ``localhost``-like names. DNS is deliberately not resolved
here (the answer can change between check and use); the host allow-list is the defence, and a
configured enterprise host is trusted.

``allow_file=True`` (development and tests only) also admits ``file:///absolute/path`` to an
existing directory. That check touches the file system, so call the validator off the event loop
when ``allow_file`` is on.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

MAX_URL_LENGTH = 2048
DEFAULT_HOSTS: tuple[str, ...] = ("github.com",)

# GitHub's own rules: owners are alphanumeric with single inner hyphens (39 chars at most);
# repository names are letters, digits, '.', '-' and '_' (100 chars at most).
_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_REPO = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_HOST_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain")
_FILE_PATH = re.compile(r"^/[A-Za-z0-9._/+@=,~-]*$")


@dataclass(frozen=True, slots=True)
class RepositoryRef:
    """A validated repository: where it lives and how to clone it."""

    host: str  # "" for a local file:// repository
    owner: str
    name: str
    clone_url: str
    url: str  # the canonical form to store and show (no ".git", no trailing slash)

    @property
    def is_local(self) -> bool:
        return self.host == ""


def validate_repository_url(
    url: str,
    *,
    allowed_hosts: Sequence[str] = DEFAULT_HOSTS,
    allow_file: bool = False,
) -> RepositoryRef:
    """Return the repository ``url`` names, or raise ``ValueError`` saying what is wrong."""
    if not isinstance(url, str):
        raise ValueError("repository URL must be a string")
    text = url.strip()
    _check_characters(text)
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise ValueError("repository URL must start with https://")
    scheme = scheme.lower()
    if "?" in rest or "#" in rest:
        raise ValueError("repository URL must not have a query string or fragment")
    if scheme == "https":
        return _https_repository(rest, allowed_hosts)
    if scheme == "file":
        if not allow_file:
            raise ValueError("file:// repositories are not enabled on this server")
        return _file_repository(rest)
    raise ValueError(f"scheme {scheme!r} is not allowed; use https://")


def _check_characters(text: str) -> None:
    if not text:
        raise ValueError("repository URL must not be empty")
    if len(text) > MAX_URL_LENGTH:
        raise ValueError(f"repository URL must be at most {MAX_URL_LENGTH} characters")
    # Printable ASCII only: no whitespace, control characters or look-alike Unicode hosts.
    if any(not ("!" <= ch <= "~") for ch in text):
        raise ValueError("repository URL must contain only printable ASCII, without spaces")
    if "%" in text or "\\" in text:
        raise ValueError("repository URL must not contain percent-escapes or backslashes")


def _https_repository(rest: str, allowed_hosts: Sequence[str]) -> RepositoryRef:
    authority, slash, path = rest.partition("/")
    host = _host_of(authority)
    allowed = {h.strip().lower().rstrip(".") for h in allowed_hosts if h.strip()}
    if host not in allowed:
        _refuse_local_host(host)
        names = ", ".join(sorted(allowed))
        raise ValueError(f"host {host!r} is not an allowed repository host (allowed: {names})")
    owner, name = _owner_and_name("/" + path if slash else "")
    return RepositoryRef(
        host=host,
        owner=owner,
        name=name,
        clone_url=f"https://{host}/{owner}/{name}.git",
        url=f"https://{host}/{owner}/{name}",
    )


def _host_of(authority: str) -> str:
    if "@" in authority:
        raise ValueError("repository URL must not contain credentials (user@ or user:password@)")
    if authority.startswith("["):
        raise ValueError("IP addresses are not allowed as repository hosts")
    host, colon, port = authority.partition(":")
    if colon and port != "443":
        raise ValueError("repository URL must not name a port other than 443")
    host = host.lower().rstrip(".")
    if not host:
        raise ValueError("repository URL has no host")
    if _is_ip_literal(host):
        raise ValueError("IP addresses are not allowed as repository hosts")
    labels = host.split(".")
    if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise ValueError(f"{host!r} is not a valid host name")
    return host


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return True
    # inet_aton forms ("127.1", "0x7f.0.0.1", "2130706433") resolve to addresses too.
    last = host.rsplit(".", 1)[-1]
    return bool(re.fullmatch(r"(0x[0-9a-f]*|[0-9]+)", last))


def _refuse_local_host(host: str) -> None:
    if host in _LOCAL_NAMES or host.endswith(_LOCAL_SUFFIXES):
        raise ValueError(f"local or private host {host!r} is not allowed")


def _owner_and_name(path: str) -> tuple[str, str]:
    trimmed = path.removesuffix("/")
    parts = trimmed.split("/")
    if any(part in (".", "..") for part in parts):
        raise ValueError("repository URL must not contain '.' or '..' path segments")
    if len(parts) != 3 or parts[0] != "":
        raise ValueError("repository URL must have the form https://<host>/<owner>/<repo>")
    owner, name = parts[1], parts[2].removesuffix(".git")
    if not _OWNER.match(owner):
        raise ValueError(
            f"{owner!r} is not a valid owner: letters, digits and single inner hyphens, at most 39"
        )
    if name in ("", ".", "..") or not _REPO.match(name) or name.endswith(".git"):
        raise ValueError(
            f"{parts[2]!r} is not a valid repository name: letters, digits, '.', '-' and '_'"
        )
    return owner, name


def _file_repository(rest: str) -> RepositoryRef:
    if not rest.startswith("/"):
        raise ValueError("file:// repositories must be written file:///absolute/path")
    path = rest.rstrip("/") or "/"
    if not _FILE_PATH.match(path):
        raise ValueError("file:// path contains characters that are not allowed")
    segments = path.split("/")[1:]
    if any(seg in ("", ".", "..") for seg in segments) or path == "/":
        raise ValueError("file:// path must be absolute and normalised (no '.', '..' or '//')")
    if not os.path.isdir(path):
        raise ValueError(f"file:// path {path!r} is not an existing directory")
    name = segments[-1].removesuffix(".git") or segments[-1]
    return RepositoryRef(
        host="", owner="local", name=name, clone_url=f"file://{path}", url=f"file://{path}"
    )
