"""Admin GraphQL: create and cancel presales, and follow their deposits and balances."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime

import strawberry
from tortoise.expressions import Q
from tortoise.functions import Count

from yutang import api
from yutang.plugins.presale.activities import PresaleInput, cancel_presale, create_presale
from yutang.plugins.presale.checkout import ACTIVITY
from yutang.plugins.presale.models import FORFEITED, PresaleActivity, PresaleOrder
from yutang.plugins.presale.nodes import PresaleNode, presale_node


@strawberry.type(name="PresaleCounts", description="Orders of a presale by how far they got.")
class Counts:
    deposits: int = strawberry.field(default=0, description="Orders whose deposit was paid.")
    balances: int = strawberry.field(default=0, description="Orders paid in full.")
    forfeited: int = strawberry.field(
        default=0, description="Deposits whose balance went unpaid in its window."
    )


@strawberry.type(name="PresaleAdmin", description="A presale with its order counts.")
class AdminNode:
    presale: PresaleNode
    counts: Counts
    cancelled_at: datetime | None


@strawberry.input(
    name="PresaleInput",
    description="Amounts per unit in minor units: a unit costs price − deduction + deposit "
    "in all. `refundForfeited` gives a deposit back when its balance goes unpaid.",
)
class PresaleIn:
    name: str
    sku_id: strawberry.ID
    deposit: int
    deduction: int
    price: int
    deposit_starts_at: datetime
    deposit_ends_at: datetime
    balance_starts_at: datetime
    balance_ends_at: datetime
    stock: int
    member_limit: int = 1
    refund_forfeited: bool = False


@strawberry.type(name="PresalePayload")
class Payload:
    presale: AdminNode | None = None
    errors: list[api.UserError] = strawberry.field(default_factory=list)


async def admin_nodes(tenant: api.TenantInfo, rows: list[PresaleActivity]) -> list[AdminNode]:
    """Presales with their counts, in one more query for any page."""
    counts: dict[int, Counts] = defaultdict(Counts)
    for r in (
        await PresaleOrder.filter(tenant_id=tenant.id, activity_id__in=[a.id for a in rows])
        .annotate(
            deposits=Count("id", _filter=Q(deposit_paid_at__isnull=False)),
            balances=Count("id", _filter=Q(balance_paid_at__isnull=False)),
            forfeited=Count("id", _filter=Q(status=FORFEITED)),
        )
        .group_by("activity_id")
        .values("activity_id", "deposits", "balances", "forfeited")
    ):
        counts[r["activity_id"]] = Counts(
            deposits=int(r["deposits"]), balances=int(r["balances"]), forfeited=int(r["forfeited"])
        )
    now = api.now()
    return [
        AdminNode(
            presale=presale_node(tenant, a, now), counts=counts[a.id], cancelled_at=a.cancelled_at
        )
        for a in rows
    ]


def presale_data(inp: PresaleIn) -> PresaleInput:
    """The validated input; errors name ``input.<field>``."""
    raw = {
        "name": inp.name,
        "skuId": api.pk_of(inp.sku_id, "Sku", "input.skuId"),
        "deposit": inp.deposit,
        "deduction": inp.deduction,
        "price": inp.price,
        "depositStartsAt": inp.deposit_starts_at,
        "depositEndsAt": inp.deposit_ends_at,
        "balanceStartsAt": inp.balance_starts_at,
        "balanceEndsAt": inp.balance_ends_at,
        "stock": inp.stock,
        "memberLimit": inp.member_limit,
        "refundForfeited": inp.refund_forfeited,
    }
    return api.convert(raw, PresaleInput, "input")


async def _payload(run: Callable[[], Awaitable[PresaleActivity]], info: api.Info) -> Payload:
    try:
        row = await run()
    except api.DomainError as err:
        return Payload(errors=[api.UserError.of(err)])
    return Payload(presale=(await admin_nodes(info.context.tenant, [row]))[0])


async def presales(
    info: api.Info, first: int = 20, after: str | None = None
) -> api.Connection[AdminNode]:
    """Presales, newest first."""
    ctx = info.context
    return await api.keyset_page(
        PresaleActivity.filter(tenant_id=ctx.tenant.id),
        first,
        after,
        lambda rows: admin_nodes(ctx.tenant, rows),
    )


async def create_presale_activity(info: api.Info, input: PresaleIn) -> Payload:
    """Create a presale."""
    ctx = info.context

    async def run() -> PresaleActivity:
        return await create_presale(ctx.tenant, presale_data(input))

    return await _payload(run, info)


async def cancel_presale_activity(info: api.Info, id: strawberry.ID) -> Payload:
    """Cancel a presale for good. Cancelling again changes nothing."""
    ctx = info.context

    async def run() -> PresaleActivity:
        return await cancel_presale(ctx.tenant, api.pk_of(id, ACTIVITY, "id"))

    return await _payload(run, info)


def contribution() -> api.GraphQLContribution:
    """The admin schema's presale fields."""
    return api.GraphQLContribution(
        query=[
            api.field(
                presales,
                permission="presale.view",
                description="Presales with their counts, newest first.",
            )
        ],
        mutation=[
            api.mutation(
                create_presale_activity,
                permission="presale.manage",
                name="createPresale",
                description="Create a presale.",
            ),
            api.mutation(
                cancel_presale_activity,
                permission="presale.manage",
                name="cancelPresale",
                description="Cancel a presale for good: unpaid orders are cancelled and "
                "deposits whose balance is unpaid are refunded; orders paid in full stand. "
                "Cancelling again changes nothing.",
            ),
        ],
    )
