"""Offers, starting a bargain, friends' cuts, and the expiry job."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
from tortoise.transactions import in_transaction
from yutang import api

from yutang_bargain.cuts import next_cut
from yutang_bargain.models import Bargain, BargainCut, BargainOffer

MAX_HELPERS = 100

CODES = api.ErrorCodes(
    "bargain",
    {
        "BARGAIN_NO_OFFER": "the SKU is not offered for bargaining",
        "BARGAIN_OWN": "a member cannot cut their own bargain",
        "BARGAIN_ALREADY_HELPED": "a member cuts each bargain once",
        "BARGAIN_COMPLETE": "every helper has cut: the price stands at the floor",
        "BARGAIN_CLOSED": "the bargain was already used for an order",
    },
)


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``[profiles.<profile>.settings.bargain]`` in plugins.toml."""

    valid_hours: int = 24  # how long a started bargain may be cut and bought


async def save_offer(
    tenant: api.TenantInfo, sku_id: int, floor_price: int, helpers: int
) -> BargainOffer:
    """Offer a SKU for bargaining, or change its offer (bargains already started keep theirs)."""
    if not 1 <= helpers <= MAX_HELPERS:
        raise api.DomainError("INVALID", f"1 to {MAX_HELPERS} helpers", "helpers")
    if floor_price < 0:
        raise api.DomainError("INVALID", "must not be negative", "floorPrice")
    sku = (await api.sku_summaries(tenant, [sku_id])).get(sku_id)
    if sku is None:
        raise api.NotFound("SKU", "skuId")
    if floor_price > sku.price - helpers:
        raise api.DomainError(
            "INVALID", f"must leave each of the {helpers} helpers 1 fen to cut", "floorPrice"
        )
    async with in_transaction():
        offer, _ = await BargainOffer.update_or_create(
            tenant_id=tenant.id,
            sku_id=sku_id,
            defaults={"floor_price": floor_price, "helpers": helpers, "active": True},
        )
    return offer


async def start(tenant: api.TenantInfo, member_id: int, sku_id: int) -> Bargain:
    """The member's bargain on this SKU: the one still running, or a new one."""
    now = api.now()
    async with in_transaction():
        offer = (
            await BargainOffer.filter(tenant_id=tenant.id, sku_id=sku_id, active=True)
            .select_for_update()
            .first()
        )
        if offer is None:
            raise CODES.error("BARGAIN_NO_OFFER", "this SKU is not offered for bargaining", "skuId")
        running = await Bargain.filter(
            tenant_id=tenant.id,
            member_id=member_id,
            offer_id=offer.id,
            status__in=("open", "ordered"),
            expires_at__gt=now,
        ).first()
        if running is not None:
            return running
        sku = (await api.sku_summaries(tenant, [sku_id])).get(sku_id)
        if sku is None or not sku.published or sku.price - offer.floor_price < offer.helpers:
            raise CODES.error("NOT_OPEN", "this SKU cannot be bargained for now", "skuId")
        hours = tenant.setting("bargain", Settings).valid_hours
        bargain = await Bargain.create(
            tenant_id=tenant.id,
            offer_id=offer.id,
            sku_id=sku_id,
            member_id=member_id,
            start_price=sku.price,
            floor_price=offer.floor_price,
            price=sku.price,
            helpers_needed=offer.helpers,
            expires_at=now + timedelta(hours=hours),
        )
        await api.schedule_job(
            tenant.id,
            "bargain.expire",
            {"bargain_id": bargain.id},
            bargain.expires_at,
            dedupe_key=f"bargain.expire:{bargain.id}",
        )
    return bargain


async def help_cut(tenant: api.TenantInfo, member_id: int, bargain_id: int) -> tuple[int, Bargain]:
    """A friend's cut: ``(amount, bargain after it)``.

    The bargain's row is locked for the whole check-and-cut, so concurrent friends cut one
    after the other and the last cut takes exactly what is left above the floor.
    """
    async with in_transaction():
        bargain = (
            await Bargain.filter(tenant_id=tenant.id, id=bargain_id).select_for_update().first()
        )
        if bargain is None:
            raise api.NotFound("bargain", "bargainId")
        if bargain.member_id == member_id:
            raise CODES.error("BARGAIN_OWN", "ask your friends to cut your bargain", "bargainId")
        if bargain.status == "expired" or bargain.expires_at <= api.now():
            raise CODES.error("EXPIRED", "this bargain has expired", "bargainId")
        if bargain.status != "open":
            raise CODES.error("BARGAIN_CLOSED", "this bargain was already ordered", "bargainId")
        if bargain.helpers >= bargain.helpers_needed:
            raise CODES.error("BARGAIN_COMPLETE", "the price is already at its floor", "bargainId")
        if await BargainCut.exists(tenant_id=tenant.id, bargain_id=bargain_id, member_id=member_id):
            raise CODES.error("BARGAIN_ALREADY_HELPED", "you already cut this bargain", "bargainId")
        cut = next_cut(
            bargain.price - bargain.floor_price, bargain.helpers_needed - bargain.helpers
        )
        await BargainCut.create(
            tenant_id=tenant.id, bargain_id=bargain_id, member_id=member_id, amount=cut
        )
        bargain.price -= cut
        bargain.helpers += 1
        await bargain.save(update_fields=["price", "helpers"])
    return cut, bargain


async def expire(tenant: api.TenantInfo, payload: dict[str, Any]) -> None:
    """Job ``bargain.expire``: an open bargain past its validity can no longer be cut or bought."""
    await Bargain.filter(
        tenant_id=tenant.id, id=payload["bargain_id"], status="open", expires_at__lte=api.now()
    ).update(status="expired")
