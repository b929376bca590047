"""Delivery: staff ship order lines with a carrier and tracking number, partly or all.

Shipments are recorded under a lock on the order, so they never ship more than was
bought and not refunded. A parcel is known by its carrier and tracking number: sent again
(a retried request), it is answered as recorded, not shipped twice. Once every unit is
shipped the order is fulfilled, and receipt is confirmed by the member or, after the
tenant's ``auto_complete_days``, by a job.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from yutang.core.contract import TenantInfo
from yutang.core.errors import DomainError, NotFound
from yutang.core.fulfilment import check_holds, mark_fulfilled
from yutang.core.models import Order, OrderLine, Shipment
from yutang.core.shipping import DELIVERY

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class ShipLineInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """A line of the order and how many of its units go in this parcel."""

    line_id: int
    quantity: Annotated[int, msgspec.Meta(ge=1)]


class ShipInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """A parcel: the carrier, its tracking number and the lines in it (empty: all left)."""

    order_id: int
    carrier: Text
    tracking_number: Text
    lines: Annotated[list[ShipLineInput], msgspec.Meta(max_length=100)] = msgspec.field(
        default_factory=list
    )


def left_to_ship(line: OrderLine) -> int:
    """Units of a line neither shipped nor refunded (never below 0: shipped units can be
    refunded too)."""
    return max(line.quantity - line.refunded_quantity - line.shipped_quantity, 0)


def _plan(lines: list[OrderLine], wanted: list[ShipLineInput]) -> dict[int, int]:
    by_id = {ln.id: ln for ln in lines}
    if not wanted:
        plan = {ln.id: left_to_ship(ln) for ln in lines if left_to_ship(ln) > 0}
        if not plan:
            raise DomainError("NOTHING_TO_SHIP", "every line is shipped or refunded", "lines")
        return plan
    plan = {}
    for i, w in enumerate(wanted):
        line = by_id.get(w.line_id)
        if line is None:
            raise DomainError("NOT_FOUND", "no such line in this order", f"lines[{i}].lineId")
        if w.line_id in plan:
            raise DomainError("DUPLICATE", "each line at most once", f"lines[{i}].lineId")
        if w.quantity > left_to_ship(line):
            raise DomainError(
                "INVALID", f"only {left_to_ship(line)} left to ship", f"lines[{i}].quantity"
            )
        plan[w.line_id] = w.quantity
    return plan


def _replayed(recorded: Shipment, data: ShipInput) -> Shipment:
    """The parcel as recorded, when the request asks for the same lines (or for whatever
    was left, as it did the first time)."""
    asked = {w.line_id: w.quantity for w in data.lines}
    if asked and asked != {ln["line_id"]: ln["quantity"] for ln in recorded.lines}:
        raise DomainError(
            "DUPLICATE_TRACKING",
            "this tracking number is already on a parcel of this order with other lines",
            "trackingNumber",
        )
    return recorded


async def ship_lines(tenant: TenantInfo, data: ShipInput) -> tuple[Order, Shipment]:
    """Record a parcel of a paid delivery order; the last one fulfils the order."""
    carrier, tracking = data.carrier.strip(), data.tracking_number.strip()
    async with in_transaction():
        order = (
            await Order.filter(tenant_id=tenant.id, id=data.order_id).select_for_update().first()
        )
        if order is None:
            raise NotFound("order", "orderId")
        if order.fulfilment != DELIVERY:
            raise DomainError(
                "NOT_DELIVERY", f"this order is fulfilled by {order.fulfilment}", "orderId"
            )
        recorded = await Shipment.get_or_none(
            tenant_id=tenant.id, order_id=order.id, carrier=carrier, tracking_number=tracking
        )
        if recorded is not None:
            return order, _replayed(recorded, data)
        if order.status != "paid":
            raise DomainError("ILLEGAL_TRANSITION", f"this order is {order.status}", "orderId")
        await check_holds(tenant, order)
        lines = await OrderLine.filter(tenant_id=tenant.id, order_id=order.id)
        plan = _plan(lines, data.lines)
        for line_id, quantity in plan.items():
            await OrderLine.filter(id=line_id).update(
                shipped_quantity=F("shipped_quantity") + quantity
            )
        shipment = await Shipment.create(
            tenant_id=tenant.id,
            order_id=order.id,
            carrier=carrier,
            tracking_number=tracking,
            lines=[{"line_id": k, "quantity": v} for k, v in plan.items()],
        )
        if all(left_to_ship(ln) - plan.get(ln.id, 0) <= 0 for ln in lines):
            await mark_fulfilled(tenant, order)
    return order, shipment
