"""Secrets a service must read back (webhook secrets, third-party tokens), sealed at rest.

AES-256-GCM under a key derived from a setting with a purpose label (domain separation: one
setting never yields the same key for two uses). A context, usually the owning row's id, is
bound in as associated data, so a ciphertext copied onto another row does not decrypt. The
first byte is a format version so the scheme can change later.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"
_NONCE_BYTES = 12


class SecretBox:
    def __init__(self, key_material: str, purpose: str) -> None:
        key = hashlib.sha256(purpose.encode() + b"\x00" + key_material.encode()).digest()
        self._aead = AESGCM(key)

    def seal(self, context: bytes, secret: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, secret.encode(), context)

    def open(self, context: bytes, sealed: bytes) -> str:
        """The secret, or ValueError when the format, key or context does not match."""
        if sealed[:1] != _VERSION:
            raise ValueError("unknown sealed secret format")
        nonce = sealed[1 : 1 + _NONCE_BYTES]
        try:
            plain = self._aead.decrypt(nonce, sealed[1 + _NONCE_BYTES :], context)
        except InvalidTag:
            raise ValueError("the secret does not decrypt with the configured key") from None
        return plain.decode()
