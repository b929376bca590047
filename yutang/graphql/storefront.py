"""The storefront schema's core roots: catalogue, quote, orders (accounts: ``accounts``)."""

from __future__ import annotations

from typing import Annotated

import msgspec
import strawberry

from yutang.core import checkout, fulfilment, orders, payments, refunds
from yutang.core.contract import Quote as CoreQuote
from yutang.core.errors import DomainError
from yutang.core.models import Member as MemberRow
from yutang.core.models import Order as OrderRow
from yutang.core.models import Refund as RefundRow
from yutang.core.orders import PriceChanged
from yutang.core.settings_core import core_settings
from yutang.graphql import catalog, nodes
from yutang.graphql.accounts import MemberAccountMutation
from yutang.graphql.after_sale import PaymentStatus
from yutang.graphql.cart import CartMutation, CartQuery
from yutang.graphql.context import Context
from yutang.graphql.ids import pk_of
from yutang.graphql.inputs import (
    CheckoutInput,
    PayOrderInput,
    PlaceOrderInput,
    RefundRequestInput,
    checkout_data,
    place_order_data,
    refund_data,
)
from yutang.graphql.orders import (
    Order,
    member_nodes,
    order_node,
    order_page,
    quote_node,
    refund_node,
)
from yutang.graphql.payloads import (
    OrderPayload,
    PaymentPayload,
    QuotePayload,
    RefundPayload,
    attempt,
)
from yutang.graphql.points import PointsRules, points_rules
from yutang.graphql.statuses import OrderStatus
from yutang.graphql.types import (
    Category,
    Connection,
    Member,
    Node,
    Product,
    UserError,
)

Info = strawberry.Info[Context, None]


async def my_orders(
    ctx: Context, first: int, after: str | None, status: list[OrderStatus] | None = None
) -> Connection[Order]:
    """A page of the caller's orders, newest first, in any of ``status`` when given."""
    member_id = await ctx.member_id()
    query = OrderRow.filter(tenant_id=ctx.tenant.id, member_id=member_id)
    if status is not None:
        query = query.filter(status__in=[s.value for s in status])
    return await order_page(ctx.tenant, query, first, after)


@strawberry.type(name="Query")
class StorefrontQuery(CartQuery):
    @strawberry.field(description="Published products, filtered by category or name.")
    async def products(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        category_id: strawberry.ID | None = None,
        search: str | None = None,
        tag: str | None = None,
    ) -> Connection[Product]:
        category = pk_of(category_id, "Category", "categoryId") if category_id else None
        return await catalog.product_page(
            info.context.tenant,
            first,
            after,
            published_only=True,
            category_pk=category,
            search=search,
            tag=tag,
        )

    @strawberry.field
    async def product(self, info: Info, id: strawberry.ID) -> Product | None:
        return await catalog.one_product(
            info.context.tenant, pk_of(id, "Product"), published_only=True
        )

    @strawberry.field
    async def categories(self, info: Info) -> list[Category]:
        return await catalog.categories(info.context.tenant)

    @strawberry.field(
        description="Any object by its global ID; null for one the caller may not see."
    )
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        result: Node | None = await nodes.resolve(info, id)
        return result

    @strawberry.field(description="The logged-in member, or null.")
    async def me(self, info: Info) -> Member | None:
        ctx = info.context
        member_id = await ctx.optional_member_id()
        if member_id is None:
            return None
        row = await MemberRow.get(tenant_id=ctx.tenant.id, id=member_id)
        return (await member_nodes(ctx.tenant, [row]))[0]

    @strawberry.field(
        description="The logged-in member's orders, newest first; with `status`, only those "
        "in one of these statuses (an order list's tabs: `[PENDING_PAYMENT, DEPOSIT_PAID]` "
        "is 待付款)."
    )
    async def my_orders(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        status: list[OrderStatus] | None = None,
    ) -> Connection[Order]:
        return await my_orders(info.context, first, after, status)

    @strawberry.field(description="One of the logged-in member's orders.")
    async def order(self, info: Info, id: strawberry.ID) -> Order | None:
        ctx = info.context
        member_id = await ctx.member_id()
        row = await OrderRow.get_or_none(
            tenant_id=ctx.tenant.id, id=pk_of(id, "Order"), member_id=member_id
        )
        return order_node(ctx.tenant, row) if row else None

    @strawberry.field(description="How points pay at checkout in this shop.")
    def points_rules(self, info: Info) -> PointsRules:
        tenant = info.context.tenant
        return points_rules(core_settings(tenant), tenant.currency)

    @strawberry.field(description="Price a cart without writing anything.")
    async def quote(self, info: Info, input: CheckoutInput) -> QuotePayload:
        ctx = info.context

        async def run() -> CoreQuote:
            member_id = await ctx.optional_member_id()
            return await checkout.quote(ctx.tenant, member_id, checkout_data(input))

        result, errors = await attempt(run)
        return QuotePayload(quote=quote_node(result) if result else None, errors=errors)


@strawberry.type(name="Mutation")
class StorefrontMutation(CartMutation, MemberAccountMutation):
    @strawberry.mutation(description="Place an order from lines; idempotent per key.")
    async def place_order(self, info: Info, input: PlaceOrderInput) -> OrderPayload:
        ctx = info.context
        try:
            member_id = await ctx.member_id()
            data = place_order_data(input)
            row = await orders.place_order(ctx.tenant, member_id, data, admitted=ctx.admitted)
        except PriceChanged as changed:
            assert isinstance(changed.extra, CoreQuote)
            return OrderPayload(quote=quote_node(changed.extra), errors=[UserError.of(changed)])
        except DomainError as err:
            return OrderPayload(errors=[UserError.of(err)])
        return OrderPayload(order=order_node(ctx.tenant, row))

    @strawberry.mutation(description="Pay an order (the `dev` provider pays at once).")
    async def pay_order(self, info: Info, input: PayOrderInput) -> PaymentPayload:
        ctx = info.context

        async def run() -> PaymentPayload:
            member_id = await ctx.member_id()
            order, payment, intent = await payments.pay_order(
                ctx.tenant,
                member_id,
                pk_of(input.order_id, "Order", "orderId"),
                input.provider,
                input.idempotency_key,
                input.payer,
            )
            return PaymentPayload(
                order=order_node(ctx.tenant, order),
                payment_status=PaymentStatus(payment.status),
                client_data=msgspec.to_builtins(intent.client_data) if intent else None,
            )

        result, errors = await attempt(run)
        return result or PaymentPayload(errors=errors)

    @strawberry.mutation
    async def cancel_order(self, info: Info, order_id: strawberry.ID) -> OrderPayload:
        ctx = info.context

        async def run() -> OrderRow:
            member_id = await ctx.member_id()
            return await orders.cancel_order(
                ctx.tenant,
                pk_of(order_id, "Order", "orderId"),
                member_id=member_id,
                reason="member",
            )

        row, errors = await attempt(run)
        return OrderPayload(order=order_node(ctx.tenant, row) if row else None, errors=errors)

    @strawberry.mutation(description="Confirm receipt: the order completes.")
    async def confirm_receipt(self, info: Info, order_id: strawberry.ID) -> OrderPayload:
        ctx = info.context

        async def run() -> OrderRow:
            member_id = await ctx.member_id()
            return await fulfilment.complete_order(
                ctx.tenant, pk_of(order_id, "Order", "orderId"), member_id
            )

        row, errors = await attempt(run)
        return OrderPayload(order=order_node(ctx.tenant, row) if row else None, errors=errors)

    @strawberry.mutation(description="Ask for a refund of lines (all when none are given).")
    async def request_refund(
        self, info: Info, input: Annotated[RefundRequestInput, strawberry.argument()]
    ) -> RefundPayload:
        ctx = info.context

        async def run() -> RefundRow:
            member_id = await ctx.member_id()
            return await refunds.request_refund(ctx.tenant, member_id, refund_data(input))

        row, errors = await attempt(run)
        return RefundPayload(
            refund=refund_node(ctx.tenant.currency, row) if row else None, errors=errors
        )
