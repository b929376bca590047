"""Buying at the bargained price: lines with ``activity: {plugin: "bargain", ref: <id>}``."""

from __future__ import annotations

from typing import Any

from yutang import api

from yutang_bargain.bargains import CODES
from yutang_bargain.models import Bargain

PLUGIN = "bargain"


async def claims(checkout: api.CheckoutContext) -> list[tuple[int, Bargain]]:
    """``(line index, bargain)`` of every bargain line, each checked for the buyer.

    A bargain line is one unit of the bargain's SKU, bought by the member who started it,
    while the bargain is open and valid.
    """
    wanted = {
        i: ln.activity.ref
        for i, ln in enumerate(checkout.lines)
        if ln.activity is not None and ln.activity.plugin == PLUGIN
    }
    if not wanted:
        return []
    if checkout.member is None:
        raise api.DomainError("UNAUTHENTICATED", "log in as a member first")
    ids = {ref for ref in wanted.values() if ref.isdigit()}
    rows = await Bargain.filter(
        tenant_id=checkout.tenant.id, member_id=checkout.member.id, id__in=[int(r) for r in ids]
    )
    found = {str(row.id): row for row in rows}
    out = []
    for i, ref in wanted.items():
        at = f"lines[{i}]"
        bargain = found.get(ref)
        if bargain is None:
            raise api.NotFound("bargain", f"{at}.activity")
        if bargain.sku_id != checkout.lines[i].sku_id:
            raise api.DomainError("INVALID", "not the SKU of this bargain", f"{at}.skuId")
        if checkout.lines[i].quantity != 1:
            raise api.DomainError("INVALID", "a bargain buys one unit", f"{at}.quantity")
        if bargain.status == "expired" or bargain.expires_at <= checkout.now:
            raise CODES.error("BARGAIN_EXPIRED", "this bargain has expired", f"{at}.activity")
        if bargain.status != "open":
            raise CODES.error(
                "BARGAIN_CLOSED", "this bargain was already ordered", f"{at}.activity"
            )
        out.append((i, bargain))
    return out


async def validate(checkout: api.CheckoutContext) -> None:
    """Refuse bargain lines the buyer may not buy (before pricing)."""
    await claims(checkout)


async def activity_price(draft: api.Draft) -> None:
    """Stage ACTIVITY: a bargain line costs the price the friends' cuts reached."""
    for i, bargain in await claims(draft.checkout):
        line = draft.lines[i]
        draft.set_activity_price(line, min(bargain.price, line.unit_price), "砍价价")


async def reserve(checkout: api.CheckoutContext, order_id: int) -> None:
    """Bind each bargain to the order, in placeOrder's transaction: a conditional UPDATE, so
    two orders racing for one bargain cannot both take it."""
    for i, bargain in await claims(checkout):
        taken = await Bargain.filter(
            tenant_id=checkout.tenant.id, id=bargain.id, status="open", expires_at__gt=checkout.now
        ).update(status="ordered", order_id=order_id)
        if not taken:
            raise CODES.error(
                "BARGAIN_CLOSED", "this bargain was ordered meanwhile", f"lines[{i}].activity"
            )


async def release(
    tenant: api.TenantInfo, order_id: int, lines: list[dict[str, Any]], reason: str
) -> None:
    """An unpaid order was cancelled: its bargain may be bought again while still valid.
    A refunded order keeps its bargain used."""
    if reason != "cancelled" or not any(ln["activity_plugin"] == PLUGIN for ln in lines):
        return
    ordered = Bargain.filter(tenant_id=tenant.id, order_id=order_id, status="ordered")
    now = api.now()
    await ordered.filter(expires_at__gt=now).update(status="open", order_id=None)
    await ordered.filter(expires_at__lte=now).update(status="expired", order_id=None)
