"""Commission: who earns on an order (snapshotted when it is placed), how much per line
(on what the line paid), and its way through the ledger buckets.

pending when the order is paid → frozen from completion → available ``freeze_hours``
later (a durable job) → reversed, in part or in full, by refunds of its line, whatever
bucket it reached (the available balance may then go negative).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from yutang import api
from yutang.plugins.distributor import binding
from yutang.plugins.distributor.ledger import post
from yutang.plugins.distributor.models import (
    DistributorCommission,
    DistributorOrder,
    DistributorPromoter,
    DistributorRule,
)
from yutang.plugins.distributor.settings import Settings, settings_of

BASIS_POINTS = 10_000
RELEASE_JOB = "distributor.release"


async def chain(
    tenant_id: int, member_id: int, settings: Settings, now: datetime
) -> list[DistributorPromoter]:
    """The promoters an order of ``member_id`` pays, level 1 first; never more than two."""
    first: DistributorPromoter | None = None
    if settings.self_purchase:
        first = await DistributorPromoter.get_or_none(
            tenant_id=tenant_id, member_id=member_id, status="active"
        )
    if first is None:
        first = await binding.upline(tenant_id, member_id, now)
        above = first.member_id if first is not None else None
    else:
        above = member_id
    if first is None:
        return []
    second = None
    if settings.levels == 2 and above is not None:
        second = await binding.upline(tenant_id, above, now)
    if second is None or second.id == first.id or second.member_id == member_id:
        return [first]
    return [first, second]


async def snapshot(checkout: api.CheckoutContext, order_id: int) -> None:
    """In placeOrder's transaction: remember the order's promoters and the rules in force,
    so later binding or rule changes do not change what it pays."""
    if checkout.member is None:
        return
    tenant = checkout.tenant
    settings = settings_of(tenant)
    promoters = await chain(tenant.id, checkout.member.id, settings, checkout.now)
    if not promoters:
        return
    rules = await DistributorRule.filter(
        tenant_id=tenant.id, sku_id__in={ln.sku_id for ln in checkout.lines}
    ).values("sku_id", "kind", "first_level", "second_level")
    plan = {
        "rates": [settings.first_rate, settings.second_rate],
        "rules": {
            str(r["sku_id"]): [r["kind"], r["first_level"], r["second_level"]] for r in rules
        },
        "include_fees": settings.include_fees,
        "excluded": list(settings.excluded_activities),
    }
    await DistributorOrder.create(
        tenant_id=tenant.id,
        order_id=order_id,
        member_id=checkout.member.id,
        first_promoter_id=promoters[0].id,
        second_promoter_id=promoters[1].id if len(promoters) > 1 else None,
        store_id=promoters[0].store_id,
        plan=plan,
    )


def split(kind: str, rates: list[int], basis: int, quantity: int) -> list[int]:
    """Commission per level for one line: a percentage (basis points) of ``basis`` or a
    fixed amount per unit; together never more than the line paid."""
    out = []
    left = basis
    for rate in rates:
        raw = rate * quantity if kind == "fixed" else basis * rate // BASIS_POINTS
        share = max(0, min(raw, left))
        out.append(share)
        left -= share
    return out


async def _locked(tenant: api.TenantInfo, order_id: int) -> DistributorOrder | None:
    return (
        await DistributorOrder.filter(tenant_id=tenant.id, order_id=order_id)
        .select_for_update()
        .first()
    )


async def accrue(tenant: api.TenantInfo, order_id: int) -> DistributorOrder | None:
    """Once per paid order: a pending commission per eligible line and level."""
    snap = await _locked(tenant, order_id)
    if snap is None or snap.accrued_at is not None:
        return snap
    order = await api.order_view(tenant, order_id)
    if order.paid_at is None:
        return snap
    snap.accrued_at = api.now()
    await DistributorOrder.filter(id=snap.id).update(accrued_at=snap.accrued_at)
    plan: dict[str, Any] = snap.plan
    promoters = [p for p in (snap.first_promoter_id, snap.second_promoter_id) if p is not None]
    lines = [ln for ln in order.lines if ln.activity_plugin not in plan["excluded"]]
    fee_shares = [0] * len(lines)
    if plan["include_fees"] and order.fees and lines:
        fee_shares = api.apportion(order.fees, [ln.amount for ln in lines])
    for ln, fee in zip(lines, fee_shares, strict=True):
        kind, *rates = plan["rules"].get(str(ln.sku_id), ["percent", *plan["rates"]])
        basis = ln.amount + fee
        amounts = split(kind, rates[: len(promoters)], basis, ln.quantity)
        for level, (promoter_id, rate, amount) in enumerate(
            zip(promoters, rates, amounts, strict=False), start=1
        ):
            if amount <= 0:
                continue
            row = await DistributorCommission.create(
                tenant_id=tenant.id,
                order_id=order.id,
                line_id=ln.id,
                level=level,
                promoter_id=promoter_id,
                member_id=order.member_id,
                sku_id=ln.sku_id,
                product_name=ln.product_name[:200],
                quantity=ln.quantity,
                line_amount=ln.amount,
                basis=basis,
                kind=kind,
                rate=rate,
                amount=amount,
                status="pending",
                earned_at=snap.accrued_at,
            )
            await post(
                tenant.id,
                promoter_id,
                "earn",
                amount,
                None,
                "pending",
                f"earn:{row.id}",
                commission_id=row.id,
            )
    return snap


async def freeze(tenant: api.TenantInfo, order_id: int, completed_at: datetime) -> None:
    """The order was completed: its pending commissions freeze until ``freeze_hours`` later,
    when a durable job makes them available."""
    if await accrue(tenant, order_id) is None:
        return
    until = completed_at + timedelta(hours=settings_of(tenant).freeze_hours)
    rows = await DistributorCommission.filter(
        tenant_id=tenant.id, order_id=order_id, status="pending"
    ).select_for_update()
    for c in rows:
        await DistributorCommission.filter(id=c.id, status="pending").update(
            status="frozen", unfreeze_at=until
        )
        await post(
            tenant.id,
            c.promoter_id,
            "freeze",
            c.amount - c.reversed_amount,
            "pending",
            "frozen",
            f"freeze:{c.id}",
            commission_id=c.id,
        )
    if rows:
        await api.schedule_job(
            tenant.id,
            RELEASE_JOB,
            {"order_id": order_id},
            until,
            dedupe_key=f"{RELEASE_JOB}:{order_id}",
        )


async def release(tenant: api.TenantInfo, payload: dict[str, Any]) -> None:
    """Job: frozen commissions of an order whose time has come become available, once —
    the status moves only from frozen, in the transaction that marks the job done."""
    rows = await DistributorCommission.filter(
        tenant_id=tenant.id,
        order_id=payload["order_id"],
        status="frozen",
        unfreeze_at__lte=api.now(),
    ).select_for_update()
    for c in rows:
        if await DistributorCommission.filter(id=c.id, status="frozen").update(status="available"):
            await post(
                tenant.id,
                c.promoter_id,
                "release",
                c.amount - c.reversed_amount,
                "frozen",
                "available",
                f"release:{c.id}",
                commission_id=c.id,
            )


def _reversed_target(c: DistributorCommission, quantity: int, refunded: int) -> int:
    """How much of the commission is reversed once ``quantity`` units worth ``refunded``
    of the line went back: all of it with the last unit, else in proportion."""
    amount = int(c.amount)
    if quantity >= c.quantity:
        return amount
    if c.kind == "fixed":
        return amount * quantity // c.quantity
    return amount * refunded // c.line_amount if c.line_amount else amount


async def reverse(
    tenant: api.TenantInfo, order_id: int, refund_id: int, lines: list[dict[str, Any]]
) -> None:
    """A refund of some lines: reversal entries for exactly those lines' commissions, from
    whichever bucket they are in, once per refund."""
    snap = await accrue(tenant, order_id)
    if snap is None or refund_id in snap.refund_ids:
        return
    await DistributorOrder.filter(id=snap.id).update(refund_ids=[*snap.refund_ids, refund_id])
    by_line = {ln["line_id"]: ln for ln in lines}
    rows = await DistributorCommission.filter(
        tenant_id=tenant.id, order_id=order_id, line_id__in=list(by_line)
    ).select_for_update()
    for c in rows:
        refunded = by_line[c.line_id]
        quantity = c.reversed_quantity + refunded["quantity"]
        basis = c.reversed_basis + refunded["amount"]
        delta = _reversed_target(c, quantity, basis) - c.reversed_amount
        await DistributorCommission.filter(id=c.id).update(
            reversed_quantity=quantity,
            reversed_basis=basis,
            reversed_amount=c.reversed_amount + delta,
            status="reversed" if quantity >= c.quantity else c.status,
        )
        await post(
            tenant.id,
            c.promoter_id,
            "reverse",
            delta,
            c.status,
            None,
            f"reverse:{c.id}:{refund_id}",
            commission_id=c.id,
        )
