"""Read-only views of core rows for plugins (orders, stores, staff), in batches.

Plugins never import core models; these frozen Structs are what they may read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec

from yutang.core.contract import SkuSummary, TenantInfo
from yutang.core.errors import NotFound
from yutang.core.models import Member, Order, OrderLine, Refund, Sku, Staff, Store, StoreStaff
from yutang.core.sql import Statement, json_value


class LineView(msgspec.Struct, frozen=True):
    """An order line as priced: ``amount`` is what it paid after every discount."""

    id: int
    sku_id: int
    product_id: int
    product_name: str
    quantity: int
    unit_price: int
    amount: int
    points: int
    refunded_quantity: int
    refunded_amount: int
    activity_plugin: str | None
    activity_ref: str | None


class OrderView(msgspec.Struct, frozen=True):
    """An order with its lines, as plugins see it."""

    id: int
    number: str
    member_id: int
    status: str
    currency: str
    total: int
    fees: int
    paid_amount: int
    refunded_amount: int
    fulfilment: str
    extensions: dict[str, Any]
    created_at: datetime
    paid_at: datetime | None
    lines: list[LineView]


class StoreView(msgspec.Struct, frozen=True):
    """A store with the staff who belong to it."""

    id: int
    name: str
    address: str
    staff_ids: list[int]


async def order_views(tenant: TenantInfo, ids: Iterable[int]) -> dict[int, OrderView]:
    """This tenant's orders among ``ids`` (two queries); unknown ids are absent."""
    wanted = set(ids)
    if not wanted:
        return {}
    orders = await Order.filter(tenant_id=tenant.id, id__in=wanted)
    lines: dict[int, list[LineView]] = defaultdict(list)
    for ln in await OrderLine.filter(tenant_id=tenant.id, order_id__in=wanted).order_by("position"):
        lines[ln.order_id].append(
            LineView(
                id=ln.id,
                sku_id=ln.sku_id,
                product_id=ln.product_id,
                product_name=ln.product_name,
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                amount=ln.amount,
                points=ln.points,
                refunded_quantity=ln.refunded_quantity,
                refunded_amount=ln.refunded_amount,
                activity_plugin=ln.activity_plugin,
                activity_ref=ln.activity_ref,
            )
        )
    return {
        o.id: OrderView(
            id=o.id,
            number=o.number,
            member_id=o.member_id,
            status=o.status,
            currency=o.currency,
            total=o.total,
            fees=o.fees,
            paid_amount=o.paid_amount,
            refunded_amount=o.refunded_amount,
            fulfilment=o.fulfilment,
            extensions=o.extensions,
            created_at=o.created_at,
            paid_at=o.paid_at,
            lines=lines[o.id],
        )
        for o in orders
    }


async def order_view(tenant: TenantInfo, order_id: int) -> OrderView:
    """One order of this tenant; NOT_FOUND otherwise."""
    found = (await order_views(tenant, [order_id])).get(order_id)
    if found is None:
        raise NotFound("order", "orderId")
    return found


async def store_views(tenant: TenantInfo, ids: Iterable[int] | None = None) -> list[StoreView]:
    """This tenant's stores (all, or those among ``ids``) with their staff, by id."""
    query = Store.filter(tenant_id=tenant.id)
    if ids is not None:
        query = query.filter(id__in=set(ids))
    stores = await query.order_by("id")
    staff: dict[int, list[int]] = defaultdict(list)
    links = await StoreStaff.filter(
        tenant_id=tenant.id, store_id__in=[s.id for s in stores]
    ).values("store_id", "staff_id")
    for link in links:
        staff[link["store_id"]].append(link["staff_id"])
    return [
        StoreView(id=s.id, name=s.name, address=s.address, staff_ids=sorted(staff[s.id]))
        for s in stores
    ]


async def staff_role(tenant: TenantInfo, staff_id: int) -> str | None:
    """The role (owner, manager, clerk) of an active staff member of this tenant."""
    row = await Staff.get_or_none(tenant_id=tenant.id, id=staff_id, active=True)
    return row.role if row else None


async def sku_summaries(tenant: TenantInfo, ids: Iterable[int]) -> dict[int, SkuSummary]:
    """This tenant's SKUs among ``ids`` by id, in one query; foreign or unknown ids are absent."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await Sku.filter(tenant_id=tenant.id, id__in=wanted).values(
        "id",
        "product_id",
        "product__name",
        "price",
        "stock",
        "product__published",
        "product__category_id",
        "product__category__parent_id",
        "specs",
        "weight_grams",
        "shipping_template_id",
        "product__tags",
        "product__virtual",
    )
    return {
        r["id"]: SkuSummary(
            id=r["id"],
            product_id=r["product_id"],
            product_name=r["product__name"],
            price=r["price"],
            stock=r["stock"],
            published=r["product__published"],
            category_id=r["product__category_id"],
            specs=r["specs"],
            weight_grams=r["weight_grams"],
            shipping_template_id=r["shipping_template_id"],
            tags=r["product__tags"],
            category_parent_id=r["product__category__parent_id"],
            virtual=r["product__virtual"],
        )
        for r in rows
    }


class ProductView(msgspec.Struct, frozen=True):
    """A product as a scope of goods sees it: its category, that category's parent, its tags."""

    id: int
    name: str
    category_id: int | None
    category_parent_id: int | None
    tags: list[str]


async def product_views(
    tenant: TenantInfo,
    *,
    ids: Iterable[int] = (),
    category_ids: Iterable[int] = (),
    tags: Iterable[str] = (),
) -> list[ProductView]:
    """This tenant's products, published or not, that are among ``ids``, sit in one of
    ``category_ids`` or a subcategory of one, or carry one of ``tags``: by id, in one query.

    What a promotion reads to tell whether two scopes of goods share a product.
    """
    wanted, cats, words = sorted(set(ids)), sorted(set(category_ids)), sorted(set(tags))
    q = Statement()
    where = f"p.tenant_id = {q.arg(tenant.id)}"
    any_of: list[str] = []
    if wanted:
        any_of.append(f"p.id {q.any_of(wanted)}")
    if cats:
        any_of.append(f"p.category_id {q.any_of(cats)} OR c.parent_id {q.any_of(cats)}")
    if words and q.postgres:
        any_of.append(f"p.tags ?| {q.arg(words)}::text[]")
    elif words:
        listed = ", ".join(q.arg(w) for w in words)
        any_of.append(f"EXISTS (SELECT 1 FROM json_each(p.tags) WHERE value IN ({listed}))")
    if not any_of:
        return []
    rows = await q.rows(
        "SELECT p.id, p.name, p.category_id, c.parent_id AS category_parent_id, p.tags "
        "FROM product p LEFT JOIN category c ON c.id = p.category_id "
        f"WHERE {where} AND ({' OR '.join(any_of)}) ORDER BY p.id"
    )
    return [
        ProductView(
            id=r["id"],
            name=r["name"],
            category_id=r["category_id"],
            category_parent_id=r["category_parent_id"],
            tags=json_value(r["tags"]),
        )
        for r in rows
    ]


async def member_joined_at(tenant: TenantInfo, member_id: int) -> datetime | None:
    """When this tenant's member registered (for "new members only" rules); None if unknown."""
    row = await Member.get_or_none(tenant_id=tenant.id, id=member_id).only("id", "created_at")
    return row.created_at if row else None


async def orders_with_open_refunds(tenant: TenantInfo, ids: Iterable[int]) -> set[int]:
    """Orders among ``ids`` with a refund request still waiting for staff, in one query
    (pickup and shipping plugins refuse to hand over such an order)."""
    wanted = set(ids)
    if not wanted:
        return set()
    rows = await Refund.filter(tenant_id=tenant.id, order_id__in=wanted, status="open").values(
        "order_id"
    )
    return {r["order_id"] for r in rows}


def mask_name(nickname: str, phone: str) -> str:
    """A member's name as other shoppers may see it: ``张**`` or ``138****0001``."""
    if nickname:
        return nickname[0] + "**"
    return phone[:3] + "****" + phone[-4:] if len(phone) > 7 else "****"


async def masked_member_names(tenant: TenantInfo, ids: Iterable[int]) -> dict[int, str]:
    """Masked names of this tenant's members among ``ids`` (a group-buy team's page), in
    one query; plugins never see phones or full nicknames this way."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await Member.filter(tenant_id=tenant.id, id__in=wanted).values("id", "nickname", "phone")
    return {r["id"]: mask_name(r["nickname"], r["phone"]) for r in rows}
