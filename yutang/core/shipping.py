"""Shipping fee templates (运费模板) and the shipping fee of a delivery.

A template charges by units or by weight (grams): ``first_fee`` for the first
``first_quantity``, then ``additional_fee`` for each further ``additional_quantity`` or
part of it. Its rules price named regions differently; a region takes the rule whose
code covers it most specifically, the template's own prices when none does, and is not
delivered to when the most specific code covering it is an excluded one (exclude
``540000`` but price ``540100`` to deliver to Lhasa alone in Tibet). ``free_over`` ships
free once the lines of the template pay that much after every discount.

A SKU uses its own template, else the tenant's default template, else ships free.
Several templates in one order combine the way large Chinese marketplaces do, see
:func:`combine`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from yutang.core.contract import CheckoutContext, Draft, FulfilmentMethod, TenantInfo
from yutang.core.errors import DomainError, NotFound
from yutang.core.models import ShippingTemplate, Sku
from yutang.core.regions import RegionCode, most_specific

DELIVERY = "delivery"
VIRTUAL = "virtual"  # the core's method for goods that ship nothing (yutang.core.virtual)
FEE_KIND = "shipping"
Fee = Annotated[int, msgspec.Meta(ge=0, le=10**9)]
Quantity = Annotated[int, msgspec.Meta(ge=0, le=10**7)]
Regions = Annotated[list[RegionCode], msgspec.Meta(max_length=500)]


class Prices(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """The prices of a template or of one of its rules."""

    first_quantity: Annotated[int, msgspec.Meta(ge=1, le=10**7)] = 1
    first_fee: Fee = 0
    additional_quantity: Quantity = 1
    additional_fee: Fee = 0
    free_over: Fee | None = None

    def fee(self, measure: int, *, first: bool) -> int:
        """The fee for ``measure`` units or grams: with the first-unit charge, or (for
        a template that is not the order's leading one) every unit as additional."""
        rest = max(measure - self.first_quantity, 0) if first else measure
        steps = -(-rest // self.additional_quantity) if self.additional_quantity else 0
        return (self.first_fee if first else 0) + steps * self.additional_fee


class Rule(Prices, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """Prices for the regions named (region codes)."""

    regions: Regions = msgspec.field(default_factory=list)


class TemplateInput(Prices, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """A whole template: default prices, rules by region, regions not delivered to."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] = ""
    charge_by: Literal["unit", "weight"] = "unit"
    rules: Annotated[list[Rule], msgspec.Meta(max_length=100)] = msgspec.field(default_factory=list)
    excluded: Regions = msgspec.field(default_factory=list)
    is_default: bool = False


def _check(data: TemplateInput) -> None:
    if not data.name.strip():
        raise DomainError("REQUIRED", "a template needs a name", "input.name")
    seen: dict[str, str] = {}
    places = [(f"input.rules[{i}].regions", r.regions) for i, r in enumerate(data.rules)]
    places.append(("input.excluded", data.excluded))
    for i, rule in enumerate(data.rules):
        if not rule.regions:
            raise DomainError("REQUIRED", "a rule names at least one region", places[i][0])
    for at, codes in places:
        for j, code in enumerate(codes):
            if code in seen:
                raise DomainError("DUPLICATE", f"{code} is already in {seen[code]}", f"{at}[{j}]")
            seen[code] = at


def prices_for(template: ShippingTemplate, region: str) -> Prices | None:
    """The prices for ``region`` under ``template``; None where it does not deliver."""
    rules = [msgspec.convert(r, Rule) for r in template.rules]
    by_code = {code: rule for rule in rules for code in rule.regions}
    code = most_specific(region, [*by_code, *template.excluded])
    if code is None:
        return Prices(
            first_quantity=template.first_quantity,
            first_fee=template.first_fee,
            additional_quantity=template.additional_quantity,
            additional_fee=template.additional_fee,
            free_over=template.free_over,
        )
    return by_code.get(code)


@dataclass(slots=True)
class Group:
    """The lines of one order shipped under one template."""

    template: ShippingTemplate
    prices: Prices
    measure: int
    amount: int


def combine(groups: list[Group]) -> int:
    """The order's shipping fee: groups whose lines reach their ``free_over`` ship free;
    of the rest, the group with the largest first-unit fee (the older template on a
    tie) pays its first-unit fee and its additional units, and every other group pays
    all of its units at its additional rate, without a first-unit fee of its own."""
    paying = [g for g in groups if g.prices.free_over is None or g.amount < g.prices.free_over]
    if not paying:
        return 0
    lead = max(paying, key=lambda g: (g.prices.first_fee, -g.template.id))
    return sum(g.prices.fee(g.measure, first=g is lead) for g in paying)


async def default_template_id(tenant: TenantInfo) -> int | None:
    """The tenant's default template, used by SKUs without one of their own."""
    found = await ShippingTemplate.filter(tenant_id=tenant.id, is_default=True).values("id")
    return int(found[0]["id"]) if found else None


class Delivery(FulfilmentMethod[None]):
    """The core's fulfilment method: shipped to the shopper's address, at the fee of the
    lines' shipping templates."""

    name = DELIVERY
    label = "快递配送"
    delivers = True

    async def resolve(self, checkout: CheckoutContext) -> None:
        """Delivery takes no input of its own (the address is the core's)."""
        return

    def needs_address(self, checkout: CheckoutContext, choice: None) -> bool:
        """Whether the fee depends on where it goes (some line has a template)."""
        return any(ln.shipping_template_id is not None and not ln.virtual for ln in checkout.lines)

    async def fee(self, draft: Draft, choice: None) -> None:
        """The shipping fee."""
        await shipping_fee(draft)


async def shipping_fee(draft: Draft) -> None:
    """Stage FEES: charge shipping on a delivery.

    Lines carry the template they ship under (their SKU's, else the default); a line
    without one (a gift added by a promotion) ships under the default. Without a
    destination the fee is not known yet: the quote says so in a hint and placeOrder
    asks for an address.
    """
    checkout = draft.checkout
    ids = {ln.line.shipping_template_id for ln in draft.lines} - {None}
    if not ids:
        return
    if checkout.destination is None:
        draft.hint("选择收货地址后计算运费")
        return
    found = await ShippingTemplate.filter(
        Q(id__in=ids) | Q(is_default=True), tenant_id=checkout.tenant.id
    )
    by_id = {t.id: t for t in found}
    default = next((t for t in found if t.is_default), None)
    region = checkout.destination.region
    groups: dict[int, Group] = {}
    for ln in draft.lines:
        if ln.line.virtual:  # a promotion's virtual gift ships nothing
            continue
        tid = ln.line.shipping_template_id
        template = by_id.get(tid) if tid is not None else default
        if template is None:
            continue
        group = groups.get(template.id)
        if group is None:
            prices = prices_for(template, region)
            if prices is None:
                raise DomainError(
                    "NOT_DELIVERABLE",
                    f"{ln.line.product_name} is not delivered to this address",
                    f"lines[{ln.index}]",
                )
            group = groups[template.id] = Group(template, prices, 0, 0)
        by_weight = template.charge_by == "weight"
        group.measure += ln.line.quantity * (ln.line.weight_grams if by_weight else 1)
        group.amount += ln.amount
    draft.add_fee(FEE_KIND, combine(list(groups.values())), "运费")


async def save_template(
    tenant: TenantInfo, data: TemplateInput, template_id: int | None = None
) -> ShippingTemplate:
    """Create or replace a template; a default one takes over from the previous default."""
    _check(data)
    fields: dict[str, Any] = {
        "name": data.name.strip(),
        "charge_by": data.charge_by,
        "first_quantity": data.first_quantity,
        "first_fee": data.first_fee,
        "additional_quantity": data.additional_quantity,
        "additional_fee": data.additional_fee,
        "free_over": data.free_over,
        "rules": [msgspec.to_builtins(r) for r in data.rules],
        "excluded": list(data.excluded),
        "is_default": data.is_default,
    }
    async with in_transaction():
        if template_id is None:
            row = await ShippingTemplate.create(tenant_id=tenant.id, **fields)
        else:
            found = await ShippingTemplate.get_or_none(tenant_id=tenant.id, id=template_id)
            if found is None:
                raise NotFound("shipping template", "id")
            row = found
            await ShippingTemplate.filter(id=row.id).update(**fields)
            row = await ShippingTemplate.get(id=row.id)
        if data.is_default:
            await (
                ShippingTemplate.filter(tenant_id=tenant.id, is_default=True)
                .exclude(id=row.id)
                .update(is_default=False)
            )
    return row


async def delete_template(tenant: TenantInfo, template_id: int) -> None:
    """Delete a template; its SKUs fall back to the default template."""
    if not await ShippingTemplate.filter(tenant_id=tenant.id, id=template_id).delete():
        raise NotFound("shipping template", "id")


async def assign_template(
    tenant: TenantInfo, sku_ids: list[int], template_id: int | None
) -> list[int]:
    """Make SKUs use a template (None: the default); every SKU must be this tenant's."""
    async with in_transaction():
        if template_id is not None and not await ShippingTemplate.exists(
            tenant_id=tenant.id, id=template_id
        ):
            raise NotFound("shipping template", "templateId")
        rows = await Sku.filter(tenant_id=tenant.id, id__in=sku_ids).values("id")
        known = {r["id"] for r in rows}
        for i, sku_id in enumerate(sku_ids):
            if sku_id not in known:
                raise NotFound("SKU", f"skuIds[{i}]")
        await Sku.filter(tenant_id=tenant.id, id__in=sku_ids).update(
            shipping_template_id=template_id
        )
    return sku_ids
