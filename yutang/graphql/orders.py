"""Order, refund, quote and member types built from core rows; what an order holds
(lines, instalments, parcels, payments, refunds) loads in batches across orders."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import msgspec
import strawberry
from strawberry.dataloader import DataLoader
from tortoise.queryset import QuerySet

from yutang.core.contract import Quote as CoreQuote
from yutang.core.contract import TenantInfo
from yutang.core.instalments import has_plan
from yutang.core.models import Instalment as InstalmentRow
from yutang.core.models import Member as MemberRow
from yutang.core.models import MemberLevel
from yutang.core.models import Order as OrderRow
from yutang.core.models import OrderLine as OrderLineRow
from yutang.core.models import Payment as PaymentRow
from yutang.core.models import Refund as RefundRow
from yutang.core.models import Shipment as ShipmentRow
from yutang.graphql.after_sale import (
    Payment,
    RefundLine,
    RefundRequester,
    RefundStatus,
    payment_node,
    requester_of,
)
from yutang.graphql.context import Context
from yutang.graphql.statuses import InstalmentStatus, OrderStatus
from yutang.graphql.types import (
    ActivityRef,
    Adjustment,
    AdjustmentShare,
    Connection,
    DeliveryAddress,
    Gender,
    Hint,
    Instalment,
    Member,
    Money,
    Node,
    OrderLine,
    PlannedInstalment,
    Quote,
    QuoteLine,
    Shipment,
    ShipmentLine,
    gid,
    keyset_page,
    specs_of,
)


@strawberry.type
class Order(Node):
    number: str
    status: OrderStatus
    subtotal: Money = strawberry.field(
        description="What the shopper's own lines cost at list price (gift lines not included)."
    )
    discount: Money = strawberry.field(
        description="What discounts took off those lines: `subtotal` less their amounts."
    )
    fees: Money
    total: Money
    points_used: int
    paid_amount: Money
    refunded_amount: Money
    fulfilment: str
    payment_deadline: datetime
    created_at: datetime
    paid_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    quote: Quote
    address: DeliveryAddress | None
    pk: strawberry.Private[int]
    tenant_id: strawberry.Private[int]
    in_parts: strawberry.Private[bool]

    @strawberry.field(description="Its instalments, when it is paid in parts (else empty).")
    async def instalments(self, info: strawberry.Info[Context, None]) -> list[Instalment]:
        if not self.in_parts:
            return []
        ctx = info.context
        tenant, cur = ctx.tenant, self.total.currency

        async def load(keys: Sequence[int]) -> list[list[Instalment]]:
            grouped: dict[int, list[Instalment]] = defaultdict(list)
            rows = InstalmentRow.filter(tenant_id=tenant.id, order_id__in=keys)
            for r in await rows.order_by("position"):
                grouped[r.order_id].append(
                    Instalment(
                        position=r.position,
                        label=r.label,
                        amount=Money.of(r.amount, cur),
                        opens_at=r.opens_at,
                        due_at=r.due_at,
                        status=InstalmentStatus(r.status),
                        paid_at=r.paid_at,
                    )
                )
            return [grouped[k] for k in keys]

        result: list[Instalment] = await ctx.loader("order_instalments", load).load(self.pk)
        return result

    @strawberry.field(description="The parcels shipped so far (batched across orders).")
    async def shipments(self, info: strawberry.Info[Context, None]) -> list[Shipment]:
        ctx = info.context
        tenant = ctx.tenant

        async def load(keys: Sequence[int]) -> list[list[Shipment]]:
            grouped: dict[int, list[Shipment]] = defaultdict(list)
            rows = await ShipmentRow.filter(tenant_id=tenant.id, order_id__in=keys).order_by("id")
            for r in rows:
                grouped[r.order_id].append(shipment_node(r))
            return [grouped[k] for k in keys]

        result: list[Shipment] = await ctx.loader("order_shipments", load).load(self.pk)
        return result

    @strawberry.field
    async def lines(self, info: strawberry.Info[Context, None]) -> list[OrderLine]:
        """The order's lines (batched across orders)."""
        ctx = info.context
        tenant = ctx.tenant

        async def load(keys: Sequence[int]) -> list[list[OrderLine]]:
            grouped: dict[int, list[OrderLine]] = defaultdict(list)
            rows = await OrderLineRow.filter(tenant_id=tenant.id, order_id__in=keys).order_by(
                "position"
            )
            for r in rows:
                grouped[r.order_id].append(line_node(tenant, r))
            return [grouped[k] for k in keys]

        result: list[OrderLine] = await ctx.loader("order_lines", load).load(self.pk)
        return result

    @strawberry.field(description="Its payment attempts, oldest first (batched across orders).")
    async def payments(self, info: strawberry.Info[Context, None]) -> list[Payment]:
        ctx = info.context
        tenant = ctx.tenant

        async def load(keys: Sequence[tuple[int, bool]]) -> list[list[Payment]]:
            grouped: dict[int, list[Payment]] = defaultdict(list)
            in_parts = dict(keys)
            rows = PaymentRow.filter(tenant_id=tenant.id, order_id__in=list(in_parts))
            for r in await rows.order_by("id"):
                node = payment_node(r, tenant.currency, in_parts[r.order_id])
                grouped[r.order_id].append(node)
            return [grouped[k] for k, _ in keys]

        loader = ctx.loader("order_payments", load)
        result: list[Payment] = await loader.load((self.pk, self.in_parts))
        return result

    @strawberry.field(
        description="Its refunds and refund requests, oldest first (batched across orders)."
    )
    async def refunds(self, info: strawberry.Info[Context, None]) -> list[Refund]:
        ctx = info.context
        tenant = ctx.tenant

        async def load(keys: Sequence[int]) -> list[list[Refund]]:
            grouped: dict[int, list[Refund]] = defaultdict(list)
            rows = RefundRow.filter(tenant_id=tenant.id, order_id__in=keys)
            for r in await rows.order_by("id"):
                grouped[r.order_id].append(refund_node(tenant.currency, r))
            return [grouped[k] for k in keys]

        orders_by_pk(ctx).prime(self.pk, self)  # each refund's order is this one
        result: list[Refund] = await ctx.loader("order_refunds", load).load(self.pk)
        return result


@strawberry.type(
    description="A refund of an order's lines: a member's request waiting for staff, or "
    "one booked on the lines (approved by staff, made by staff, or by a plugin)."
)
class Refund(Node):
    status: RefundStatus
    amount: Money = strawberry.field(
        description="What goes back: an open request's estimate, what was booked once approved."
    )
    reason: str
    lines: list[RefundLine]
    requested_by: RefundRequester | None = strawberry.field(
        description="Who asked; null for refunds recorded before that was kept."
    )
    created_at: datetime
    decided_at: datetime | None = strawberry.field(
        description="When it was approved or rejected (a direct refund: when it was made)."
    )
    refunded_at: datetime | None = strawberry.field(
        description="When the providers confirmed the money went back."
    )
    pk: strawberry.Private[int]
    order_pk: strawberry.Private[int]

    @strawberry.field(description="The order it refunds (batched across refunds).")
    async def order(self, info: strawberry.Info[Context, None]) -> Order:
        result: Order = await orders_by_pk(info.context).load(self.order_pk)
        return result


def orders_by_pk(ctx: Context) -> DataLoader[int, Order]:
    """The request's loader of this tenant's orders by primary key."""
    tenant = ctx.tenant

    async def load(keys: Sequence[int]) -> list[Order]:
        rows = await OrderRow.filter(tenant_id=tenant.id, id__in=keys)
        by_id = {o.id: order_node(tenant, o) for o in rows}
        return [by_id[k] for k in keys]

    return ctx.loader("orders", load)


def refund_node(currency: str, r: RefundRow) -> Refund:
    """A Refund object."""
    return Refund(
        id=gid("Refund", r.id),
        pk=r.id,
        order_pk=r.order_id,
        status=RefundStatus(r.status),
        amount=Money.of(r.amount, currency),
        reason=r.reason,
        lines=[
            RefundLine(
                line_id=gid("OrderLine", p["line_id"]),
                quantity=p["quantity"],
                amount=Money.of(p["amount"], currency),
                points=p.get("points", 0),
            )
            for p in r.lines
        ],
        requested_by=requester_of(r.requested_by),
        created_at=r.created_at,
        decided_at=r.decided_at,
        refunded_at=r.refunded_at,
    )


def shipment_node(r: ShipmentRow) -> Shipment:
    """A Shipment object."""
    return Shipment(
        id=gid("Shipment", r.id),
        carrier=r.carrier,
        tracking_number=r.tracking_number,
        shipped_at=r.created_at,
        lines=[
            ShipmentLine(line_id=gid("OrderLine", ln["line_id"]), quantity=ln["quantity"])
            for ln in r.lines
        ],
    )


def address_of(value: dict[str, str] | None) -> DeliveryAddress | None:
    """An order's delivery address, if it has one."""
    if value is None:
        return None
    return DeliveryAddress(
        receiver=value["receiver"],
        phone=value["phone"],
        province=value["province"],
        city=value["city"],
        district=value["district"] or None,
        detail=value["detail"],
    )


def line_node(tenant: TenantInfo, r: OrderLineRow) -> OrderLine:
    """An OrderLine object."""
    cur = tenant.currency
    return OrderLine(
        id=gid("OrderLine", r.id),
        pk=r.id,
        sku_id=gid("Sku", r.sku_id),
        product_id=gid("Product", r.product_id),
        product_name=r.product_name,
        image_url=r.image_url or None,
        specs=specs_of(r.specs),
        quantity=r.quantity,
        unit_price=Money.of(r.unit_price, cur),
        amount=Money.of(r.amount, cur),
        points=r.points,
        refunded_quantity=r.refunded_quantity,
        refunded_amount=Money.of(r.refunded_amount, cur),
        shipped_quantity=r.shipped_quantity,
        activity=ActivityRef(plugin=r.activity_plugin, ref=r.activity_ref or "")
        if r.activity_plugin
        else None,
    )


def quote_node(q: CoreQuote) -> Quote:
    """The GraphQL form of a core quote."""
    cur = q.currency
    return Quote(
        lines=[
            QuoteLine(
                index=ln.index,
                sku_id=gid("Sku", ln.sku_id),
                product_id=gid("Product", ln.product_id),
                product_name=ln.product_name,
                specs=specs_of(ln.specs),
                quantity=ln.quantity,
                list_price=Money.of(ln.list_price, cur),
                unit_price=Money.of(ln.unit_price, cur),
                discount=Money.of(ln.discount, cur),
                amount=Money.of(ln.amount, cur),
                points=ln.points,
                activity=ActivityRef(plugin=ln.activity.plugin, ref=ln.activity.ref)
                if ln.activity
                else None,
                gift=ln.gift,
            )
            for ln in q.lines
        ],
        adjustments=[
            Adjustment(
                source=a.source,
                stage=a.stage,
                label=a.label,
                kind=a.kind,
                amount=Money.of(a.amount, cur),
                lines=[
                    AdjustmentShare(line=i, amount=Money.of(v, cur)) for i, v in a.lines.items()
                ],
            )
            for a in q.adjustments
        ],
        hints=[
            Hint(
                source=h.source,
                message=h.message,
                ref=h.ref,
                amount=None if h.amount is None else Money.of(h.amount, cur),
            )
            for h in q.hints
        ],
        subtotal=Money.of(q.subtotal, cur),
        discount=Money.of(q.discount, cur),
        fees=Money.of(q.fees, cur),
        total=Money.of(q.total, cur),
        points_used=q.points_used,
        instalments=[
            PlannedInstalment(
                label=p.label, amount=Money.of(p.amount, cur), opens_at=p.opens_at, due_at=p.due_at
            )
            for p in q.instalments
        ],
        hash=q.hash,
    )


def order_node(tenant: TenantInfo, o: OrderRow) -> Order:
    """An Order object from its row."""
    cur = o.currency
    return Order(
        id=gid("Order", o.id),
        pk=o.id,
        tenant_id=tenant.id,
        in_parts=has_plan(o),
        number=o.number,
        status=OrderStatus(o.status),
        subtotal=Money.of(o.subtotal, cur),
        discount=Money.of(o.discount, cur),
        fees=Money.of(o.fees, cur),
        total=Money.of(o.total, cur),
        points_used=o.points_used,
        paid_amount=Money.of(o.paid_amount, cur),
        refunded_amount=Money.of(o.refunded_amount, cur),
        fulfilment=o.fulfilment,
        payment_deadline=o.payment_deadline,
        created_at=o.created_at,
        paid_at=o.paid_at,
        completed_at=o.completed_at,
        cancelled_at=o.cancelled_at,
        quote=quote_node(msgspec.convert(o.quote, CoreQuote, strict=False)),
        address=address_of(o.address),
    )


async def member_nodes(tenant: TenantInfo, rows: list[MemberRow]) -> list[Member]:
    """Member objects with the level each one's spend reached (one query for levels)."""
    levels = (
        await MemberLevel.filter(tenant_id=tenant.id)
        .order_by("-min_spend")
        .values("name", "min_spend")
    )

    def level(spend: int) -> str | None:
        return next((lv["name"] for lv in levels if lv["min_spend"] <= spend), None)

    return [
        Member(
            id=gid("Member", m.id),
            pk=m.id,
            phone=m.phone,
            nickname=m.nickname,
            avatar_url=m.avatar_url or None,
            birthday=m.birthday,
            gender=Gender(m.gender),
            region=m.region or None,
            tags=list(m.tags),
            points=m.points,
            paid_spend=Money.of(m.paid_spend, tenant.currency),
            level=level(m.paid_spend),
            created_at=m.created_at,
        )
        for m in rows
    ]


async def order_page(
    tenant: TenantInfo, query: QuerySet[OrderRow], first: int, after: str | None
) -> Connection[Order]:
    """One page of orders, newest first, keyset-paginated on the primary key."""
    return await keyset_page(
        query, first, after, lambda rows: [order_node(tenant, o) for o in rows]
    )
