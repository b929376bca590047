"""Standard Webhooks signatures (https://www.standardwebhooks.com), by its own library.

Each request carries ``webhook-id`` (the delivery's, the same on every retry),
``webhook-timestamp`` (Unix seconds when sent) and ``webhook-signature``: ``v1,`` and the
base64 HMAC-SHA256 of ``id.timestamp.body`` under the secret's bytes, one per live
secret, space-separated (after a rotation the previous secret signs too until it
expires, so a receiver can switch over without losing an event).
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def hint(secret: str) -> str:
    """What may be shown of a secret after it was handed over once: its last 4 characters."""
    return f"{SECRET_PREFIX}…{secret[-4:]}"


def headers(message_id: str, sent_at: int, body: str, live_secrets: list[str]) -> dict[str, str]:
    """The three signature headers of ``body`` sent at Unix second ``sent_at``."""
    moment = datetime.fromtimestamp(sent_at, UTC)
    signatures = [Webhook(s).sign(message_id, moment, body) for s in live_secrets]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(sent_at),
        "webhook-signature": " ".join(signatures),
    }
