"""``node(id:)``: the registry of types it resolves, and the core's own storefront types.

Each resolver applies the scope of the type's direct field: the tenant always, the
caller's own rows for a member's things (orders and what they hold, addresses, the cart),
published products only. Plugins register theirs through ``GraphQLContribution.nodes``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import strawberry
from strawberry.types.base import get_object_definition

from yutang.core.contract import NodeType
from yutang.core.errors import ConfigError
from yutang.core.instalments import has_plan
from yutang.core.models import Address as AddressRow
from yutang.core.models import Cart as CartRow
from yutang.core.models import Member as MemberRow
from yutang.core.models import Order as OrderRow
from yutang.core.models import OrderLine as OrderLineRow
from yutang.core.models import Payment as PaymentRow
from yutang.core.models import Refund as RefundRow
from yutang.core.models import Shipment as ShipmentRow
from yutang.core.models import Sku as SkuRow
from yutang.graphql import catalog
from yutang.graphql.after_sale import Payment, payment_node
from yutang.graphql.cart import Address, Cart, CartLine, address_node, cart_node
from yutang.graphql.context import Context
from yutang.graphql.ids import from_global
from yutang.graphql.orders import (
    Order,
    Refund,
    line_node,
    member_nodes,
    order_node,
    refund_node,
    shipment_node,
)
from yutang.graphql.types import Category, Member, Node, OrderLine, Product, Shipment, Sku, gid

Info = strawberry.Info[Context, None]


class NodeRegistry:
    """The node types of one schema, by global ID tag and by GraphQL type name."""

    def __init__(self, registered: Iterable[tuple[str, NodeType]]) -> None:
        by_tag: dict[str, NodeType] = {}
        by_type: dict[str, NodeType] = {}
        owners: dict[str, str] = {}
        for owner, node in registered:
            definition = get_object_definition(node.type, strict=True)
            if not issubclass(node.type, Node):
                raise ConfigError(
                    f"plugin {owner!r}: node type {definition.name} must implement Node"
                )
            tag = node.tag or definition.name
            if tag in owners or definition.name in by_type:
                raise ConfigError(
                    f"plugin {owner!r} registers node {definition.name} ({tag}), "
                    f"already registered by {owners.get(tag, 'another plugin')!r}"
                )
            owners[tag] = owner
            by_tag[tag] = by_type[definition.name] = node
        self.by_tag: Mapping[str, NodeType] = MappingProxyType(by_tag)
        self.by_type: Mapping[str, NodeType] = MappingProxyType(by_type)

    @property
    def types(self) -> list[type]:
        """The registered strawberry types, for the schema's ``types``."""
        return [n.type for n in self.by_type.values()]


async def resolve(info: Info, id: str) -> Any:
    """The object of a global ID the caller may see, or None."""
    tag, pk = from_global(id)
    registry: NodeRegistry | None = getattr(info.schema, "nodes", None)
    node = registry.by_tag.get(tag) if registry is not None else None
    return None if node is None else await node.resolve(info, pk)


async def _product(info: Info, pk: int) -> Product | None:
    return await catalog.one_product(info.context.tenant, pk, published_only=True)


async def _sku(info: Info, pk: int) -> Sku | None:
    tenant = info.context.tenant
    row = await SkuRow.get_or_none(tenant_id=tenant.id, id=pk)
    product = (
        await catalog.one_product(tenant, row.product_id, published_only=True) if row else None
    )
    return next((s for s in product.skus if s.pk == pk), None) if product else None


async def _category(info: Info, pk: int) -> Category | None:
    return next((c for c in await catalog.categories(info.context.tenant) if c.pk == pk), None)


async def _my_order(info: Info, pk: int) -> OrderRow | None:
    ctx = info.context
    member_id = await ctx.optional_member_id()
    if member_id is None:
        return None
    return await OrderRow.get_or_none(tenant_id=ctx.tenant.id, id=pk, member_id=member_id)


async def _order(info: Info, pk: int) -> Order | None:
    row = await _my_order(info, pk)
    return order_node(info.context.tenant, row) if row else None


async def _order_line(info: Info, pk: int) -> OrderLine | None:
    tenant = info.context.tenant
    row = await OrderLineRow.get_or_none(tenant_id=tenant.id, id=pk)
    return line_node(tenant, row) if row and await _my_order(info, row.order_id) else None


async def _payment(info: Info, pk: int) -> Payment | None:
    tenant = info.context.tenant
    row = await PaymentRow.get_or_none(tenant_id=tenant.id, id=pk)
    order = await _my_order(info, row.order_id) if row else None
    return payment_node(row, tenant.currency, has_plan(order)) if row and order else None


async def _shipment(info: Info, pk: int) -> Shipment | None:
    row = await ShipmentRow.get_or_none(tenant_id=info.context.tenant.id, id=pk)
    return shipment_node(row) if row and await _my_order(info, row.order_id) else None


async def _refund(info: Info, pk: int) -> Refund | None:
    tenant = info.context.tenant
    row = await RefundRow.get_or_none(tenant_id=tenant.id, id=pk)
    return (
        refund_node(tenant.currency, row) if row and await _my_order(info, row.order_id) else None
    )


async def _member(info: Info, pk: int) -> Member | None:
    ctx = info.context
    if await ctx.optional_member_id() != pk:
        return None
    row = await MemberRow.get(tenant_id=ctx.tenant.id, id=pk)
    return (await member_nodes(ctx.tenant, [row]))[0]


async def _address(info: Info, pk: int) -> Address | None:
    ctx = info.context
    member_id = await ctx.optional_member_id()
    row = (
        await AddressRow.get_or_none(tenant_id=ctx.tenant.id, id=pk, member_id=member_id)
        if member_id is not None
        else None
    )
    return address_node(row) if row else None


async def _my_cart(info: Info) -> Cart | None:
    """The member's own cart; a visitor's cart is reached with its token (``cart``)."""
    ctx = info.context
    member_id = await ctx.optional_member_id()
    row = (
        await CartRow.get_or_none(tenant_id=ctx.tenant.id, member_id=member_id)
        if member_id
        else None
    )
    return await cart_node(ctx.tenant, row) if row else None


async def _cart(info: Info, pk: int) -> Cart | None:
    cart = await _my_cart(info)
    return cart if cart is not None and cart.row.id == pk else None


async def _cart_line(info: Info, pk: int) -> CartLine | None:
    cart = await _my_cart(info)
    wanted = gid("CartLine", pk)
    return next((ln for ln in cart.lines if ln.id == wanted), None) if cart else None


CORE_NODES = (
    NodeType(Product, _product),
    NodeType(Sku, _sku),
    NodeType(Category, _category),
    NodeType(Order, _order),
    NodeType(OrderLine, _order_line),
    NodeType(Payment, _payment),
    NodeType(Shipment, _shipment),
    NodeType(Refund, _refund),
    NodeType(Member, _member),
    NodeType(Address, _address),
    NodeType(Cart, _cart),
    NodeType(CartLine, _cart_line),
)
"""The core's storefront types with an ``id``, each with its caller's scope."""
