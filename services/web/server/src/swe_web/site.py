"""The built console held in memory: every file of ``dist/`` with its encodings and ETags.

Requests never touch the filesystem: a path is looked up in a dict of the files found when the
build was loaded, so no request path (``..``, encoded dots, NUL, symlinks) can reach a file
outside the build. The build is reloaded when its ``index.html`` changes.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path

INDEX = "index.html"
# Content types the browser must get right (the OS's mime table may lack or misname them).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".txt": "text/plain; charset=utf-8",
    ".wasm": "application/wasm",
}
COMPRESSIBLE = frozenset(
    {".html", ".js", ".mjs", ".css", ".json", ".map", ".webmanifest", ".svg", ".txt", ".ico"}
)
# Siblings the build may write (vite-plugin-compression and the like), best first.
PRECOMPRESSED = (("br", ".br"), ("gzip", ".gz"))


@dataclass(frozen=True, slots=True)
class Variant:
    """One representation of a file: its bytes, encoding (None = identity) and strong ETag."""

    body: bytes
    encoding: str | None
    etag: bytes


@dataclass(frozen=True, slots=True)
class StaticFile:
    content_type: bytes
    variants: tuple[Variant, ...]  # identity first, then br/gzip when there are any

    @property
    def negotiated(self) -> bool:
        return len(self.variants) > 1

    def variant_for(self, accepted: frozenset[str]) -> Variant:
        for variant in self.variants[1:]:
            if variant.encoding in accepted:
                return variant
        return self.variants[0]


@dataclass(frozen=True, slots=True)
class Build:
    files: dict[str, StaticFile]  # "/index.html", "/assets/index-1a2b3c.js", ...
    signature: tuple[int, int, int] | None  # index.html's (inode, mtime, size)

    @property
    def index(self) -> StaticFile | None:
        return self.files.get("/" + INDEX)


EMPTY = Build(files={}, signature=None)


def index_signature(root: Path) -> tuple[int, int, int] | None:
    try:
        stat = (root / INDEX).stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def load_build(root: Path, gzip_min_bytes: int) -> Build:
    """Read every regular file under ``root`` (symlinks and dotfiles are never served)."""
    signature = index_signature(root)
    if signature is None:
        return EMPTY
    files: dict[str, StaticFile] = {}
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        names = set(filenames)
        for name in filenames:
            path = Path(directory, name)
            if name.startswith(".") or path.is_symlink() or _is_sibling(name, names):
                continue
            url = "/" + path.relative_to(root).as_posix()
            files[url] = _static_file(path, names, gzip_min_bytes)
    return Build(files=files, signature=signature)


def _is_sibling(name: str, names: set[str]) -> bool:
    """``app.js.gz`` beside ``app.js`` is a variant of it, not a file of its own."""
    return any(name.endswith(ext) and name[: -len(ext)] in names for _, ext in PRECOMPRESSED)


def _static_file(path: Path, names: set[str], gzip_min_bytes: int) -> StaticFile:
    body = path.read_bytes()
    suffix = path.suffix.lower()
    content_type = CONTENT_TYPES.get(suffix) or (
        mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    )
    variants = [Variant(body, None, _etag(body, ""))]
    for encoding, ext in PRECOMPRESSED:
        sibling = path.name + ext
        if sibling in names and not path.with_name(sibling).is_symlink():
            encoded = path.with_name(sibling).read_bytes()
            variants.append(Variant(encoded, encoding, _etag(body, encoding)))
    has_gzip = any(v.encoding == "gzip" for v in variants)
    if suffix in COMPRESSIBLE and len(body) >= gzip_min_bytes and not has_gzip:
        # mtime=0: the same build gives the same bytes (and ETag) on every instance.
        encoded = gzip.compress(body, compresslevel=9, mtime=0)
        if len(encoded) < len(body):
            variants.append(Variant(encoded, "gzip", _etag(body, "gzip")))
    return StaticFile(content_type.encode(), tuple(variants))


def _etag(body: bytes, encoding: str) -> bytes:
    # Strong and per representation (RFC 9110 8.8.3): the gzip copy must not share the
    # identity's tag, or a cache could answer a 304 for the wrong bytes.
    digest = hashlib.sha256(body).hexdigest()[:24]
    return f'"{digest}{"-" + encoding if encoding else ""}"'.encode()


def accepted_encodings(header: bytes | None) -> frozenset[str]:
    """Codings the client accepts (q > 0) among those we have: ``br`` and ``gzip``."""
    if not header:
        return frozenset()
    accepted = set()
    for item in header.decode("latin-1").lower().split(","):
        coding, _, params = item.strip().partition(";")
        coding = coding.strip()
        if coding not in ("br", "gzip"):
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            accepted.add(coding)
    return frozenset(accepted)


def etag_matches(if_none_match: bytes | None, etag: bytes) -> bool:
    """If-None-Match uses the weak comparison: ``W/"x"`` matches ``"x"``."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(b","):
        candidate = candidate.strip()
        if candidate == b"*" or candidate.removeprefix(b"W/") == etag:
            return True
    return False
