"""Admin GraphQL: promoters and their review, staff promoters, SKU rules, bindings,
commissions, withdrawals to review, and the ranking of promoters by sales in a period."""

from __future__ import annotations

from datetime import datetime

import strawberry
from tortoise.functions import Count, Sum

from yutang import api
from yutang.plugins.distributor import promoters, withdrawals
from yutang.plugins.distributor.models import (
    DistributorBinding,
    DistributorCommission,
    DistributorPromoter,
    DistributorRule,
    DistributorWithdrawal,
)
from yutang.plugins.distributor.nodes import (
    BindingNode,
    CommissionNode,
    CommissionStatus,
    PromoterNode,
    PromoterStatus,
    WithdrawalNode,
    WithdrawalStatus,
    binding_node,
    commission_node,
    page_size,
    promoter_node,
    withdrawal_node,
)
from yutang.plugins.distributor.storefront import PromoterPayload, WithdrawalPayload, attempt

KINDS = ("percent", "fixed")


@strawberry.type(name="DistributorRule")
class RuleNode:
    sku_id: strawberry.ID
    kind: str = strawberry.field(description="percent (basis points) or fixed (per unit).")
    first: int
    second: int


@strawberry.type(name="DistributorRulePayload")
class RulePayload:
    rule: RuleNode | None = None
    errors: list[api.UserError] = strawberry.field(default_factory=list)


@strawberry.type(name="DistributorRank")
class RankNode:
    promoter: PromoterNode
    sales: api.MoneyType = strawberry.field(
        description="What their level-1 lines paid, net of refunds."
    )
    orders: int
    commission: api.MoneyType = strawberry.field(description="Level-1 commission, net of refunds.")


def _pk(value: strawberry.ID | None, kind: str, field: str) -> int | None:
    return None if value is None else api.pk_of(value, kind, field)


async def distributor_promoters(
    info: api.Info,
    status: PromoterStatus | None = None,
    first: int = 20,
    after: str | None = None,
) -> api.Connection[PromoterNode]:
    """Promoters, newest first (``status: "applied"`` for the review queue)."""
    ctx = info.context
    query = DistributorPromoter.filter(tenant_id=ctx.tenant.id)
    if status is not None:
        query = query.filter(status=status.value)
    return await api.keyset_page(
        query, first, after, lambda rows: [promoter_node(ctx.tenant, p) for p in rows]
    )


async def distributor_bindings(
    info: api.Info,
    promoter_id: strawberry.ID | None = None,
    first: int = 20,
    after: str | None = None,
) -> api.Connection[BindingNode]:
    """Members' current bindings, newest first, optionally of one promoter."""
    ctx = info.context
    query = DistributorBinding.filter(tenant_id=ctx.tenant.id)
    pid = _pk(promoter_id, "DistributorPromoter", "promoterId")
    if pid is not None:
        query = query.filter(promoter_id=pid)
    return await api.keyset_page(query, first, after, lambda rows: [binding_node(b) for b in rows])


async def distributor_commissions(
    info: api.Info,
    promoter_id: strawberry.ID | None = None,
    order_id: strawberry.ID | None = None,
    status: CommissionStatus | None = None,
    first: int = 20,
    after: str | None = None,
) -> api.Connection[CommissionNode]:
    """Commissions, newest first, by promoter, order or status."""
    ctx = info.context
    query = DistributorCommission.filter(tenant_id=ctx.tenant.id)
    pid = _pk(promoter_id, "DistributorPromoter", "promoterId")
    oid = _pk(order_id, "Order", "orderId")
    if pid is not None:
        query = query.filter(promoter_id=pid)
    if oid is not None:
        query = query.filter(order_id=oid)
    if status is not None:
        query = query.filter(status=status.value)
    return await api.keyset_page(
        query, first, after, lambda rows: [commission_node(ctx.tenant, c) for c in rows]
    )


async def distributor_withdrawals(
    info: api.Info,
    status: WithdrawalStatus | None = None,
    first: int = 20,
    after: str | None = None,
) -> api.Connection[WithdrawalNode]:
    """Withdrawals, newest first (``status: "requested"`` for the review queue)."""
    ctx = info.context
    query = DistributorWithdrawal.filter(tenant_id=ctx.tenant.id)
    if status is not None:
        query = query.filter(status=status.value)
    return await api.keyset_page(
        query, first, after, lambda rows: [withdrawal_node(ctx.tenant, w) for w in rows]
    )


async def distributor_ranking(
    info: api.Info, since: datetime, until: datetime, first: int = 20
) -> list[RankNode]:
    """The merchant's leaderboard: promoters by the sales they brought (level 1, net of
    refunds) in orders paid between ``since`` and ``until``."""
    ctx = info.context
    if until <= since:
        raise api.DomainError("INVALID", "must be after since", "until")
    rows = (
        await DistributorCommission.filter(
            tenant_id=ctx.tenant.id, level=1, earned_at__gte=since, earned_at__lt=until
        )
        .annotate(
            paid=Sum("line_amount"),
            back=Sum("reversed_basis"),
            earned=Sum("amount"),
            lost=Sum("reversed_amount"),
            orders=Count("order_id", distinct=True),
        )
        .group_by("promoter_id")
        .values("promoter_id", "paid", "back", "earned", "lost", "orders")
    )
    totals = sorted(
        ((int(r["paid"] or 0) - int(r["back"] or 0), r["promoter_id"], r) for r in rows),
        key=lambda t: (-t[0], t[1]),
    )[: page_size(first)]
    found = {
        p.id: p
        for p in await DistributorPromoter.filter(
            tenant_id=ctx.tenant.id, id__in=[t[1] for t in totals]
        )
    }
    money = ctx.tenant.currency
    return [
        RankNode(
            promoter=promoter_node(ctx.tenant, found[pid]),
            sales=api.MoneyType.of(sales, money),
            orders=int(r["orders"]),
            commission=api.MoneyType.of(int(r["earned"] or 0) - int(r["lost"] or 0), money),
        )
        for sales, pid, r in totals
    ]


async def review_promoter(
    info: api.Info, promoter_id: strawberry.ID, approve: bool
) -> PromoterPayload:
    """Approve or reject an application."""
    ctx = info.context

    async def run() -> PromoterNode:
        pid = api.pk_of(promoter_id, "DistributorPromoter", "promoterId")
        return promoter_node(ctx.tenant, await promoters.review(ctx.tenant, pid, approve))

    node, errors = await attempt(run)
    return PromoterPayload(promoter=node, errors=errors)


async def appoint_staff_promoter(
    info: api.Info, member_id: strawberry.ID, staff_id: strawberry.ID, store_id: strawberry.ID
) -> PromoterPayload:
    """Make a clerk (导购) a promoter for their store, through their member account."""
    ctx = info.context

    async def run() -> PromoterNode:
        row = await promoters.appoint_staff(
            ctx.tenant,
            api.pk_of(member_id, "Member", "memberId"),
            api.pk_of(staff_id, "Staff", "staffId"),
            api.pk_of(store_id, "Store", "storeId"),
        )
        return promoter_node(ctx.tenant, row)

    node, errors = await attempt(run)
    return PromoterPayload(promoter=node, errors=errors)


async def set_distributor_rule(
    info: api.Info, sku_id: strawberry.ID, kind: str, first: int, second: int = 0
) -> RulePayload:
    """A SKU's own commission for orders placed from now on: ``percent`` in basis points
    of what the line paid, or ``fixed`` minor units per unit (¥8 per adult ticket)."""
    ctx = info.context

    async def run() -> RuleNode:
        sku = api.pk_of(sku_id, "Sku", "skuId")
        if kind not in KINDS:
            raise api.DomainError("INVALID", "percent or fixed", "kind")
        for name, value in (("first", first), ("second", second)):
            if value < 0 or (kind == "percent" and value > 10_000):
                raise api.DomainError("INVALID", "0 to 10000 basis points, or ≥ 0", name)
        if sku not in await api.sku_summaries(ctx.tenant, [sku]):
            raise api.NotFound("SKU", "skuId")
        await DistributorRule.update_or_create(
            defaults={"kind": kind, "first_level": first, "second_level": second},
            tenant_id=ctx.tenant.id,
            sku_id=sku,
        )
        return RuleNode(sku_id=sku_id, kind=kind, first=first, second=second)

    node, errors = await attempt(run)
    return RulePayload(rule=node, errors=errors)


async def review_distributor_withdrawal(
    info: api.Info, withdrawal_id: strawberry.ID, approve: bool
) -> WithdrawalPayload:
    """Approve (the payout starts) or reject (the money returns to available)."""
    ctx = info.context

    async def run() -> WithdrawalNode:
        wid = api.pk_of(withdrawal_id, "DistributorWithdrawal", "withdrawalId")
        return withdrawal_node(ctx.tenant, await withdrawals.review(ctx.tenant, wid, approve))

    node, errors = await attempt(run)
    return WithdrawalPayload(withdrawal=node, errors=errors)


async def mark_distributor_withdrawal_paid(
    info: api.Info, withdrawal_id: strawberry.ID, reference: str = ""
) -> WithdrawalPayload:
    """Record an approved withdrawal as transferred offline."""
    ctx = info.context

    async def run() -> WithdrawalNode:
        wid = api.pk_of(withdrawal_id, "DistributorWithdrawal", "withdrawalId")
        return withdrawal_node(ctx.tenant, await withdrawals.mark_paid(ctx.tenant, wid, reference))

    node, errors = await attempt(run)
    return WithdrawalPayload(withdrawal=node, errors=errors)


def contribution() -> api.GraphQLContribution:
    """The admin schema's distributor fields."""
    return api.GraphQLContribution(
        query=[
            api.field(distributor_promoters, permission="distributor.view"),
            api.field(distributor_bindings, permission="distributor.view"),
            api.field(distributor_commissions, permission="distributor.view"),
            api.field(distributor_withdrawals, permission="distributor.withdrawals"),
            api.field(distributor_ranking, permission="distributor.view"),
        ],
        mutation=[
            api.mutation(review_promoter, permission="distributor.manage"),
            api.mutation(appoint_staff_promoter, permission="distributor.manage"),
            api.mutation(set_distributor_rule, permission="distributor.manage"),
            api.mutation(review_distributor_withdrawal, permission="distributor.withdrawals"),
            api.mutation(mark_distributor_withdrawal_paid, permission="distributor.withdrawals"),
        ],
    )
