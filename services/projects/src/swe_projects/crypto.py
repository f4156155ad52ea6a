"""Webhook secrets at rest: AES-256-GCM under a key derived from the service's settings.

The project id is bound in as associated data, so a ciphertext copied onto another project's row
does not decrypt. The first byte is a format version so the scheme can change later.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"
_NONCE_BYTES = 12


class SecretBox:
    def __init__(self, key_material: str) -> None:
        # A domain-separated hash turns any configured string into a 256-bit key.
        key = hashlib.sha256(b"swe-projects/webhook-secret/v1\x00" + key_material.encode()).digest()
        self._aead = AESGCM(key)

    def seal(self, project_id: uuid.UUID, secret: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, secret.encode(), project_id.bytes)

    def open(self, project_id: uuid.UUID, sealed: bytes) -> str:
        if sealed[:1] != _VERSION:
            raise ValueError("unknown webhook secret format")
        nonce = sealed[1 : 1 + _NONCE_BYTES]
        try:
            plain = self._aead.decrypt(nonce, sealed[1 + _NONCE_BYTES :], project_id.bytes)
        except InvalidTag:
            raise ValueError("webhook secret does not decrypt with the configured key") from None
        return plain.decode()


def new_webhook_secret() -> str:
    return secrets.token_hex(32)
