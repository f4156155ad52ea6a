"""A real SMTP server for the tests, run as its own process: aiosmtpd writing every message it
accepts into a Maildir the tests read.

    python -m swe_common.smtp_test_server --port 2525 --maildir DIR
        [--cert C --key K [--implicit-tls]] [--user U --password P]

With a certificate it offers STARTTLS (and requires it before AUTH and MAIL), or with
``--implicit-tls`` speaks TLS from the first byte; with a user it requires AUTH PLAIN/LOGIN.
Prints ``ready`` on stdout once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
from typing import Any

from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()
    asyncio.run(serve(args))


def authenticator(user: str, password: str) -> Any:
    def check(_server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any) -> Any:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == user
            and data.password.decode() == password
        )
        # handled=False: the server answers 535 itself on a failure.
        return AuthResult(success=ok, handled=False)

    return check


async def serve(args: argparse.Namespace) -> None:
    context = None
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
    handler = Mailbox(args.maildir)
    starttls = context if context is not None and not args.implicit_tls else None

    def factory() -> SMTP:
        return SMTP(
            handler,
            tls_context=starttls,
            require_starttls=starttls is not None,
            authenticator=authenticator(args.user, args.password) if args.user else None,
            auth_required=bool(args.user),
            # Implicit TLS is TLS from the first byte, which aiosmtpd does not see: it only
            # knows of STARTTLS.
            auth_require_tls=starttls is not None,
        )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        factory, args.host, args.port, ssl=context if args.implicit_tls else None
    )
    print("ready", flush=True)
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    main()
