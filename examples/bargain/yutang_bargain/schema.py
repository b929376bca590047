"""GraphQL: members start bargains and friends cut them (storefront); staff make offers (admin)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TypeVar

import strawberry
from yutang import api

from yutang_bargain import bargains
from yutang_bargain.models import Bargain, BargainCut, BargainOffer

T = TypeVar("T")


@strawberry.type(name="BargainCut", description="One friend's cut.")
class CutNode:
    amount: api.MoneyType
    at: datetime


@strawberry.type(name="Bargain", description="A member's bargain: friends cut its price.")
class BargainNode:
    id: strawberry.ID
    sku_id: strawberry.ID
    start_price: api.MoneyType
    floor_price: api.MoneyType
    price: api.MoneyType = strawberry.field(description="What the starter pays now.")
    helpers_needed: int
    helpers: int
    expires_at: datetime
    status: str = strawberry.field(description="open, ordered or expired.")
    pk: strawberry.Private[int]

    @strawberry.field(description="Whether the price reached the floor.")
    def reached(self) -> bool:
        return self.price.amount == self.floor_price.amount

    @strawberry.field(description="The friends' cuts, oldest first.")
    async def cuts(self, info: api.Info) -> list[CutNode]:
        ctx = info.context

        async def load(ids: Sequence[int]) -> list[list[CutNode]]:
            found: dict[int, list[CutNode]] = {i: [] for i in ids}
            rows = BargainCut.filter(tenant_id=ctx.tenant.id, bargain_id__in=list(ids))
            for row in await rows.order_by("id"):
                amount = api.MoneyType.of(row.amount, ctx.tenant.currency)
                found[row.bargain_id].append(CutNode(amount=amount, at=row.created_at))
            return [found[i] for i in ids]

        cuts: list[CutNode] = await ctx.loader("bargain.cuts", load).load(self.pk)
        return cuts


def node(row: Bargain, currency: str) -> BargainNode:
    """The GraphQL view of a bargain row."""
    return BargainNode(
        id=strawberry.ID(api.to_global("Bargain", row.id)),
        sku_id=strawberry.ID(api.to_global("Sku", row.sku_id)),
        start_price=api.MoneyType.of(row.start_price, currency),
        floor_price=api.MoneyType.of(row.floor_price, currency),
        price=api.MoneyType.of(row.price, currency),
        helpers_needed=row.helpers_needed,
        helpers=row.helpers,
        expires_at=row.expires_at,
        status=row.status,
        pk=row.id,
    )


@strawberry.type
class BargainPayload:
    bargain: BargainNode | None = None
    errors: list[api.UserError] = strawberry.field(default_factory=list)


@strawberry.type
class HelpBargainPayload:
    cut: api.MoneyType | None = None
    bargain: BargainNode | None = None
    errors: list[api.UserError] = strawberry.field(default_factory=list)


async def attempt(run: Callable[[], Awaitable[T]]) -> T | api.UserError:
    """The result of ``run``, or its expected failure as a UserError."""
    try:
        return await run()
    except api.DomainError as err:
        return api.UserError.of(err)


async def bargain(info: api.Info, id: strawberry.ID) -> BargainNode | None:
    """A bargain, for its starter and the friends asked to cut it."""
    ctx = info.context
    row = await Bargain.get_or_none(tenant_id=ctx.tenant.id, id=api.pk_of(id, "Bargain"))
    return node(row, ctx.tenant.currency) if row else None


async def start_bargain(info: api.Info, sku_id: strawberry.ID) -> BargainPayload:
    """Start bargaining for a SKU (or get the member's bargain on it still running)."""
    ctx = info.context

    async def run() -> Bargain:
        member_id = await ctx.member_id()
        return await bargains.start(ctx.tenant, member_id, api.pk_of(sku_id, "Sku", "skuId"))

    result = await attempt(run)
    if isinstance(result, api.UserError):
        return BargainPayload(errors=[result])
    return BargainPayload(bargain=node(result, ctx.tenant.currency))


async def help_bargain(info: api.Info, bargain_id: strawberry.ID) -> HelpBargainPayload:
    """Cut a friend's bargain: once per friend, never your own."""
    ctx = info.context

    async def run() -> tuple[int, Bargain]:
        member_id = await ctx.member_id()
        pk = api.pk_of(bargain_id, "Bargain", "bargainId")
        return await bargains.help_cut(ctx.tenant, member_id, pk)

    result = await attempt(run)
    if isinstance(result, api.UserError):
        return HelpBargainPayload(errors=[result])
    cut, row = result
    currency = ctx.tenant.currency
    return HelpBargainPayload(cut=api.MoneyType.of(cut, currency), bargain=node(row, currency))


def storefront() -> api.GraphQLContribution:
    """The storefront's bargain fields."""
    return api.GraphQLContribution(
        query=[api.field(bargain)],
        mutation=[api.mutation(start_bargain), api.mutation(help_bargain)],
    )


# --- admin -----------------------------------------------------------------------------------


@strawberry.type(name="BargainOffer", description="A SKU offered for bargaining.")
class OfferNode:
    id: strawberry.ID
    sku_id: strawberry.ID
    floor_price: api.MoneyType
    helpers: int


@strawberry.type
class BargainOfferPayload:
    offer: OfferNode | None = None
    errors: list[api.UserError] = strawberry.field(default_factory=list)


async def save_bargain_offer(
    info: api.Info, sku_id: strawberry.ID, floor_price: int, helpers: int
) -> BargainOfferPayload:
    """Offer a SKU for bargaining down to ``floorPrice`` (minor units) by ``helpers`` friends."""
    ctx = info.context

    async def run() -> BargainOffer:
        sku = api.pk_of(sku_id, "Sku", "skuId")
        return await bargains.save_offer(ctx.tenant, sku, floor_price, helpers)

    result = await attempt(run)
    if isinstance(result, api.UserError):
        return BargainOfferPayload(errors=[result])
    offer = OfferNode(
        id=strawberry.ID(api.to_global("BargainOffer", result.id)),
        sku_id=sku_id,
        floor_price=api.MoneyType.of(result.floor_price, ctx.tenant.currency),
        helpers=result.helpers,
    )
    return BargainOfferPayload(offer=offer)


def admin() -> api.GraphQLContribution:
    """The admin schema's bargain fields."""
    return api.GraphQLContribution(
        mutation=[api.mutation(save_bargain_offer, permission="bargain.manage")]
    )
