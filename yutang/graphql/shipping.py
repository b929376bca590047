"""Admin: shipping fee templates, which SKUs use them, and shipping order lines."""

from __future__ import annotations

from typing import Any

import strawberry

from yutang.core import shipments
from yutang.core import shipping as core_shipping
from yutang.core.inputs import convert
from yutang.core.models import ShippingTemplate as TemplateRow
from yutang.graphql.context import Context
from yutang.graphql.ids import pk_of
from yutang.graphql.orders import Order, order_node, shipment_node
from yutang.graphql.payloads import attempt
from yutang.graphql.permissions import admin_field, admin_mutation, reach_order
from yutang.graphql.scalars import MinorUnits
from yutang.graphql.types import Node, Shipment, UserError, gid

Info = strawberry.Info[Context, None]


@strawberry.type
class ShippingRule:
    regions: list[str]
    first_quantity: int
    first_fee: MinorUnits
    additional_quantity: int
    additional_fee: MinorUnits
    free_over: MinorUnits | None


@strawberry.type(
    description="A shipping fee template (运费模板): `firstFee` for the first `firstQuantity` "
    "units (grams when `chargeBy` is weight), `additionalFee` per further "
    "`additionalQuantity`; free from `freeOver` (what its lines pay after discounts). "
    "`rules` price regions (6-digit codes, the most specific wins); `excluded` regions are "
    "not delivered to. SKUs without a template use the default one."
)
class ShippingTemplate(Node):
    name: str
    charge_by: str
    first_quantity: int
    first_fee: MinorUnits
    additional_quantity: int
    additional_fee: MinorUnits
    free_over: MinorUnits | None
    rules: list[ShippingRule]
    excluded: list[str]
    is_default: bool


@strawberry.input
class ShippingRuleInput:
    regions: list[str]
    first_quantity: int = 1
    first_fee: int = 0
    additional_quantity: int = 1
    additional_fee: int = 0
    free_over: int | None = None


@strawberry.input
class ShippingTemplateInput:
    name: str
    charge_by: str = "unit"
    first_quantity: int = 1
    first_fee: int = 0
    additional_quantity: int = 1
    additional_fee: int = 0
    free_over: int | None = None
    rules: list[ShippingRuleInput] | None = None
    excluded: list[str] | None = None
    is_default: bool = False


@strawberry.input
class ShipLineInput:
    line_id: strawberry.ID
    quantity: int


@strawberry.input(
    description="A parcel: its carrier, tracking number and lines (all left if none)."
)
class ShipInput:
    order_id: strawberry.ID
    carrier: str
    tracking_number: str
    lines: list[ShipLineInput] | None = None


@strawberry.type
class ShippingTemplatePayload:
    template: ShippingTemplate | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SkuTemplatePayload:
    sku_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeletedPayload:
    deleted: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ShipmentPayload:
    order: Order | None = None
    shipment: Shipment | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _rule(r: dict[str, Any]) -> ShippingRule:
    return ShippingRule(
        regions=list(r["regions"]),
        first_quantity=r["firstQuantity"],
        first_fee=MinorUnits(r["firstFee"]),
        additional_quantity=r["additionalQuantity"],
        additional_fee=MinorUnits(r["additionalFee"]),
        free_over=None if r.get("freeOver") is None else MinorUnits(r["freeOver"]),
    )


def template_node(t: TemplateRow) -> ShippingTemplate:
    """A ShippingTemplate object."""
    return ShippingTemplate(
        id=gid("ShippingTemplate", t.id),
        name=t.name,
        charge_by=t.charge_by,
        first_quantity=t.first_quantity,
        first_fee=MinorUnits(t.first_fee),
        additional_quantity=t.additional_quantity,
        additional_fee=MinorUnits(t.additional_fee),
        free_over=None if t.free_over is None else MinorUnits(t.free_over),
        rules=[_rule(r) for r in t.rules],
        excluded=list(t.excluded),
        is_default=t.is_default,
    )


def _prices(inp: ShippingTemplateInput | ShippingRuleInput) -> dict[str, Any]:
    return {
        "firstQuantity": inp.first_quantity,
        "firstFee": inp.first_fee,
        "additionalQuantity": inp.additional_quantity,
        "additionalFee": inp.additional_fee,
        "freeOver": inp.free_over,
    }


@strawberry.type
class ShippingQuery:
    @admin_field("core.catalog.view", description="The tenant's shipping fee templates.")
    async def shipping_templates(self, info: Info) -> list[ShippingTemplate]:
        ctx = info.context
        rows = await TemplateRow.filter(tenant_id=ctx.tenant.id).order_by("id")
        return [template_node(r) for r in rows]


@strawberry.type
class ShippingMutation:
    @admin_mutation(
        "core.catalog.manage", description="Create a shipping template (with `id`: replace it)."
    )
    async def save_shipping_template(
        self, info: Info, input: ShippingTemplateInput, id: strawberry.ID | None = None
    ) -> ShippingTemplatePayload:
        ctx = info.context

        async def run() -> ShippingTemplatePayload:
            raw = {
                **_prices(input),
                "name": input.name,
                "chargeBy": input.charge_by,
                "rules": [{"regions": r.regions, **_prices(r)} for r in input.rules or []],
                "excluded": input.excluded or [],
                "isDefault": input.is_default,
            }
            data = convert(raw, core_shipping.TemplateInput, "input")
            pk = pk_of(id, "ShippingTemplate") if id is not None else None
            row = await core_shipping.save_template(ctx.tenant, data, pk)
            return ShippingTemplatePayload(template=template_node(row))

        result, errors = await attempt(run)
        return result or ShippingTemplatePayload(errors=errors)

    @admin_mutation(
        "core.catalog.manage", description="Delete a template; its SKUs use the default one."
    )
    async def delete_shipping_template(self, info: Info, id: strawberry.ID) -> DeletedPayload:
        ctx = info.context

        async def run() -> DeletedPayload:
            await core_shipping.delete_template(ctx.tenant, pk_of(id, "ShippingTemplate"))
            return DeletedPayload(deleted=True)

        result, errors = await attempt(run)
        return result or DeletedPayload(errors=errors)

    @admin_mutation(
        "core.catalog.manage", description="Make SKUs use a template (none: the default template)."
    )
    async def set_sku_shipping_template(
        self, info: Info, sku_ids: list[strawberry.ID], template_id: strawberry.ID | None = None
    ) -> SkuTemplatePayload:
        ctx = info.context

        async def run() -> SkuTemplatePayload:
            ids = [pk_of(v, "Sku", f"skuIds[{i}]") for i, v in enumerate(sku_ids)]
            template = pk_of(template_id, "ShippingTemplate", "templateId") if template_id else None
            await core_shipping.assign_template(ctx.tenant, ids, template)
            return SkuTemplatePayload(sku_ids=list(sku_ids))

        result, errors = await attempt(run)
        return result or SkuTemplatePayload(errors=errors)

    @admin_mutation(
        "core.orders.ship",
        description="Ship lines of a paid delivery order with a carrier and tracking number; "
        "partial shipments are fine, the last one fulfils the order. A parcel sent again (same "
        "carrier and tracking number) is answered as recorded, not shipped twice.",
    )
    async def ship_order_lines(self, info: Info, input: ShipInput) -> ShipmentPayload:
        ctx = info.context

        async def run() -> ShipmentPayload:
            order_pk = pk_of(input.order_id, "Order", "orderId")
            await reach_order(ctx, "core.orders.ship", order_pk)
            raw = {
                "orderId": order_pk,
                "carrier": input.carrier,
                "trackingNumber": input.tracking_number,
                "lines": [
                    {
                        "lineId": pk_of(ln.line_id, "OrderLine", f"lines[{i}].lineId"),
                        "quantity": ln.quantity,
                    }
                    for i, ln in enumerate(input.lines or [])
                ],
            }
            order, shipment = await shipments.ship_lines(
                ctx.tenant, convert(raw, shipments.ShipInput)
            )
            return ShipmentPayload(
                order=order_node(ctx.tenant, order), shipment=shipment_node(shipment)
            )

        result, errors = await attempt(run)
        return result or ShipmentPayload(errors=errors)
