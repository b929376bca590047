"""Idempotency keys: per tenant, actor and operation; a retry gets the first result."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from yutang.core.contract import TenantInfo
from yutang.core.errors import DomainError
from yutang.core.models import IdempotencyRecord
from yutang.core.sql import Statement, advisory_lock


class Replay(Exception):
    """Raised inside the transaction when the key was used before; carries the result."""

    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__("idempotent replay")
        self.result = result


def check_key(key: str) -> None:
    """Refuse a key that is empty or longer than 128 characters."""
    if not key or len(key) > 128:
        raise DomainError(
            "INVALID", "an idempotency key of 1–128 characters is required", "idempotencyKey"
        )


async def _lock(tenant: TenantInfo, actor: str, operation: str, key: str, *, shared: bool) -> None:
    """On PostgreSQL, take the key's advisory lock: :func:`claim` holds it exclusively while
    its transaction runs, :func:`answered` waits for that shared."""
    await advisory_lock(f"{tenant.id}|{actor}|{operation}|{key}", shared=shared)


async def answered(tenant: TenantInfo, actor: str, operation: str, key: str) -> bool:
    """Whether ``key`` was already used for this operation (its answer is to be replayed),
    once any transaction claiming it right now has ended.

    Plain SQL: it runs for every order refused before its transaction. A retry sent while
    the first attempt is still running must see its order: on PostgreSQL this waits on
    the key's lock (see :func:`_lock`), on SQLite for the connection's transaction."""
    await _lock(tenant, actor, operation, key, shared=True)
    q = Statement()
    sql = (
        f"SELECT 1 FROM idempotency_record WHERE tenant_id = {q.arg(tenant.id)} "
        f'AND actor = {q.arg(actor)} AND operation = {q.arg(operation)} AND "key" = {q.arg(key)}'
    )
    return bool(await q.rows(sql))


async def claim(tenant: TenantInfo, actor: str, operation: str, key: str, request: object) -> None:
    """Take ``key`` for this request inside the caller's transaction, or raise Replay.

    On PostgreSQL a concurrent duplicate blocks on the unique index until the first
    transaction ends, then sees its committed result; on SQLite transactions are
    serialized. The same key with a different request is an error.
    """
    check_key(key)
    await _lock(tenant, actor, operation, key, shared=False)
    digest = hashlib.sha256(msgspec.json.encode(request)).hexdigest()
    try:
        async with in_transaction():
            await IdempotencyRecord.create(
                tenant_id=tenant.id,
                actor=actor,
                operation=operation,
                key=key,
                request_hash=digest,
            )
    except IntegrityError:
        record = await IdempotencyRecord.get(
            tenant_id=tenant.id, actor=actor, operation=operation, key=key
        )
        if record.request_hash != digest:
            raise DomainError(
                "IDEMPOTENCY_KEY_REUSED",
                "this idempotency key was used for a different request",
                "idempotencyKey",
            ) from None
        raise Replay(record.result or {}) from None


async def remember(
    tenant: TenantInfo, actor: str, operation: str, key: str, result: dict[str, Any]
) -> None:
    """Store the result the key will replay; in the same transaction as the claim."""
    await IdempotencyRecord.filter(
        tenant_id=tenant.id, actor=actor, operation=operation, key=key
    ).update(result=result)
