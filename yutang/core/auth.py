"""Passwords and bearer tokens for members, staff and platform operators."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from yutang.core import clock
from yutang.core.errors import DomainError, Forbidden
from yutang.core.models import AuthToken, Staff
from yutang.core.sql import Statement, moment

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
    """The principal a token stands for, or None if unknown or expired (plain SQL: every
    request with a token asks)."""
    q = Statement()
    rows = await q.rows(
        "SELECT kind, subject_id, tenant_id, expires_at FROM auth_token "
        f"WHERE digest = {q.arg(_digest(token))}"
    )
    if not rows or moment(rows[0]["expires_at"]) <= clock.now():
        return None
    row = rows[0]
    return Principal(kind=row["kind"], id=row["subject_id"], tenant_id=row["tenant_id"])


@dataclass(frozen=True, slots=True)
class Permission:
    """A permission a plugin declares, ``<plugin>.<what>``, and the staff roles holding it.

    ``roles`` are the roles granted it by default, among owner, manager and clerk (a store
    clerk); platform operators and owners hold every permission whatever the list says.
    """

    name: str
    description: str
    roles: tuple[str, ...] = ("owner", "manager")


async def authorize(
    permissions: Mapping[str, Permission],
    tenant_id: int,
    principal: Principal | None,
    name: str,
) -> Principal:
    """``principal`` if it holds permission ``name`` in this tenant.

    UNAUTHENTICATED for anonymous callers and members, FORBIDDEN for staff whose role
    lacks it; an undeclared permission is a bug (LookupError), never a silent pass.
    """
    permission = permissions.get(name)
    if permission is None:
        raise LookupError(f"no plugin declares the permission {name!r}")
    if principal is None or principal.kind == "member":
        raise DomainError("UNAUTHENTICATED", "log in as staff first")
    if principal.kind == "operator":
        return principal
    staff = await Staff.get_or_none(tenant_id=tenant_id, id=principal.id, active=True)
    if staff is None or (staff.role != "owner" and staff.role not in permission.roles):
        raise Forbidden(f"needs permission {name}")
    return principal
