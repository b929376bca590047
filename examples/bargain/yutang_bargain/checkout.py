"""Buying at the bargained price: lines with ``activity: {plugin: "bargain", ref: <id>}``."""

from __future__ import annotations

from yutang import api

from yutang_bargain.bargains import CODES
from yutang_bargain.models import Bargain

PLUGIN = "bargain"

Claim = list[tuple[int, Bargain]]
"""``(line index, bargain)`` of every bargain line, as resolved once per checkout."""


class BargainActivity(api.Activity[Claim]):
    """The bargain activity kind: the member who started a bargain buys one unit at the
    price the friends' cuts reached."""

    kind = PLUGIN

    async def resolve(self, checkout: api.CheckoutContext, lines: list[api.CheckoutLine]) -> Claim:
        """Each bargain line checked for the buyer (one read for all of them).

        A bargain line is one unit of the bargain's SKU, bought by the member who started
        it, while the bargain is open and valid.
        """
        if checkout.member is None:
            raise api.DomainError("UNAUTHENTICATED", "log in as a member first")
        assert all(ln.activity is not None for ln in lines)
        wanted = {ln.index: ln.activity.ref for ln in lines if ln.activity is not None}
        ids = [int(ref) for ref in wanted.values() if ref.isdigit()]
        rows = await Bargain.filter(
            tenant_id=checkout.tenant.id, member_id=checkout.member.id, id__in=ids
        )
        found = {str(row.id): row for row in rows}
        out = []
        for ln in lines:
            at = f"lines[{ln.index}]"
            bargain = found.get(wanted[ln.index])
            if bargain is None:
                raise api.NotFound("bargain", f"{at}.activity")
            if bargain.sku_id != ln.sku_id:
                raise api.DomainError("INVALID", "not the SKU of this bargain", f"{at}.skuId")
            if ln.quantity != 1:
                raise api.DomainError("INVALID", "a bargain buys one unit", f"{at}.quantity")
            if bargain.status == "expired" or bargain.expires_at <= checkout.now:
                raise CODES.error("EXPIRED", "this bargain has expired", f"{at}.activity")
            if bargain.status != "open":
                raise CODES.error(
                    "BARGAIN_CLOSED", "this bargain was already ordered", f"{at}.activity"
                )
            out.append((ln.index, bargain))
        return out

    def price(self, draft: api.Draft, claim: Claim) -> None:
        """A bargain line costs the price the friends' cuts reached."""
        for i, bargain in claim:
            line = draft.lines[i]
            draft.set_activity_price(line, min(bargain.price, line.unit_price), "砍价价")

    async def reserve(self, checkout: api.CheckoutContext, claim: Claim, order_id: int) -> None:
        """Bind each bargain to the order: a conditional UPDATE, so two orders racing for
        one bargain cannot both take it."""
        for i, bargain in claim:
            taken = await Bargain.filter(
                tenant_id=checkout.tenant.id,
                id=bargain.id,
                status="open",
                expires_at__gt=checkout.now,
            ).update(status="ordered", order_id=order_id)
            if not taken:
                raise CODES.error(
                    "BARGAIN_CLOSED", "this bargain was ordered meanwhile", f"lines[{i}].activity"
                )

    async def release(
        self, tenant: api.TenantInfo, order_id: int, lines: list[api.ReleasedLine], reason: str
    ) -> None:
        """An unpaid order was cancelled: its bargain may be bought again while still
        valid. A refunded order keeps its bargain used."""
        if reason != "cancelled":
            return
        ordered = Bargain.filter(tenant_id=tenant.id, order_id=order_id, status="ordered")
        now = api.now()
        await ordered.filter(expires_at__gt=now).update(status="open", order_id=None)
        await ordered.filter(expires_at__lte=now).update(status="expired", order_id=None)
