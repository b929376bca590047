"""Posting to the append-only ledger: one entry and the balance columns it moves, together.

Every posting has a reference unique per tenant, so a posting repeated by a redelivered
event or a retried job writes nothing the second time.
"""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from yutang import api
from yutang.plugins.distributor.models import DistributorEntry, DistributorPromoter

BUCKETS = frozenset({"pending", "frozen", "available", "withdrawing", "withdrawn"})


async def post(
    tenant_id: int,
    promoter_id: int,
    kind: str,
    amount: int,
    source: str | None,
    target: str | None,
    reference: str,
    *,
    commission_id: int | None = None,
    withdrawal_id: int | None = None,
) -> bool:
    """Move ``amount`` from bucket ``source`` to ``target`` (None: in from, or out to, the
    world); False, changing nothing, if ``reference`` was posted before. Runs in the
    caller's transaction."""
    if amount <= 0:
        return False
    assert source in BUCKETS or source is None, source
    assert target in BUCKETS or target is None, target
    try:
        async with in_transaction():  # a savepoint: a duplicate must not abort the caller
            await DistributorEntry.create(
                tenant_id=tenant_id,
                promoter_id=promoter_id,
                kind=kind,
                amount=amount,
                source=source,
                target=target,
                reference=reference,
                commission_id=commission_id,
                withdrawal_id=withdrawal_id,
                booked_at=api.now(),
            )
    except IntegrityError:
        return False
    changes = {}
    if source is not None:
        changes[source] = F(source) - amount
    if target is not None:
        changes[target] = F(target) + amount
    await DistributorPromoter.filter(tenant_id=tenant_id, id=promoter_id).update(**changes)
    return True
