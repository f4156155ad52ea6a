"""A real SMTP server process for tests (``swe_common.smtp_test_server``, aiosmtpd) and what it
received, read back from its Maildir.

    with SmtpServer(tmp_path) as smtp:          # plain SMTP on a free port
        ...                                      # point the service at smtp.host / smtp.port
        mail = await smtp.wait_for("ann@example.com", kind="password_reset")
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import mailbox
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Self

from swe_common.testing import eventually, free_port


def self_signed_certificate(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A certificate for ``host`` and its key (PEM files); the certificate is its own CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class SmtpServer:
    """``python -m swe_common.smtp_test_server`` on a free port, writing to ``directory``."""

    host = "127.0.0.1"

    def __init__(
        self,
        directory: Path,
        *,
        tls: str = "none",
        user: str | None = None,
        password: str | None = None,
        port: int | None = None,
    ) -> None:
        self.directory = directory
        self.maildir = directory / "maildir"
        self.tls = tls
        self.user = user
        self.password = password
        self.port = port or free_port()
        self.cert: Path | None = None
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> Self:
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "swe_common.smtp_test_server",
            "--port", str(self.port), "--maildir", str(self.maildir),
        ]  # fmt: skip
        if self.tls != "none":
            self.cert, key = self_signed_certificate(self.directory)
            command += ["--cert", str(self.cert), "--key", str(key)]
            if self.tls == "tls":
                command.append("--implicit-tls")
        if self.user:
            command += ["--user", self.user, "--password", self.password or ""]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            self.stop()
            raise RuntimeError(f"the SMTP test server did not start: {line!r}")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: Any) -> None:
        self.stop()

    def messages(self) -> list[EmailMessage]:
        if not self.maildir.exists():
            return []
        box = mailbox.Maildir(self.maildir, create=False)
        return [
            email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
            for key in box.iterkeys()
        ]

    def received(self, to: str, kind: str | None = None) -> list[EmailMessage]:
        return [
            m
            for m in self.messages()
            if to.lower() in str(m["To"]).lower() and (kind is None or m["X-SWE-Mail-Kind"] == kind)
        ]

    async def wait_for(self, to: str, kind: str | None = None, within: float = 60) -> EmailMessage:
        async def probe() -> list[EmailMessage]:
            return self.received(to, kind)

        return (await eventually(probe, timeout=within))[0]


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())
