"""Withdrawals: reserved from the available balance when requested (a conditional UPDATE,
so concurrent requests can never take more than there is), reviewed by staff, then paid
through a payout provider by a job that retries, or marked paid by staff."""

from __future__ import annotations

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


class PayoutPending(Exception):
    """The provider has not confirmed the transfer: the job asks again with backoff."""


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
        )
    return row


async def mark_paid(
    tenant: api.TenantInfo, withdrawal_id: int, reference: str = ""
) -> DistributorWithdrawal:
    """An approved withdrawal was transferred (by a provider, or offline by staff)."""
    api.bounded(reference, "reference", 128)
    async with in_transaction():
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
    """Job: ask the tenant's payout provider to transfer an approved withdrawal; retried
    with backoff until the provider confirms. No provider: staff pay and mark it paid."""
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
    if done is None:
        return
    if not done:
        raise PayoutPending(f"withdrawal {row.id} is not paid yet")
    await mark_paid(tenant, row.id, payout.reference)
