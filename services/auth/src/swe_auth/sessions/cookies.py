"""Browser cookie mode: the refresh token in an HttpOnly cookie, a double-submit CSRF cookie.

The web console keeps its access token in memory only; the refresh token must never be
readable by page scripts, so it travels in ``swe_refresh`` (HttpOnly, Secure, SameSite=Strict,
sent only to ``/api/v1/auth``). Cookies ride along with every request the browser makes, so a
request that uses one must also prove it comes from our page: the ``X-CSRF-Token`` header must
repeat ``swe_csrf`` (readable by the page, not by another origin). The CSRF value is an HMAC
keyed by the refresh token, so a CSRF cookie planted by a sibling subdomain cannot match a
refresh cookie it does not know.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from fastapi import Request, Response

from swe_common.errors import Forbidden, Unauthorized

REFRESH_COOKIE = "swe_refresh"
CSRF_COOKIE = "swe_csrf"
CSRF_HEADER = "X-CSRF-Token"
REFRESH_PATH = "/api/v1/auth"
MAX_COOKIE_LENGTH = 512


def csrf_value(refresh_token: str) -> str:
    mac = hmac.new(refresh_token.encode(), b"swe-csrf", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _set_cookie(
    response: Response, name: str, value: str, path: str, max_age: int, *, http_only: bool
) -> None:
    # Written by hand: the contract spells the attributes exactly (SameSite=Strict).
    flags = "; HttpOnly" if http_only else ""
    response.headers.append(
        "set-cookie",
        f"{name}={value}{flags}; Secure; SameSite=Strict; Path={path}; Max-Age={max_age}",
    )


def set_session_cookies(response: Response, refresh_token: str, max_age: int) -> None:
    _set_cookie(response, REFRESH_COOKIE, refresh_token, REFRESH_PATH, max_age, http_only=True)
    _set_cookie(response, CSRF_COOKIE, csrf_value(refresh_token), "/", max_age, http_only=False)


def clear_session_cookies(response: Response) -> None:
    _set_cookie(response, REFRESH_COOKIE, "", REFRESH_PATH, 0, http_only=True)
    _set_cookie(response, CSRF_COOKIE, "", "/", 0, http_only=False)


def refresh_cookie(request: Request) -> str | None:
    value = request.cookies.get(REFRESH_COOKIE)
    return value if value and len(value) <= MAX_COOKIE_LENGTH else None


def require_refresh_cookie(request: Request) -> str:
    """The refresh token from the cookie, after the CSRF check (401 without it, 403 on CSRF)."""
    token = refresh_cookie(request)
    if token is None:
        raise Unauthorized(f"No {REFRESH_COOKIE} cookie: sign in again")
    check_csrf(request, token)
    return token


def check_csrf(request: Request, refresh_token: str) -> None:
    header = request.headers.get(CSRF_HEADER, "")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    expected = csrf_value(refresh_token)
    if not header:
        raise Forbidden(f"The {CSRF_HEADER} header is missing", header=CSRF_HEADER)
    same_as_cookie = hmac.compare_digest(header.encode(), cookie.encode())
    if not (same_as_cookie and hmac.compare_digest(header.encode(), expected.encode())):
        raise Forbidden(
            f"The {CSRF_HEADER} header does not match the {CSRF_COOKIE} cookie", header=CSRF_HEADER
        )
