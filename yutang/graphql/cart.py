"""Storefront carts and address books: a member's cart follows them across devices, a
visitor's cart is found by the token its first ``addToCart`` returned."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON

from yutang.core import addresses
from yutang.core import cart as carts
from yutang.core.catalog_reads import first_images
from yutang.core.contract import TenantInfo
from yutang.core.inputs import convert
from yutang.core.models import Address as AddressRow
from yutang.core.models import Cart as CartRow
from yutang.core.models import CartLine as CartLineRow
from yutang.core.models import Sku as SkuRow
from yutang.graphql.context import Context
from yutang.graphql.ids import pk_of
from yutang.graphql.inputs import ActivityRefInput, CheckoutAddressInput, address_dict
from yutang.graphql.orders import quote_node
from yutang.graphql.payloads import attempt
from yutang.graphql.types import (
    ActivityRef,
    Money,
    Node,
    Quote,
    SpecOption,
    UserError,
    gid,
    specs_of,
)

Info = strawberry.Info[Context, None]


@strawberry.type(description="An entry of the member's address book (6-digit region codes).")
class Address(Node):
    receiver: str
    phone: str
    province: str
    city: str
    district: str | None
    detail: str
    is_default: bool


@strawberry.type(
    description="A line of the cart. `available` is false when its SKU is gone or no "
    "longer on sale; the cart's quote says why a selected line cannot be bought."
)
class CartLine(Node):
    sku_id: strawberry.ID
    product_id: strawberry.ID | None
    product_name: str
    image_url: str | None = strawberry.field(
        description="The product's first image (null: it has none, or the SKU is gone)."
    )
    specs: list[SpecOption]
    price: Money | None
    stock: int
    available: bool
    quantity: int
    selected: bool
    activity: ActivityRef | None
    extensions: JSON


@strawberry.type
class CartWarning:
    line_id: strawberry.ID
    code: str
    message: str


@strawberry.type(
    description="The quote of the selected lines that can be bought; `lineIds[i]` is the "
    "cart line of quote line `i`. Lines left out are in `warnings`."
)
class CartQuote:
    quote: Quote | None
    line_ids: list[strawberry.ID]
    warnings: list[CartWarning]
    errors: list[UserError]


@strawberry.input(description="How the cart's selected lines would be checked out.")
class CartQuoteInput:
    address: CheckoutAddressInput | None = None
    use_points: int = 0
    fulfilment: str | None = strawberry.field(
        default=None,
        description="How the order reaches the member: `delivery`, `virtual` (goods that ship "
        "nothing) or a plugin's method (`pickup`); by default `virtual` when every product "
        "is virtual, else `delivery`.",
    )
    extensions: JSON | None = None  # typed per schema, see yutang.graphql.plugin_inputs


@strawberry.type
class Cart(Node):
    lines: list[CartLine]
    row: strawberry.Private[CartRow]

    @strawberry.field(description="Price the selected lines; reads only.")
    async def quote(self, info: Info, input: CartQuoteInput | None = None) -> CartQuote:
        ctx = info.context
        raw: dict[str, Any] = {}
        if input is not None:
            raw = {
                "usePoints": input.use_points,
                "fulfilment": input.fulfilment,
                "extensions": input.extensions or {},
            }
            if input.address is not None:
                raw["address"] = address_dict(input.address)

        async def run() -> carts.CartQuote:
            data = convert(raw, carts.CartQuoteInput)
            return await carts.quote_cart(ctx.tenant, self.row.member_id, self.row, data)

        result, errors = await attempt(run)
        if result is None:
            return CartQuote(quote=None, line_ids=[], warnings=[], errors=errors)
        return CartQuote(
            quote=quote_node(result.quote) if result.quote else None,
            line_ids=[gid("CartLine", i) for i in result.line_ids],
            warnings=[
                CartWarning(line_id=gid("CartLine", w.line_id), code=w.code, message=w.message)
                for w in result.warnings
            ],
            errors=[UserError.of(e) for e in result.errors],
        )


@strawberry.type
class CartPayload:
    cart: Cart | None = None
    cart_token: str | None = strawberry.field(
        default=None,
        description="A visitor's cart token: keep it and send it back (and to login).",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AddressPayload:
    address: Address | None = None
    deleted: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class AddToCartInput:
    sku_id: strawberry.ID
    quantity: int
    activity: ActivityRefInput | None = None
    extensions: JSON | None = None  # typed per schema, see yutang.graphql.plugin_inputs


@strawberry.input
class AddressInput:
    receiver: str
    phone: str
    province: str
    city: str
    detail: str
    district: str | None = None
    is_default: bool = False


def address_node(row: AddressRow) -> Address:
    """An Address object."""
    return Address(
        id=gid("Address", row.id),
        receiver=row.receiver,
        phone=row.phone,
        province=row.province,
        city=row.city,
        district=row.district or None,
        detail=row.detail,
        is_default=row.is_default,
    )


async def cart_node(tenant: TenantInfo, row: CartRow) -> Cart:
    """A cart with its lines, their SKUs and their products' first images (three
    queries)."""
    lines = await carts.lines(tenant, row)
    skus = {
        s["id"]: s
        for s in await SkuRow.filter(
            tenant_id=tenant.id, id__in={ln.sku_id for ln in lines}
        ).values(
            "id", "price", "stock", "specs", "product_id", "product__name", "product__published"
        )
    }
    images = await first_images(tenant.id, {s["product_id"] for s in skus.values()})
    return Cart(
        id=gid("Cart", row.id),
        row=row,
        lines=[_line_node(tenant, ln, skus.get(ln.sku_id), images) for ln in lines],
    )


def _line_node(
    tenant: TenantInfo, ln: CartLineRow, sku: dict[str, Any] | None, images: dict[int, str]
) -> CartLine:
    return CartLine(
        id=gid("CartLine", ln.id),
        sku_id=gid("Sku", ln.sku_id),
        product_id=gid("Product", sku["product_id"]) if sku else None,
        product_name=sku["product__name"] if sku else "",
        image_url=images.get(sku["product_id"]) if sku else None,
        specs=specs_of(sku["specs"]) if sku else [],
        price=Money.of(sku["price"], tenant.currency) if sku else None,
        stock=sku["stock"] if sku else 0,
        available=bool(sku and sku["product__published"]),
        quantity=ln.quantity,
        selected=ln.selected,
        activity=ActivityRef(plugin=ln.activity_plugin, ref=ln.activity_ref)
        if ln.activity_plugin
        else None,
        extensions=JSON(ln.extensions),
    )


async def _payload(ctx: Context, row: CartRow, token: str | None) -> CartPayload:
    return CartPayload(
        cart=await cart_node(ctx.tenant, row), cart_token=None if row.member_id else token
    )


def _line_ids(ids: list[strawberry.ID], field: str) -> list[int]:
    return [pk_of(v, "CartLine", f"{field}[{i}]") for i, v in enumerate(ids)]


@strawberry.type
class CartQuery:
    @strawberry.field(
        description="The member's cart (across devices), or a visitor's by its token; "
        "null while there is none."
    )
    async def cart(self, info: Info, cart_token: str | None = None) -> Cart | None:
        ctx = info.context
        ctx.no_store()
        member_id = await ctx.optional_member_id()
        row = await carts.find_cart(ctx.tenant, member_id, cart_token)
        return await cart_node(ctx.tenant, row) if row else None

    @strawberry.field(description="The member's address book, the default first.")
    async def my_addresses(self, info: Info) -> list[Address]:
        ctx = info.context
        rows = await addresses.addresses(ctx.tenant, await ctx.member_id())
        return [address_node(r) for r in rows]


@strawberry.type
class CartMutation:
    @strawberry.mutation(
        description="Put a SKU in the cart; the same SKU and activity add to one line. A "
        "visitor's first line opens a cart: keep the returned `cartToken`."
    )
    async def add_to_cart(
        self, info: Info, input: AddToCartInput, cart_token: str | None = None
    ) -> CartPayload:
        ctx = info.context

        async def run() -> CartPayload:
            member_id = await ctx.optional_member_id()
            raw: dict[str, Any] = {
                "skuId": pk_of(input.sku_id, "Sku", "skuId"),
                "quantity": input.quantity,
                "extensions": input.extensions or {},
            }
            if input.activity is not None:
                raw["activity"] = {"plugin": input.activity.plugin, "ref": input.activity.ref}
            data = convert(raw, carts.CartLineInput)
            row, new_token = await carts.add_line(ctx.tenant, member_id, cart_token, data)
            return await _payload(ctx, row, new_token or cart_token)

        result, errors = await attempt(run)
        return result or CartPayload(errors=errors)

    @strawberry.mutation(description="Change a cart line's quantity or selection.")
    async def update_cart_line(
        self,
        info: Info,
        line_id: strawberry.ID,
        quantity: int | None = None,
        selected: bool | None = None,
        cart_token: str | None = None,
    ) -> CartPayload:
        ctx = info.context

        async def run() -> CartPayload:
            member_id = await ctx.optional_member_id()
            row = await carts.update_line(
                ctx.tenant,
                member_id,
                cart_token,
                pk_of(line_id, "CartLine", "lineId"),
                quantity,
                selected,
            )
            return await _payload(ctx, row, cart_token)

        result, errors = await attempt(run)
        return result or CartPayload(errors=errors)

    @strawberry.mutation
    async def remove_cart_lines(
        self, info: Info, line_ids: list[strawberry.ID], cart_token: str | None = None
    ) -> CartPayload:
        ctx = info.context

        async def run() -> CartPayload:
            member_id = await ctx.optional_member_id()
            ids = _line_ids(line_ids, "lineIds")
            row = await carts.remove_lines(ctx.tenant, member_id, cart_token, ids)
            return await _payload(ctx, row, cart_token)

        result, errors = await attempt(run)
        return result or CartPayload(errors=errors)

    @strawberry.mutation(description="Select lines for checkout (every line when none given).")
    async def select_cart_lines(
        self,
        info: Info,
        selected: bool,
        line_ids: list[strawberry.ID] | None = None,
        cart_token: str | None = None,
    ) -> CartPayload:
        ctx = info.context

        async def run() -> CartPayload:
            member_id = await ctx.optional_member_id()
            ids = None if line_ids is None else _line_ids(line_ids, "lineIds")
            row = await carts.select_lines(ctx.tenant, member_id, cart_token, ids, selected)
            return await _payload(ctx, row, cart_token)

        result, errors = await attempt(run)
        return result or CartPayload(errors=errors)

    @strawberry.mutation(description="Add an address (with `id`: change it).")
    async def save_address(
        self, info: Info, input: AddressInput, id: strawberry.ID | None = None
    ) -> AddressPayload:
        ctx = info.context

        async def run() -> AddressPayload:
            member_id = await ctx.member_id()
            raw = {
                "receiver": input.receiver,
                "phone": input.phone,
                "province": input.province,
                "city": input.city,
                "detail": input.detail,
                "district": input.district or None,
                "isDefault": input.is_default,
            }
            data = convert(raw, addresses.AddressInput, "input")
            pk = pk_of(id, "Address") if id is not None else None
            row = await addresses.save_address(ctx.tenant, member_id, data, pk)
            return AddressPayload(address=address_node(row))

        result, errors = await attempt(run)
        return result or AddressPayload(errors=errors)

    @strawberry.mutation
    async def delete_address(self, info: Info, id: strawberry.ID) -> AddressPayload:
        ctx = info.context

        async def run() -> AddressPayload:
            member_id = await ctx.member_id()
            await addresses.delete_address(ctx.tenant, member_id, pk_of(id, "Address"))
            return AddressPayload(deleted=True)

        result, errors = await attempt(run)
        return result or AddressPayload(errors=errors)
