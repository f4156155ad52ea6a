"""Webhook secrets at rest: the common lib's SecretBox under this purpose, each sealed with its
project's id as the context (a ciphertext copied onto another project does not open)."""

from __future__ import annotations

import secrets

from swe_common.crypto import SecretBox

PURPOSE = "swe-projects/webhook-secret/v1"


def webhook_secret_box(key_material: str) -> SecretBox:
    return SecretBox(key_material, PURPOSE)


def new_webhook_secret() -> str:
    return secrets.token_hex(32)
