"""Passwords and bearer tokens for members, staff and platform operators."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from yutang.core import clock
from yutang.core.models import AuthToken

_hasher = PasswordHasher()

ROLES = ("owner", "manager", "clerk")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; never raises for a wrong password."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a member, a staff member (with role) or a platform operator."""

    kind: str
    id: int
    tenant_id: int | None


async def issue_token(kind: str, subject_id: int, tenant_id: int | None, days: int = 30) -> str:
    """Create a bearer token; only its sha256 is stored."""
    token = secrets.token_urlsafe(32)
    await AuthToken.create(
        digest=_digest(token),
        kind=kind,
        subject_id=subject_id,
        tenant_id=tenant_id,
        expires_at=clock.now() + timedelta(days=days),
    )
    return token


async def principal_for(token: str) -> Principal | None:
    """The principal a token stands for, or None if unknown or expired."""
    row = await AuthToken.get_or_none(digest=_digest(token))
    if row is None or row.expires_at <= clock.now():
        return None
    return Principal(kind=row.kind, id=row.subject_id, tenant_id=row.tenant_id)
