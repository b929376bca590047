"""Secrets at rest: sealed under the deployment's keys, opened only where they are used.

``YUTANG_SECRET_KEYS`` holds one or more Fernet keys (AES-128-CBC with HMAC-SHA256,
from ``cryptography``), comma-separated, the newest first. The first key seals; every key
opens. To rotate, put a new key first and keep the old ones after it: what was sealed
under them still opens, and ``yutang secrets rotate`` re-seals every stored secret under
the new key, after which the old ones can go. Keys are read where they apply, so API
servers and job workers running as separate processes use the same environment.
"""

from __future__ import annotations

import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from yutang.core.errors import DomainError

ENV = "YUTANG_SECRET_KEYS"


def new_key() -> str:
    """A fresh key for ``YUTANG_SECRET_KEYS``."""
    return Fernet.generate_key().decode()


def _keys() -> MultiFernet:
    raw = [k.strip() for k in os.environ.get(ENV, "").split(",") if k.strip()]
    if not raw:
        raise DomainError(
            "SECRETS_UNAVAILABLE",
            f"the deployment keeps no secrets: its operator sets {ENV} first",
        )
    try:
        return MultiFernet([Fernet(key) for key in raw])
    except ValueError as err:
        raise DomainError("SECRETS_UNAVAILABLE", f"{ENV} holds a malformed key") from err


def seal(plain: bytes) -> str:
    """``plain`` sealed under the newest key."""
    return _keys().encrypt(plain).decode()


def unseal(sealed: str) -> bytes:
    """What ``sealed`` holds; SECRETS_UNAVAILABLE if no key of the deployment opens it."""
    try:
        return _keys().decrypt(sealed.encode())
    except InvalidToken as err:
        raise DomainError(
            "SECRETS_UNAVAILABLE", f"no key in {ENV} opens a stored secret: was one removed?"
        ) from err


def reseal(sealed: str) -> str:
    """``sealed`` sealed again under the newest key (rotation)."""
    try:
        return _keys().rotate(sealed.encode()).decode()
    except InvalidToken as err:
        raise DomainError(
            "SECRETS_UNAVAILABLE", f"no key in {ENV} opens a stored secret: was one removed?"
        ) from err
