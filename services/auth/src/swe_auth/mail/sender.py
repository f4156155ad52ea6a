"""Sending a mail: through SMTP (plain for a local relay, STARTTLS or implicit TLS, with AUTH
when a user name is set), or only logging who would get what (``AUTH_MAIL_BACKEND=log``)."""

from __future__ import annotations

import contextlib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Protocol

import aiosmtplib
import structlog

from swe_auth.mail.templates import Rendered
from swe_auth.settings import Settings

log = structlog.stdlib.get_logger(__name__)


@dataclass(frozen=True)
class Mail:
    to: str
    kind: str
    rendered: Rendered
    # The event the mail is for: its Message-ID, so a receiving system can drop a duplicate.
    event_id: str


class Sender(Protocol):
    async def send(self, mail: Mail) -> None: ...


def message(mail: Mail, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = mail.rendered.subject
    domain = sender.rsplit("@", 1)[-1].strip(" >") or "localhost"
    msg["Message-ID"] = make_msgid(idstring=mail.event_id.replace("-", ""), domain=domain)
    msg["X-SWE-Mail-Kind"] = mail.kind
    msg.set_content(mail.rendered.text)
    msg.add_alternative(mail.rendered.html, subtype="html")
    return msg


class SmtpSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._tls: ssl.SSLContext | None = None
        if settings.smtp_security != "none":
            self._tls = ssl.create_default_context(cafile=settings.smtp_ca_file or None)

    async def send(self, mail: Mail) -> None:
        s = self.settings
        password = s.smtp_password.get_secret_value()
        await aiosmtplib.send(
            message(mail, s.mail_from),
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username or None,
            password=password if s.smtp_username else None,
            use_tls=s.smtp_security == "tls",
            start_tls=s.smtp_security == "starttls",
            tls_context=self._tls,
            timeout=s.smtp_timeout_seconds,
        )
        log.info("mail_sent", kind=mail.kind, event_id=mail.event_id)

    async def check(self) -> dict[str, Any]:
        """For /health/detailed: connect (with TLS as configured), NOOP, QUIT; no AUTH, no mail."""
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            use_tls=s.smtp_security == "tls",
            start_tls=s.smtp_security == "starttls",
            tls_context=self._tls,
            timeout=min(s.smtp_timeout_seconds, 3.0),
        )
        await client.connect()
        try:
            await client.noop()
        finally:
            with contextlib.suppress(aiosmtplib.SMTPException):
                await client.quit()
        return {"backend": "smtp", "security": s.smtp_security}


class LogSender:
    """Development without an SMTP server: says that a mail would go, never what it says
    (reset and verification mails carry tokens)."""

    async def send(self, mail: Mail) -> None:
        domain = mail.to.rsplit("@", 1)[-1]
        log.warning(
            "mail_not_sent_log_backend", kind=mail.kind, event_id=mail.event_id, domain=domain
        )

    async def check(self) -> dict[str, Any]:
        return {"backend": "log", "note": "mails are logged, not sent"}


def sender_for(settings: Settings) -> Sender:
    return SmtpSender(settings) if settings.mail_backend == "smtp" else LogSender()
