"""Secrets at rest and opaque tokens.

Private signing keys and TOTP secrets are encrypted with Fernet (AES-128-CBC + HMAC-SHA256)
under the key-encryption key from settings. Opaque tokens (refresh, reset, API-key secrets)
carry 256 bits of randomness, so a plain SHA-256 of them is enough to store: unlike
passwords they cannot be guessed, and a fast hash keeps every lookup one indexed query.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from swe_auth.settings import Settings

# Development and test only; production refuses to start without a real key (see settings).
DEV_KEK_LABEL = "swe-auth DEVELOPMENT ONLY key-encryption key - never use in production"


class SecretBox:
    def __init__(self, fernet: Fernet) -> None:
        self._fernet = fernet

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        raw = settings.key_encryption_key.get_secret_value() or DEV_KEK_LABEL
        return cls(Fernet(_fernet_key(raw)))

    def seal(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def open(self, ciphertext: bytes) -> bytes:
        try:
            return self._fernet.decrypt(ciphertext)
        except InvalidToken:
            raise ValueError(
                "cannot decrypt a stored secret: AUTH_KEY_ENCRYPTION_KEY differs from the one "
                "it was sealed with"
            ) from None


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
