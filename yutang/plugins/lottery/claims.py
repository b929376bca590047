"""Goods prizes: the winner claims by the deadline (an address, or pickup), the merchant
ships or hands the prize over, and an unclaimed prize expires. Each step checks the
status under the claim's row lock (the expiry job with a conditional UPDATE), so two
racing steps cannot both apply."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from tortoise.transactions import in_transaction

from yutang import api
from yutang.plugins.lottery.codes import CODES
from yutang.plugins.lottery.models import LotteryClaim
from yutang.plugins.lottery.settings import settings_of

Text = Annotated[str, msgspec.Meta(max_length=100)]


class ClaimInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """Where the prize goes: an address for delivery, or pickup at the shop."""

    method: Literal["delivery", "pickup"]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    phone: Annotated[str, msgspec.Meta(min_length=5, max_length=32, pattern=r"^\+?[0-9-]+$")]
    address: Annotated[str, msgspec.Meta(max_length=500)] = ""


class ShipInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """The carrier and tracking number of a delivery (empty for a pickup)."""

    carrier: Text = ""
    tracking_number: Text = ""


def status_of(claim: LotteryClaim, now: datetime) -> str:
    """The claim's status, ``expired`` as soon as the deadline passed unclaimed (the
    expiry job may not have run yet)."""
    if claim.status == "pending" and claim.deadline <= now:
        return "expired"
    return claim.status


async def _locked(tenant: api.TenantInfo, draw_id: int, field: str, **filters: Any) -> LotteryClaim:
    row = (
        await LotteryClaim.filter(tenant_id=tenant.id, draw_id=draw_id, **filters)
        .select_for_update()
        .first()
    )
    if row is None:
        raise api.NotFound("goods prize", field)
    return row


async def claim_prize(
    tenant: api.TenantInfo, member_id: int, draw_id: int, data: ClaimInput
) -> LotteryClaim:
    """Record where the member's goods prize goes; only once, and before the deadline."""
    if data.method == "pickup" and not settings_of(tenant).allow_pickup:
        raise api.DomainError("INVALID", "this shop does not offer pickup", "input.method")
    if data.method == "delivery" and not data.address.strip():
        raise api.DomainError("INVALID", "an address is required for delivery", "input.address")
    now = api.now()
    async with in_transaction():
        row = await _locked(tenant, draw_id, "input.drawId", member_id=member_id)
        status = status_of(row, now)
        if status == "expired":
            raise api.DomainError("EXPIRED", "the claim deadline has passed", "input.drawId")
        if status != "pending":
            raise CODES.error(
                "LOTTERY_ALREADY_CLAIMED", "this prize was already claimed", "input.drawId"
            )
        row.update_from_dict(
            {
                "status": "claimed",
                "method": data.method,
                "name": data.name,
                "phone": data.phone,
                "address": data.address if data.method == "delivery" else "",
                "claimed_at": now,
            }
        )
        await row.save()
    return row


async def mark_shipped(tenant: api.TenantInfo, draw_id: int, data: ShipInput) -> LotteryClaim:
    """The merchant shipped a claimed prize (``shipped``) or handed it over (``picked_up``)."""
    async with in_transaction():
        row = await _locked(tenant, draw_id, "drawId")
        if row.status != "claimed":
            raise api.DomainError(
                "ILLEGAL_TRANSITION", f"a {status_of(row, api.now())} prize cannot ship", "drawId"
            )
        row.update_from_dict(
            {
                "status": "shipped" if row.method == "delivery" else "picked_up",
                "carrier": data.carrier,
                "tracking_number": data.tracking_number,
                "shipped_at": api.now(),
            }
        )
        await row.save()
    return row


async def expire_claim(tenant: api.TenantInfo | None, payload: dict[str, Any]) -> None:
    """Job at a claim's deadline: a prize still unclaimed expires (the winner forfeits it)."""
    await LotteryClaim.filter(
        id=payload["claim_id"], status="pending", deadline__lte=api.now()
    ).update(status="expired")
