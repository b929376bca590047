"""Passwords and bearer tokens for members, staff and platform operators."""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from tortoise.transactions import in_transaction

from yutang.core import clock
from yutang.core.expiry import schedule_purge
from yutang.core.models import AuthToken
from yutang.core.sql import Statement, moment

_hasher = PasswordHasher()
# argon2 takes ~0.1 s of CPU and releases the GIL: it runs here, never on the event loop,
# in at most one thread per core, so a storm of logins queues instead of stalling requests.
_threads = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="argon2")
# The hash an unknown account's password is checked against, so that "no such phone"
# costs what a wrong password costs (same parameters as ``_hasher``; a test checks).
DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$Q17bgZuba/OXxuA4PO9ptg$"
    "WP3UCN/gweawES8uJIZmRnb/ez1YTLrk+bgFWwDxqbs"
)


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``, computed on this thread (CLI, fixtures); in a
    request use :func:`hash_in_thread`."""
    return _hasher.hash(password)


async def hash_in_thread(password: str) -> str:
    """An argon2id hash of ``password``, computed off the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_threads, _hasher.hash, password)


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches, checked off the event loop; ``None`` (no such
    account) is checked against a dummy hash and is never a match."""
    loop = asyncio.get_running_loop()
    matched = await loop.run_in_executor(_threads, _matches, password_hash or DUMMY_HASH, password)
    return matched and password_hash is not None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a member, a staff member (with role) or a platform operator."""

    kind: str
    id: int
    tenant_id: int | None
    role: str | None = None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new bearer token and the moment it stops working."""

    token: str
    expires_at: datetime


async def open_session(kind: str, subject_id: int, tenant_id: int | None, days: int) -> IssuedToken:
    """Create a bearer token valid for ``days``; only its sha256 is stored, and its row is
    purged by a job once expired."""
    token = secrets.token_urlsafe(32)
    expires_at = clock.now() + timedelta(days=days)
    async with in_transaction():
        await AuthToken.create(
            digest=_digest(token),
            kind=kind,
            subject_id=subject_id,
            tenant_id=tenant_id,
            expires_at=expires_at,
        )
        await schedule_purge(tenant_id, expires_at)
    return IssuedToken(token=token, expires_at=expires_at)


async def issue_token(kind: str, subject_id: int, tenant_id: int | None, days: int = 30) -> str:
    """A bearer token without its expiry (fixtures and benchmarks)."""
    return (await open_session(kind, subject_id, tenant_id, days)).token


async def revoke_token(token: str) -> bool:
    """End the session of ``token`` (logout); False if it was not a live one."""
    return bool(await AuthToken.filter(digest=_digest(token)).delete())


async def revoke_sessions(
    kind: str, subject_id: int, tenant_id: int | None, *, keep: str | None = None
) -> None:
    """End every session of an account but ``keep`` (the caller's own, if given)."""
    query = AuthToken.filter(kind=kind, subject_id=subject_id)
    query = (
        query.filter(tenant_id__isnull=True)
        if tenant_id is None
        else query.filter(tenant_id=tenant_id)
    )
    if keep is not None:
        query = query.exclude(digest=_digest(keep))
    await query.delete()


async def principal_for(token: str) -> Principal | None:
    """The principal a token stands for, or None if unknown, expired, or a deactivated
    staff member's (plain SQL: every request with a token asks). The one place a caller
    is resolved, so a staff member deactivated or given another role is so at once."""
    q = Statement()
    rows = await q.rows(
        "SELECT t.kind, t.subject_id, t.tenant_id, t.expires_at, s.role, s.active "
        "FROM auth_token t LEFT JOIN staff s "
        "ON t.kind = 'staff' AND s.tenant_id = t.tenant_id AND s.id = t.subject_id "
        f"WHERE t.digest = {q.arg(_digest(token))}"
    )
    if not rows or moment(rows[0]["expires_at"]) <= clock.now():
        return None
    row = rows[0]
    if row["kind"] == "staff" and not row["active"]:
        return None
    return Principal(
        kind=row["kind"], id=row["subject_id"], tenant_id=row["tenant_id"], role=row["role"]
    )
