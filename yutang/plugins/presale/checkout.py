"""Presale lines in a checkout: the price, the payment plan, the units and the limit.

A line takes part with ``activity: {plugin: "presale", ref: <PresaleActivity ID>}`` while
the deposit window is open. It costs its final price less the deposit's deduction plus
the deposit, and is paid in two instalments of one order: the deposits now, the rest
(fees included) in the balance window. No member price, promotion, coupon or points
applies to it. The order holds that one line only; the SKU's stock is taken once, when
the deposit order is placed, so every balance finds its unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import F

from yutang import api
from yutang.plugins.presale.activities import phase_of
from yutang.plugins.presale.models import (
    DEPOSIT_DUE,
    FORFEITED,
    HOLDING,
    REFUNDED,
    RELEASED,
    PresaleActivity,
    PresaleOrder,
    PresaleQuota,
)

PLUGIN = "presale"
ACTIVITY = "PresaleActivity"
CODES = api.ErrorCodes(
    PLUGIN,
    {
        "PRESALE_DEPOSIT_KEPT": "a deposit whose balance is unpaid is not refunded",
    },
)
"""Its one code of its own; every other refusal is a shared one (ORDER_ALONE, NOT_OPEN,
NOT_APPLICABLE, LIMIT_EXCEEDED, LIMIT_REACHED, SOLD_OUT)."""


@dataclass(frozen=True, slots=True)
class Claim:
    """The checkout's presale line resolved: where it is and its activity."""

    index: int
    quantity: int
    activity: PresaleActivity

    @property
    def deposit(self) -> int:
        """The deposits of the line's units."""
        return int(self.activity.deposit) * self.quantity


def unit_price(activity: PresaleActivity) -> int:
    """What a unit costs in all: its balance and its deposit."""
    return int(activity.price - activity.deduction + activity.deposit)


class Presale(api.Activity[Claim]):
    """The presale activity kind: one line ``{plugin: "presale", ref: <PresaleActivity ID>}``."""

    kind = PLUGIN

    async def resolve(self, checkout: api.CheckoutContext, lines: list[api.CheckoutLine]) -> Claim:
        """The one line alone, in an open deposit window, within the member's limit."""
        claim = await _resolve(checkout, lines[0])
        if checkout.member is not None:
            quota = await PresaleQuota.get_or_none(
                tenant_id=checkout.tenant.id,
                activity_id=claim.activity.id,
                member_id=checkout.member.id,
            )
            if quota is not None and quota.taken + claim.quantity > claim.activity.member_limit:
                raise _limit_reached(claim)
        return claim

    def price(self, draft: api.Draft, claim: Claim) -> None:
        """The deposit plus the balance, exclusive and closed to points."""
        line = draft.lines[claim.index]
        draft.set_activity_price(
            line, unit_price(claim.activity), "预售价", closed=frozenset({api.Stage.POINTS})
        )

    def payment_deadline(self, checkout: api.CheckoutContext, claim: Claim) -> datetime:
        """The deposit is paid within the deposit window."""
        return claim.activity.deposit_ends_at

    def payment_plan(
        self, checkout: api.CheckoutContext, claim: Claim, total: int
    ) -> list[api.Instalment]:
        """The deposits now; the rest, fees included, in the balance window."""
        activity = claim.activity
        return [
            api.Instalment("定金", claim.deposit),
            api.Instalment(
                "尾款", total - claim.deposit, activity.balance_starts_at, activity.balance_ends_at
            ),
        ]

    async def reserve(self, checkout: api.CheckoutContext, claim: Claim, order_id: int) -> None:
        """Take the member's quota and the activity's units."""
        await _reserve(checkout, claim, order_id)

    async def release(
        self, tenant: api.TenantInfo, order_id: int, lines: list[api.ReleasedLine], reason: str
    ) -> None:
        """Give the units and the quota back, once, whether the order was cancelled,
        forfeited or refunded."""
        await _release(tenant, order_id, reason)


async def _resolve(checkout: api.CheckoutContext, line: api.CheckoutLine) -> Claim:
    where = f"lines[{line.index}]"
    if len(checkout.lines) > 1:
        other = next(ln for ln in checkout.lines if ln is not line)
        raise CODES.error(
            "ORDER_ALONE",
            "a presale order holds its one presale line only; order this separately",
            f"lines[{other.index}]",
        )
    assert line.activity is not None
    activity_id = api.pk_of(line.activity.ref, ACTIVITY, f"{where}.activity.ref")
    activity = await PresaleActivity.get_or_none(tenant_id=checkout.tenant.id, id=activity_id)
    if activity is None:
        raise api.NotFound("presale", f"{where}.activity.ref")
    if activity.sku_id != line.sku_id:
        raise CODES.error("NOT_APPLICABLE", "this SKU is not that presale's", f"{where}.skuId")
    if phase_of(activity, checkout.now) != "deposit":
        raise CODES.error(
            "NOT_OPEN",
            f"deposits are taken from {activity.deposit_starts_at.isoformat()} "
            f"to {activity.deposit_ends_at.isoformat()}",
            f"{where}.activity",
        )
    if line.quantity > activity.member_limit:
        raise api.DomainError(
            "LIMIT_EXCEEDED",
            f"at most {activity.member_limit} per member in this presale",
            f"{where}.quantity",
        )
    return Claim(line.index, line.quantity, activity)


def _limit_reached(claim: Claim) -> api.DomainError:
    return CODES.error(
        "LIMIT_REACHED",
        f"you already hold the {claim.activity.member_limit} allowed in this presale "
        "(unpaid orders count)",
        f"lines[{claim.index}].quantity",
    )


async def _reserve(checkout: api.CheckoutContext, claim: Claim, order_id: int) -> None:
    """The quota, then the units, each by a conditional UPDATE, then the order's row."""
    if checkout.member is None:
        raise api.DomainError("UNAUTHENTICATED", "log in as a member first")
    tenant_id, member_id, activity = checkout.tenant.id, checkout.member.id, claim.activity
    await PresaleQuota.bulk_create(
        [PresaleQuota(tenant_id=tenant_id, activity_id=activity.id, member_id=member_id)],
        ignore_conflicts=True,
    )
    if not await PresaleQuota.filter(
        tenant_id=tenant_id,
        activity_id=activity.id,
        member_id=member_id,
        taken__lte=activity.member_limit - claim.quantity,
    ).update(taken=F("taken") + claim.quantity):
        raise _limit_reached(claim)
    if not await PresaleActivity.filter(
        tenant_id=tenant_id,
        id=activity.id,
        cancelled_at__isnull=True,
        reserved__lte=F("stock") - claim.quantity,
    ).update(reserved=F("reserved") + claim.quantity):
        raise CODES.error(
            "SOLD_OUT", "every unit of this presale is taken", f"lines[{claim.index}]"
        )
    await PresaleOrder.create(
        tenant_id=tenant_id,
        activity_id=activity.id,
        order_id=order_id,
        member_id=member_id,
        quantity=claim.quantity,
        deposit=claim.deposit,
        status=DEPOSIT_DUE,
    )


async def _release(tenant: api.TenantInfo, order_id: int, reason: str) -> None:
    """The order's row leaves the holding states once; its units and quota go back then.
    A refund of part of a paid order gives back nothing: the units were sold."""
    row = await PresaleOrder.get_or_none(tenant_id=tenant.id, order_id=order_id)
    if row is None:
        return
    if reason == "refunded":
        view = await api.order_view(tenant, order_id)
        if any(ln.refunded_quantity < ln.quantity for ln in view.lines):
            return
    to = {"cancelled": RELEASED, "forfeited": FORFEITED}.get(reason, REFUNDED)
    if not await PresaleOrder.filter(id=row.id, status__in=HOLDING).update(status=to):
        return
    await PresaleActivity.filter(
        tenant_id=tenant.id, id=row.activity_id, reserved__gte=row.quantity
    ).update(reserved=F("reserved") - row.quantity)
    await PresaleQuota.filter(
        tenant_id=tenant.id,
        activity_id=row.activity_id,
        member_id=row.member_id,
        taken__gte=row.quantity,
    ).update(taken=F("taken") - row.quantity)
