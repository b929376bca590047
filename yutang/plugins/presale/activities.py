"""Creating and cancelling presales, and the phase a presale is in."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from tortoise.transactions import in_transaction

from yutang import api
from yutang.plugins.presale.models import PresaleActivity

Aware = Annotated[datetime, msgspec.Meta(tz=True)]
Amount = Annotated[int, msgspec.Meta(ge=1, le=10**12)]
WIND_UP = "presale.wind_up"


class PresaleInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """A new presale of one SKU; amounts are per unit, in minor units."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    sku_id: int
    deposit: Amount
    deduction: Amount
    price: Amount
    deposit_starts_at: Aware
    deposit_ends_at: Aware
    balance_starts_at: Aware
    balance_ends_at: Aware
    stock: Annotated[int, msgspec.Meta(ge=1, le=10**7)]
    member_limit: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1
    refund_forfeited: bool = False


def _check_rules(data: PresaleInput, list_price: int) -> None:
    """INVALID naming the field of the first rule broken."""
    if data.deduction < data.deposit:
        raise api.DomainError(
            "INVALID", "the deposit must count for at least what it costs", "input.deduction"
        )
    if data.deduction >= data.price:
        raise api.DomainError(
            "INVALID", "the deduction must leave a balance to pay", "input.deduction"
        )
    if data.price - data.deduction + data.deposit > list_price:
        raise api.DomainError(
            "INVALID", "deposit and balance together cannot exceed the list price", "input.price"
        )
    windows = [
        ("depositEndsAt", data.deposit_starts_at, data.deposit_ends_at),
        ("balanceStartsAt", data.deposit_ends_at, data.balance_starts_at),
        ("balanceEndsAt", data.balance_starts_at, data.balance_ends_at),
    ]
    for name, before, after in windows:
        if after < before or (after == before and name != "balanceStartsAt"):
            raise api.DomainError("INVALID", "the windows must follow one another", f"input.{name}")


async def create_presale(tenant: api.TenantInfo, data: PresaleInput) -> PresaleActivity:
    """Create a presale of a SKU on sale."""
    sku = (await api.sku_summaries(tenant, [data.sku_id])).get(data.sku_id)
    if sku is None:
        raise api.NotFound("SKU", "input.skuId")
    if sku.virtual:
        raise api.DomainError("INVALID", "a presale is of goods that ship", "input.skuId")
    _check_rules(data, sku.price)
    return await PresaleActivity.create(
        tenant_id=tenant.id,
        name=data.name,
        sku_id=sku.id,
        product_id=sku.product_id,
        deposit=data.deposit,
        deduction=data.deduction,
        price=data.price,
        deposit_starts_at=data.deposit_starts_at,
        deposit_ends_at=data.deposit_ends_at,
        balance_starts_at=data.balance_starts_at,
        balance_ends_at=data.balance_ends_at,
        stock=data.stock,
        member_limit=data.member_limit,
        refund_forfeited=data.refund_forfeited,
    )


async def cancel_presale(tenant: api.TenantInfo, activity_id: int) -> PresaleActivity:
    """Cancel a presale for good: no more deposits; a job cancels its unpaid orders and
    refunds every deposit whose balance is still due (orders paid in full, and deposits
    already forfeited, stand). Cancelling again writes and schedules nothing."""
    async with in_transaction():
        cancelled = await PresaleActivity.filter(
            tenant_id=tenant.id, id=activity_id, cancelled_at__isnull=True
        ).update(cancelled_at=api.now())
        activity = await PresaleActivity.get_or_none(tenant_id=tenant.id, id=activity_id)
        if activity is None:
            raise api.NotFound("presale", "id")
        if cancelled:
            await api.schedule_job(
                tenant.id,
                WIND_UP,
                {"activity_id": activity_id},
                api.now(),
                dedupe_key=f"presale_wind_up:{activity_id}",
            )
    return activity


def phase_of(activity: PresaleActivity, now: datetime) -> str:
    """upcoming, deposit, waiting (between the windows), balance, ended or cancelled."""
    if activity.cancelled_at is not None:
        return "cancelled"
    edges = [
        (activity.deposit_starts_at, "upcoming"),
        (activity.deposit_ends_at, "deposit"),
        (activity.balance_starts_at, "waiting"),
        (activity.balance_ends_at, "balance"),
    ]
    return next((phase for edge, phase in edges if now < edge), "ended")
