"""Storefront GraphQL: my promoter status and invite code, my team, my commissions and
withdrawals; applying, binding by link or code, and asking for a withdrawal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

from yutang import api
from yutang.plugins.distributor import binding, promoters, withdrawals
from yutang.plugins.distributor.models import (
    DistributorBinding,
    DistributorCommission,
    DistributorPromoter,
    DistributorWithdrawal,
)
from yutang.plugins.distributor.nodes import (
    BindingNode,
    CommissionNode,
    CommissionStatus,
    PromoterNode,
    WithdrawalNode,
    binding_node,
    commission_node,
    promoter_node,
    withdrawal_node,
)

T = TypeVar("T")


@strawberry.type(name="DistributorPromoterPayload")
class PromoterPayload:
    promoter: PromoterNode | None = None
    errors: list[api.UserError] = strawberry.field(default_factory=list)


@strawberry.type(name="DistributorBindingPayload")
class BindingPayload:
    binding: BindingNode | None = None
    errors: list[api.UserError] = strawberry.field(default_factory=list)


@strawberry.type(name="DistributorWithdrawalPayload")
class WithdrawalPayload:
    withdrawal: WithdrawalNode | None = None
    errors: list[api.UserError] = strawberry.field(default_factory=list)


async def attempt(run: Callable[[], Awaitable[T]]) -> tuple[T | None, list[api.UserError]]:
    """Run a mutation; a DomainError becomes the payload's errors."""
    try:
        return await run(), []
    except api.DomainError as err:
        return None, [api.UserError.of(err)]


async def _mine(info: api.Info) -> DistributorPromoter | None:
    ctx = info.context
    member_id = await ctx.member_id()
    return await DistributorPromoter.get_or_none(tenant_id=ctx.tenant.id, member_id=member_id)


async def _my_own(info: api.Info) -> DistributorPromoter | None:
    """The caller's promoter row; None for visitors and members who are not promoters."""
    ctx = info.context
    member_id = await ctx.optional_member_id()
    if member_id is None:
        return None
    return await DistributorPromoter.get_or_none(tenant_id=ctx.tenant.id, member_id=member_id)


async def _promoter(info: api.Info, pk: int) -> PromoterNode | None:
    row = await _my_own(info)
    return promoter_node(info.context.tenant, row) if row and row.id == pk else None


async def _commission(info: api.Info, pk: int) -> CommissionNode | None:
    mine = await _my_own(info)
    tenant = info.context.tenant
    row = (
        await DistributorCommission.get_or_none(tenant_id=tenant.id, id=pk, promoter_id=mine.id)
        if mine
        else None
    )
    return commission_node(tenant, row) if row else None


async def _withdrawal(info: api.Info, pk: int) -> WithdrawalNode | None:
    mine = await _my_own(info)
    tenant = info.context.tenant
    row = (
        await DistributorWithdrawal.get_or_none(tenant_id=tenant.id, id=pk, promoter_id=mine.id)
        if mine
        else None
    )
    return withdrawal_node(tenant, row) if row else None


async def _binding(info: api.Info, pk: int) -> BindingNode | None:
    """The caller's own binding to a promoter."""
    ctx = info.context
    member_id = await ctx.optional_member_id()
    row = (
        await DistributorBinding.get_or_none(tenant_id=ctx.tenant.id, id=pk, member_id=member_id)
        if member_id is not None
        else None
    )
    return binding_node(row) if row else None


async def my_promoter(info: api.Info) -> PromoterNode | None:
    """The logged-in member as a promoter (status, code, balances, team), or null."""
    row = await _mine(info)
    return promoter_node(info.context.tenant, row) if row else None


async def my_commissions(
    info: api.Info,
    status: CommissionStatus | None = None,
    first: int = 20,
    after: str | None = None,
) -> api.Connection[CommissionNode]:
    """My commissions, newest first, optionally of one status."""
    row = await _mine(info)
    query = DistributorCommission.filter(
        tenant_id=info.context.tenant.id, promoter_id=row.id if row else 0
    )
    if status is not None:
        query = query.filter(status=status.value)
    return await api.keyset_page(
        query, first, after, lambda rows: [commission_node(info.context.tenant, c) for c in rows]
    )


async def my_withdrawals(
    info: api.Info, first: int = 20, after: str | None = None
) -> api.Connection[WithdrawalNode]:
    """My withdrawals, newest first."""
    row = await _mine(info)
    query = DistributorWithdrawal.filter(
        tenant_id=info.context.tenant.id, promoter_id=row.id if row else 0
    )
    return await api.keyset_page(
        query, first, after, lambda rows: [withdrawal_node(info.context.tenant, w) for w in rows]
    )


async def apply_for_promoter(info: api.Info) -> PromoterPayload:
    """Become a promoter: at once, or once staff approve, as the merchant chose."""
    ctx = info.context

    async def run() -> PromoterNode:
        row = await promoters.apply(ctx.tenant, await ctx.member_id())
        return promoter_node(ctx.tenant, row)

    node, errors = await attempt(run)
    return PromoterPayload(promoter=node, errors=errors)


async def bind_promoter(info: api.Info, code: str, source: str = "link") -> BindingPayload:
    """Bind me to the promoter whose link (``source: "link"``) or code (``"code"``) I used."""
    ctx = info.context

    async def run() -> BindingNode:
        return binding_node(await binding.bind(ctx.tenant, await ctx.member_id(), code, source))

    node, errors = await attempt(run)
    return BindingPayload(binding=node, errors=errors)


@strawberry.input(name="DistributorWithdrawalInput")
class WithdrawalIn:
    amount: int = strawberry.field(description="Minor units to withdraw.")
    account: str
    idempotency_key: str


async def request_distributor_withdrawal(info: api.Info, input: WithdrawalIn) -> WithdrawalPayload:
    """Withdraw from my available balance; it is reserved at once and staff review it."""
    ctx = info.context

    async def run() -> WithdrawalNode:
        row = await withdrawals.request(
            ctx.tenant, await ctx.member_id(), input.amount, input.account, input.idempotency_key
        )
        return withdrawal_node(ctx.tenant, row)

    node, errors = await attempt(run)
    return WithdrawalPayload(withdrawal=node, errors=errors)


def contribution() -> api.GraphQLContribution:
    """The storefront schema's distributor fields."""
    return api.GraphQLContribution(
        query=[
            api.field(my_promoter, description="Me as a promoter, or null."),
            api.field(my_commissions, name="myDistributorCommissions"),
            api.field(my_withdrawals, name="myDistributorWithdrawals"),
        ],
        mutation=[
            api.mutation(apply_for_promoter),
            api.mutation(bind_promoter),
            api.mutation(request_distributor_withdrawal),
        ],
        nodes=[
            api.NodeType(PromoterNode, _promoter),
            api.NodeType(CommissionNode, _commission),
            api.NodeType(WithdrawalNode, _withdrawal),
            api.NodeType(BindingNode, _binding),
        ],
    )
