"""Auth's own Prometheus counters (served on /metrics with the request metrics)."""

from __future__ import annotations

from prometheus_client import Counter

LOGINS = Counter("swe_auth_logins_total", "Login attempts by outcome", ["outcome"])
LOCKOUTS = Counter("swe_auth_lockouts_total", "Accounts locked after repeated failed logins")
TOKENS_ISSUED = Counter("swe_auth_tokens_issued_total", "Access tokens issued by kind", ["kind"])
REFRESH_REUSE = Counter(
    "swe_auth_refresh_reuse_detected_total", "Rotated refresh tokens presented again"
)
MAILS = Counter(
    "swe_auth_mails_total",
    "Mails by kind and outcome (sent; failed: the SMTP server refused or was unreachable, the "
    "event is retried; duplicate: a redelivered event whose mail had gone already)",
    ["kind", "outcome"],
)
