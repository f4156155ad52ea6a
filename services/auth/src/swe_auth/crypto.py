"""Secrets at rest and opaque tokens.

Private signing keys and TOTP secrets are sealed with the common ``SecretBox`` (AES-256-GCM)
under the key-encryption key from settings; the Fernet tokens of earlier versions still open.
Opaque tokens (refresh, reset, API-key secrets) carry 256 bits of randomness, so a plain
SHA-256 of them is enough to store: unlike passwords they cannot be guessed, and a fast hash
keeps every lookup one indexed query.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from swe_auth.settings import Settings
from swe_common.crypto import SecretBox as CommonSecretBox

# Development and test only; production refuses to start without a real key (see settings).
DEV_KEK_LABEL = "swe-auth DEVELOPMENT ONLY key-encryption key - never use in production"


# Sealed secrets carry the owning row in their context (associated data): a sealed value copied
# onto another row, or from a signing key onto a TOTP secret, does not open.
PURPOSE = "swe-auth at-rest secrets"
_WRONG_KEY = "cannot decrypt a stored secret: " + (
    "AUTH_KEY_ENCRYPTION_KEY differs from the one it was sealed with"
)
# Every Fernet token is the URL-safe base64 of a 0x80 version byte: it starts with "gAAAAA".
# The common format starts with its own version byte (0x01), never "g".
_LEGACY_PREFIX = b"gAAAAA"


def signing_key_context(kid: str) -> bytes:
    return b"signing-key:" + kid.encode()


def totp_context(user_id: uuid.UUID) -> bytes:
    return b"totp:" + str(user_id).encode()


class SecretBox:
    """auth's secrets at rest in the common format (``swe_common.crypto.SecretBox``: AES-GCM,
    purpose + context). Values sealed before it (Fernet under the same setting) still open;
    ``swe-auth reseal-secrets`` rewrites them so the legacy reader can be dropped."""

    def __init__(self, raw_key: str) -> None:
        self._box = CommonSecretBox(raw_key, PURPOSE)
        self._legacy = Fernet(_fernet_key(raw_key))

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        return cls(settings.key_encryption_key.get_secret_value() or DEV_KEK_LABEL)

    def seal(self, context: bytes, secret: str) -> bytes:
        return self._box.seal(context, secret)

    def open(self, context: bytes, sealed: bytes) -> str:
        """The secret, or ValueError saying the key differs."""
        try:
            if is_legacy(sealed):
                return self._legacy.decrypt(sealed).decode()
            return self._box.open(context, sealed)
        except (InvalidToken, ValueError):
            raise ValueError(_WRONG_KEY) from None


def is_legacy(sealed: bytes) -> bool:
    """Sealed by the Fernet box auth used before the common one."""
    return sealed.startswith(_LEGACY_PREFIX)


def _fernet_key(raw: str) -> bytes:
    try:
        if len(base64.urlsafe_b64decode(raw.encode())) == 32:
            return raw.encode()
    except ValueError:
        pass
    # Any other string: stretch it to a Fernet key; it is a machine secret, not a password.
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"swe-auth-kek").derive(
        raw.encode()
    )
    return base64.urlsafe_b64encode(derived)


def new_secret(prefix: str, nbytes: int = 32) -> str:
    return f"{prefix}{secrets.token_urlsafe(nbytes)}"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same_digest(secret: str, expected_hex: str) -> bool:
    return hmac.compare_digest(digest(secret), expected_hex)
