"""Webhook secrets at rest: the common lib's SecretBox, bound to the project id."""

from __future__ import annotations

import secrets
import uuid

from swe_common.crypto import SecretBox as _SealedSecrets

PURPOSE = "swe-projects/webhook-secret/v1"


class SecretBox:
    def __init__(self, key_material: str) -> None:
        self._box = _SealedSecrets(key_material, PURPOSE)

    def seal(self, project_id: uuid.UUID, secret: str) -> bytes:
        return self._box.seal(project_id.bytes, secret)

    def open(self, project_id: uuid.UUID, sealed: bytes) -> str:
        return self._box.open(project_id.bytes, sealed)


def new_webhook_secret() -> str:
    return secrets.token_hex(32)
