"""The SMTP sender against a real server process: STARTTLS and implicit TLS with AUTH, the
server's certificate verified, a wrong password or an untrusted certificate refused."""

from __future__ import annotations

import aiosmtplib
import pytest

from swe_auth.mail.sender import Mail, SmtpSender
from swe_auth.mail.templates import render
from swe_auth.settings import Settings
from swe_common.testing_mail import SmtpServer, html_part, text_part

USER, SECRET = "mailer", "smtp secret 123"


def a_mail(to: str) -> Mail:
    values = {"name": "Ann", "minutes": "30", "link": "http://console.test/reset-password?token=t"}
    return Mail(
        to=to,
        kind="password_reset",
        rendered=render("password_reset", values, "http://console.test"),
        event_id="0e5c4ab8-7f35-4a8e-9d59-1b1f8d6ab001",
    )


def sender(server: SmtpServer, security: str, **overrides: object) -> SmtpSender:
    values: dict[str, object] = {
        "environment": "test",
        "smtp_host": server.host,
        "smtp_port": server.port,
        "smtp_security": security,
        "smtp_username": USER,
        "smtp_password": SECRET,
        "smtp_ca_file": str(server.cert),
        "smtp_timeout_seconds": 5,
        "mail_from": "SWE platform <noreply@swe.test>",
    }
    settings = Settings(**{**values, **overrides})  # type: ignore[arg-type]
    return SmtpSender(settings)


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_mail_goes_out_over_tls_with_auth(tmp_path, security):
    with SmtpServer(tmp_path, tls=security, user=USER, password=SECRET) as server:
        await sender(server, security).send(a_mail("ann@example.com"))
        mail = await server.wait_for("ann@example.com", "password_reset")
    assert mail["From"] == "SWE platform <noreply@swe.test>"
    assert "0e5c4ab87f354a8e9d591b1f8d6ab001" in mail["Message-ID"]
    assert "http://console.test/reset-password?token=t" in text_part(mail)
    assert 'href="http://console.test/reset-password?token=t"' in html_part(mail)


async def test_a_wrong_smtp_password_is_refused(tmp_path):
    with SmtpServer(tmp_path, tls="starttls", user=USER, password=SECRET) as server:
        with pytest.raises(aiosmtplib.SMTPAuthenticationError):
            await sender(server, "starttls", smtp_password="wrong").send(a_mail("b@example.com"))
        assert server.messages() == []


async def test_a_certificate_nobody_vouches_for_is_refused(tmp_path):
    with SmtpServer(tmp_path, tls="tls", user=USER, password=SECRET) as server:
        with pytest.raises(aiosmtplib.SMTPConnectError):
            await sender(server, "tls", smtp_ca_file="").send(a_mail("c@example.com"))
        assert server.messages() == []


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_the_health_check_reaches_the_server_without_sending_mail(tmp_path, security):
    """What /health/detailed reports as smtp: connect with TLS as configured, NOOP, QUIT."""
    with SmtpServer(tmp_path, tls=security, user=USER, password=SECRET) as server:
        detail = await sender(server, security).check()
        assert server.messages() == []
    assert detail == {"backend": "smtp", "security": security}


async def test_the_health_check_fails_when_the_server_is_unreachable(tmp_path):
    with SmtpServer(tmp_path, tls="starttls", user=USER, password=SECRET) as server:
        unreachable = sender(server, "starttls")
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await unreachable.check()
