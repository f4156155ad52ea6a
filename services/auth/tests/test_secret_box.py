"""auth's secrets at rest use the common SecretBox; what the Fernet box sealed before still opens,
and ``swe-auth reseal-secrets`` rewrites it in the common format."""

import asyncio
import uuid

import pyotp
import pytest
import sqlalchemy as sa
from auth_testkit import API, bearer
from cryptography.fernet import Fernet

from swe_auth import cli
from swe_auth.crypto import (
    DEV_KEK_LABEL,
    PURPOSE,
    SecretBox,
    _fernet_key,
    is_legacy,
    signing_key_context,
    totp_context,
)
from swe_auth.models import SigningKey, User
from swe_common.crypto import SecretBox as CommonSecretBox

KEY = "a long random machine secret for the tests of the secret box"
WRONG_KEY = "cannot decrypt a stored secret: AUTH_KEY_ENCRYPTION_KEY differs"


def old_seal(raw_key: str, plaintext: bytes) -> bytes:
    """What the Fernet box auth had before sealed (``Fernet(_fernet_key(raw)).encrypt``)."""
    return Fernet(_fernet_key(raw_key)).encrypt(plaintext)


def test_a_value_sealed_by_the_old_box_opens():
    context = totp_context(uuid.uuid4())
    legacy = old_seal(KEY, b"JBSWY3DPEHPK3PXP")
    assert is_legacy(legacy)
    assert SecretBox(KEY).open(context, legacy) == "JBSWY3DPEHPK3PXP"


def test_a_fernet_key_setting_still_opens_what_it_sealed():
    raw = Fernet.generate_key().decode()
    assert SecretBox(raw).open(b"any", old_seal(raw, b"pem")) == "pem"


def test_new_values_are_in_the_common_format_bound_to_their_row():
    context = signing_key_context("20261203-abc")
    sealed = SecretBox(KEY).seal(context, "private pem")
    assert not is_legacy(sealed)
    assert CommonSecretBox(KEY, PURPOSE).open(context, sealed) == "private pem"
    with pytest.raises(ValueError):
        SecretBox(KEY).open(signing_key_context("another"), sealed)


@pytest.mark.parametrize("legacy", [True, False])
def test_the_wrong_key_gives_the_same_clear_error_for_both_formats(legacy):
    context = totp_context(uuid.uuid4())
    sealed = old_seal(KEY, b"secret") if legacy else SecretBox(KEY).seal(context, "secret")
    with pytest.raises(ValueError, match=WRONG_KEY):
        SecretBox("some other key entirely, also long enough").open(context, sealed)


async def test_reseal_secrets_rewrites_legacy_values_and_they_keep_working(
    client, user, tokens, runtime, settings, clock, monkeypatch
):
    enrollment = (await client.post(f"{API}/totp/enroll", headers=bearer(tokens))).json()
    secret = enrollment["secret"]
    code = pyotp.TOTP(secret).now()
    confirmed = await client.post(
        f"{API}/totp/confirm", json={"code": code}, headers=bearer(tokens)
    )
    assert confirmed.status_code == 204, confirmed.text
    raw = settings.key_encryption_key.get_secret_value() or DEV_KEK_LABEL
    box = runtime.box
    user_id = uuid.UUID(user["id"])
    # Put both kinds of secret back in the format the old code wrote.
    async with runtime.db.transaction() as session:
        row = await session.get(User, user_id)
        row.totp_secret_encrypted = old_seal(raw, secret.encode())
        keys = (await session.scalars(sa.select(SigningKey))).all()
        for key in keys:
            pem = box.open(signing_key_context(key.kid), key.private_key_encrypted)
            key.private_key_encrypted = old_seal(raw, pem.encode())

    # The legacy values still work: login with the code, tokens signed and verified.
    clock.advance(30)
    login = await client.post(
        f"{API}/login",
        json={
            "username": user["username"],
            "password": user["password"],
            "totp_code": pyotp.TOTP(secret).at(clock().timestamp()),
        },
    )
    assert login.status_code == 200, login.text

    monkeypatch.setenv("AUTH_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("AUTH_ENVIRONMENT", "test")
    assert await asyncio.to_thread(cli.main, ["reseal-secrets"]) == 0
    async with runtime.db.transaction() as session:
        row = await session.get(User, user_id)
        assert not is_legacy(row.totp_secret_encrypted)
        keys = (await session.scalars(sa.select(SigningKey))).all()
        assert keys and not any(is_legacy(k.private_key_encrypted) for k in keys)
        assert box.open(totp_context(user_id), row.totp_secret_encrypted) == secret
    # Idempotent: nothing legacy is left to rewrite.
    assert await asyncio.to_thread(cli.main, ["reseal-secrets"]) == 0
    runtime.keyring._keys = {}
    await runtime.keyring.load()
    clock.advance(30)
    again = await client.post(
        f"{API}/login",
        json={
            "username": user["username"],
            "password": user["password"],
            "totp_code": pyotp.TOTP(secret).at(clock().timestamp()),
        },
    )
    assert again.status_code == 200, again.text
