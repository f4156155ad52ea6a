"""``swe-auth``: operator commands.

swe-auth create-admin --email a@example.com --username alice [--full-name "Alice"]
    the password comes from AUTH_BOOTSTRAP_ADMIN_PASSWORD or an interactive prompt
swe-auth rotate-keys
    add a signing key that signs from now on; old public keys stay published until
    their tokens have expired
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

from pydantic import ValidationError

from swe_auth.accounts.schemas import RegisterRequest
from swe_auth.accounts.service import NewUser, reseal_totp_secrets
from swe_auth.bootstrap import create_admin
from swe_auth.clock import system_clock
from swe_auth.crypto import SecretBox
from swe_auth.keys.service import reseal_signing_keys, rotate
from swe_auth.runtime import AuthRuntime
from swe_auth.settings import Settings
from swe_common.db import Database
from swe_common.errors import AppError

PASSWORD_ENV = "AUTH_BOOTSTRAP_ADMIN_PASSWORD"  # noqa: S105 - a variable name


def _password() -> str:
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise SystemExit(f"No password: set {PASSWORD_ENV} or run in a terminal to be prompted")
    first = getpass.getpass("Password for the new admin: ")
    if first != getpass.getpass("Repeat it: "):
        raise SystemExit("The passwords differ")
    return first


async def _create_admin(settings: Settings, new: NewUser) -> str:
    db = Database(settings)
    try:
        rt = AuthRuntime.build(settings, system_clock, db, redis=None)
        async with db.transaction() as session:
            user = await create_admin(session, rt, new)
        return str(user.id)
    finally:
        await db.dispose()


async def _rotate(settings: Settings) -> str:
    db = Database(settings)
    try:
        async with db.transaction() as session:
            return await rotate(session, SecretBox.from_settings(settings), system_clock)
    finally:
        await db.dispose()


async def _reseal(settings: Settings) -> tuple[int, int]:
    db = Database(settings)
    box = SecretBox.from_settings(settings)
    try:
        async with db.transaction() as session:
            keys = await reseal_signing_keys(session, box)
            totps = await reseal_totp_secrets(session, box)
        return keys, totps
    finally:
        await db.dispose()


def _new_admin(email: str, username: str, full_name: str) -> NewUser:
    password = _password()
    try:
        valid = RegisterRequest(
            email=email, username=username, password=password, full_name=full_name
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SystemExit(f"error: {problems}") from None
    return NewUser(str(valid.email), valid.username, password, valid.full_name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="swe-auth", description="Auth service operations")
    commands = parser.add_subparsers(dest="command", required=True)
    admin = commands.add_parser("create-admin", help="create an administrator account")
    admin.add_argument("--email", required=True)
    admin.add_argument("--username", required=True)
    admin.add_argument("--full-name", default="")
    commands.add_parser("rotate-keys", help="add a new signing key")
    commands.add_parser(
        "reseal-secrets",
        help="rewrite secrets still sealed in the legacy (Fernet) format in the common one",
    )
    args = parser.parse_args(argv)
    settings = Settings.load()

    if args.command == "create-admin":
        new = _new_admin(args.email, args.username, args.full_name)
        try:
            user_id = asyncio.run(_create_admin(settings, new))
        except AppError as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return 1
        print(f"created admin {args.username} ({user_id})")
        return 0
    if args.command == "reseal-secrets":
        keys, totps = asyncio.run(_reseal(settings))
        print(f"resealed {keys} signing key(s) and {totps} TOTP secret(s) in the common format")
        return 0
    kid = asyncio.run(_rotate(settings))
    print(f"new signing key {kid}; it signs from now on")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
