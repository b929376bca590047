"""Withdrawals: reserved from the available balance when requested (a conditional UPDATE,
so concurrent requests can never take more than there is), reviewed by staff, then paid
through a payout provider by a job that asks it again until it has, or marked paid by
staff when no provider took it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from yutang import api
from yutang.plugins.distributor.codes import CODES
from yutang.plugins.distributor.ledger import post
from yutang.plugins.distributor.models import (
    DistributorEntry,
    DistributorPromoter,
    DistributorWithdrawal,
)
from yutang.plugins.distributor.payout import Payout
from yutang.plugins.distributor.settings import settings_of

PAYOUT_JOB = "distributor.payout"
PAYOUT_ASKS = (
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
    timedelta(hours=12),
    *(timedelta(hours=24),) * 7,
)
"""When a provider still transferring is asked again, counted from each ask (about ten
days in all): a transfer can wait on its payee (WeChat Pay's is confirmed by the promoter
in the mini-program), far longer than a failing job's backoff."""


class PayoutPending(Exception):
    """The provider has not confirmed the transfer after every ask of :data:`PAYOUT_ASKS`:
    the job fails as any job does, for staff to see and retry."""


async def request(
    tenant: api.TenantInfo, member_id: int, amount: int, account: str, key: str
) -> DistributorWithdrawal:
    """Reserve ``amount`` of the member's available balance for a withdrawal; a retry with
    the same idempotency key returns the first request, and the key sent with another
    amount or account is refused as every money mutation refuses it."""
    settings = settings_of(tenant)
    if not key or len(key) > 128:
        raise api.DomainError("INVALID", "1 to 128 characters", "idempotencyKey")
    if amount < settings.withdraw_min:
        raise api.DomainError("INVALID", f"at least {settings.withdraw_min}", "amount")
    if not account.strip() or len(account) > 200:
        raise api.DomainError("INVALID", "1 to 200 characters", "account")
    promoter = await DistributorPromoter.get_or_none(tenant_id=tenant.id, member_id=member_id)
    if promoter is None:
        raise CODES.error("DISTRIBUTOR_NOT_A_PROMOTER", "only promoters withdraw", "amount")
    found = await _by_key(tenant.id, promoter.id, key, amount, account.strip())
    if found is not None:
        return found
    try:
        async with in_transaction():
            taken = await DistributorPromoter.filter(id=promoter.id, available__gte=amount).update(
                available=F("available") - amount, withdrawing=F("withdrawing") + amount
            )
            if not taken:
                raise CODES.error(
                    "DISTRIBUTOR_INSUFFICIENT_BALANCE", "more than is available", "amount"
                )
            row = await DistributorWithdrawal.create(
                tenant_id=tenant.id,
                promoter_id=promoter.id,
                idempotency_key=key,
                amount=amount,
                fee=amount * settings.withdraw_fee_rate // 10_000,
                account=account.strip(),
                status="requested",
                requested_at=api.now(),
            )
            await DistributorEntry.create(
                tenant_id=tenant.id,
                promoter_id=promoter.id,
                kind="withdraw",
                amount=amount,
                source="available",
                target="withdrawing",
                reference=f"withdraw:{row.id}",
                withdrawal_id=row.id,
                booked_at=row.requested_at,
            )
    except IntegrityError:
        found = await _by_key(tenant.id, promoter.id, key, amount, account.strip())
        if found is None:
            raise
        return found
    return row


async def _by_key(
    tenant_id: int, promoter_id: int, key: str, amount: int, account: str
) -> DistributorWithdrawal | None:
    """The withdrawal requested earlier with ``key``, if it was this same request."""
    found = await DistributorWithdrawal.get_or_none(
        tenant_id=tenant_id, promoter_id=promoter_id, idempotency_key=key
    )
    if found is not None and (found.amount, found.account) != (amount, account):
        raise api.DomainError(
            "IDEMPOTENCY_KEY_REUSED",
            "this idempotency key was used for a different withdrawal",
            "idempotencyKey",
        )
    return found


async def _move(
    tenant: api.TenantInfo, withdrawal_id: int, frm: str, to: str
) -> DistributorWithdrawal:
    """Move a withdrawal between statuses, or say why it cannot."""
    row = await DistributorWithdrawal.get_or_none(tenant_id=tenant.id, id=withdrawal_id)
    if row is None:
        raise api.NotFound("withdrawal", "withdrawalId")
    stamp = {"reviewed_at": api.now()} if to in ("approved", "rejected") else {"paid_at": api.now()}
    moved = await DistributorWithdrawal.filter(id=row.id, status=frm).update(status=to, **stamp)
    if not moved:
        raise api.DomainError(
            "ILLEGAL_TRANSITION", f"this withdrawal is {row.status}, not {frm}", "withdrawalId"
        )
    await row.refresh_from_db()
    return row


async def review(
    tenant: api.TenantInfo, withdrawal_id: int, approve: bool
) -> DistributorWithdrawal:
    """Staff approve (the payout job starts) or reject (the money goes back to available)."""
    async with in_transaction():
        if not approve:
            row = await _move(tenant, withdrawal_id, "requested", "rejected")
            await post(
                tenant.id,
                row.promoter_id,
                "withdraw_reject",
                row.amount,
                "withdrawing",
                "available",
                f"withdraw_reject:{row.id}",
                withdrawal_id=row.id,
            )
            return row
        row = await _move(tenant, withdrawal_id, "requested", "approved")
        await api.schedule_job(
            tenant.id,
            PAYOUT_JOB,
            {"withdrawal_id": row.id},
            api.now(),
            dedupe_key=f"{PAYOUT_JOB}:{row.id}",
            queue=api.Queue.GATEWAYS,
        )
    return row


async def mark_paid(
    tenant: api.TenantInfo, withdrawal_id: int, reference: str = "", *, by_provider: bool = False
) -> DistributorWithdrawal:
    """An approved withdrawal was transferred, by its provider or offline by staff; staff
    cannot mark one a provider is transferring (it could be paid twice)."""
    api.bounded(reference, "reference", 128)
    async with in_transaction():
        if not by_provider:
            taken = await DistributorWithdrawal.get_or_none(
                tenant_id=tenant.id, id=withdrawal_id, status="approved"
            )
            if taken is not None and taken.payout_reference:
                raise CODES.error(
                    "DISTRIBUTOR_PAYOUT_UNDER_WAY",
                    "a payout provider is transferring this withdrawal and settles it",
                    "withdrawalId",
                )
        row = await _move(tenant, withdrawal_id, "approved", "paid")
        if reference:
            await DistributorWithdrawal.filter(id=row.id).update(payout_reference=reference)
        await post(
            tenant.id,
            row.promoter_id,
            "payout",
            row.amount,
            "withdrawing",
            "withdrawn",
            f"payout:{row.id}",
            withdrawal_id=row.id,
        )
    return row


@api.outside_transaction
async def pay_out(tenant: api.TenantInfo, payload: dict[str, Any]) -> None:
    """Job: ask the tenant's payout provider to transfer an approved withdrawal, and ask
    again (:data:`PAYOUT_ASKS`) while it is under way; a withdrawal a provider took is
    its to settle. No provider: staff pay and mark it paid."""
    row = await DistributorWithdrawal.get_or_none(tenant_id=tenant.id, id=payload["withdrawal_id"])
    if row is None or row.status != "approved":
        return
    promoter = await DistributorPromoter.get(id=row.promoter_id)
    payout = Payout(
        withdrawal_id=row.id,
        member_id=promoter.member_id,
        amount=row.amount - row.fee,
        currency=tenant.currency,
        account=row.account,
        reference=f"W{tenant.id}-{row.id}",
    )
    done = await api.first_answer(tenant, "yutang_distributor_payout", tenant=tenant, payout=payout)
    taken = "" if done is None else payout.reference
    if row.payout_reference != taken:
        await DistributorWithdrawal.filter(id=row.id, status="approved").update(
            payout_reference=taken
        )
    if done is None:
        return
    if done:
        await mark_paid(tenant, row.id, payout.reference, by_provider=True)
        return
    asked = int(payload.get("asked", 0))
    if asked >= len(PAYOUT_ASKS):
        raise PayoutPending(f"withdrawal {row.id} is not paid after {asked} asks")
    due = api.now() + PAYOUT_ASKS[asked]
    async with in_transaction():
        await api.schedule_job(
            tenant.id,
            PAYOUT_JOB,
            {"withdrawal_id": row.id, "asked": asked + 1},
            due,
            dedupe_key=f"{PAYOUT_JOB}:{row.id}:{asked + 1}",
            forget_key_after=due,
            queue=api.Queue.GATEWAYS,
        )
