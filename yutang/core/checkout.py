"""Building a checkout from a request and quoting it: reads only, never writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import msgspec

from yutang.core import activities, clock, methods
from yutang.core.addresses import CheckoutAddress
from yutang.core.addresses import resolve as resolve_address
from yutang.core.contract import CheckoutContext, CheckoutLine, LineInput, Quote, TenantInfo
from yutang.core.errors import DomainError
from yutang.core.inputs import validate_extensions
from yutang.core.members import member_info
from yutang.core.models import Sku
from yutang.core.plugins import hooks_of
from yutang.core.pricing import run_pipeline
from yutang.core.shipping import DELIVERY, VIRTUAL, default_template_id

MAX_LINES = 100


class CoreCheckoutInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The core's own checkout input: points the member wants to spend."""

    points: Annotated[int, msgspec.Meta(ge=0)] = 0


class CheckoutInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """What quote and placeOrder receive."""

    lines: Annotated[list[LineInput], msgspec.Meta(min_length=1, max_length=MAX_LINES)]
    use_points: Annotated[int, msgspec.Meta(ge=0)] = 0
    fulfilment: str | None = None
    extensions: dict[str, Any] = msgspec.field(default_factory=dict)
    address: CheckoutAddress | None = None


async def load_checkout(
    tenant: TenantInfo, member_id: int | None, data: CheckoutInput
) -> CheckoutContext:
    """Join the requested lines with SKUs and products of this tenant; validate input.

    Unknown or foreign SKUs, unpublished products, quantities above stock and
    activities of disabled plugins are refused with the line named. The address is
    where a delivery goes; other fulfilment methods ignore it.
    """
    extensions = validate_extensions(tenant, "checkout", data.extensions)
    if data.use_points:
        if member_id is None:
            raise DomainError("UNAUTHENTICATED", "log in to spend points", "usePoints")
        extensions["core"] = CoreCheckoutInput(points=data.use_points)
    if data.fulfilment is not None:  # a method the tenant lacks is refused before any read
        methods.owned(hooks_of(tenant), data.fulfilment)
    ids = {ln.sku_id for ln in data.lines}
    rows = await Sku.filter(tenant_id=tenant.id, id__in=ids).values(
        "id",
        "price",
        "stock",
        "specs",
        "weight_grams",
        "shipping_template_id",
        "product_id",
        "product__name",
        "product__published",
        "product__category_id",
        "product__category__parent_id",
        "product__tags",
        "product__virtual",
    )
    by_id = {r["id"]: r for r in rows}
    fallback = None
    if any(r["shipping_template_id"] is None for r in rows):
        fallback = await default_template_id(tenant)
    lines = []
    wanted: dict[int, int] = {}
    for i, ln in enumerate(data.lines):
        row = by_id.get(ln.sku_id)
        if row is None:
            raise DomainError("NOT_FOUND", "SKU not found", f"lines[{i}].skuId")
        if not row["product__published"]:
            raise DomainError("UNAVAILABLE", "this product is not on sale", f"lines[{i}].skuId")
        wanted[ln.sku_id] = wanted.get(ln.sku_id, 0) + ln.quantity
        if wanted[ln.sku_id] > row["stock"]:
            raise DomainError(
                "INSUFFICIENT_STOCK", f"only {row['stock']} left", f"lines[{i}].quantity"
            )
        lines.append(
            CheckoutLine(
                index=i,
                sku_id=row["id"],
                product_id=row["product_id"],
                product_name=row["product__name"],
                category_id=row["product__category_id"],
                category_parent_id=row["product__category__parent_id"],
                virtual=row["product__virtual"],
                specs=row["specs"],
                quantity=ln.quantity,
                list_price=row["price"],
                stock=row["stock"],
                weight_grams=row["weight_grams"],
                activity=ln.activity,
                shipping_template_id=row["shipping_template_id"] or fallback,
                tags=row["product__tags"],
            )
        )
    name = data.fulfilment or (VIRTUAL if all(c.virtual for c in lines) else DELIVERY)
    method = methods.owned(hooks_of(tenant), name).obj
    for line in lines:
        if line.virtual != method.virtual:
            what = "ships nothing" if line.virtual else "is shipped"
            raise DomainError(
                "WRONG_FULFILMENT",
                f"{line.product_name} {what}: order it with another fulfilment than {name}",
                f"lines[{line.index}].skuId",
            )
    member = await member_info(tenant, member_id) if member_id is not None else None
    destination = None
    if data.address is not None:
        destination = await resolve_address(tenant, member_id, data.address)
    return CheckoutContext(
        tenant=tenant,
        member=member,
        lines=lines,
        extensions=extensions,
        now=clock.now(),
        fulfilment=name,
        destination=destination if method.delivers else None,
    )


@dataclass(frozen=True, slots=True)
class Resolved:
    """A checkout as the core keeps it between pricing and reservation: each activity
    kind's claim, the fulfilment method's choice, the quote and the steps' kept state."""

    checkout: CheckoutContext
    claims: dict[str, Any]
    chosen: methods.Chosen
    quote: Quote
    kept: dict[str, Any]


async def quote(tenant: TenantInfo, member_id: int | None, data: CheckoutInput) -> Quote:
    """Validate and price a checkout; pure for a database state and the clock."""
    return (await quote_checkout(await load_checkout(tenant, member_id, data))).quote


async def quote_checkout(checkout: CheckoutContext) -> Resolved:
    """Resolve the lines' activities and the fulfilment method once, let plugins veto,
    and price (placeOrder runs this in its transaction)."""
    claims = await activities.resolve(checkout)
    chosen = await methods.resolve(checkout)
    await hooks_of(checkout.tenant).call("yutang_validate_checkout", checkout=checkout)
    priced = await run_pipeline(checkout, claims, chosen)
    return Resolved(checkout, claims, chosen, priced.quote, priced.kept)
