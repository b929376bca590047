"""GraphQL input types and their conversion to the core's validated Structs."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON

from yutang.core.checkout import CheckoutInput as CoreCheckoutInput
from yutang.core.inputs import convert
from yutang.core.orders import PlaceOrderInput as CorePlaceOrderInput
from yutang.core.refunds import RefundInput
from yutang.graphql.ids import pk_of


@strawberry.input
class ActivityRefInput:
    plugin: str
    ref: str


@strawberry.input
class LineInput:
    sku_id: strawberry.ID
    quantity: int
    activity: ActivityRefInput | None = None


@strawberry.input(
    description="A cart to price. `extensions` holds per-plugin input by plugin name."
)
class CheckoutInput:
    lines: list[LineInput]
    use_points: int = 0
    fulfilment: str = "delivery"
    extensions: JSON | None = None


@strawberry.input
class PlaceOrderInput:
    lines: list[LineInput]
    idempotency_key: str
    quote_hash: str | None = None
    use_points: int = 0
    fulfilment: str = "delivery"
    extensions: JSON | None = None


@strawberry.input
class RefundLineInput:
    line_id: strawberry.ID
    quantity: int


@strawberry.input
class RefundRequestInput:
    order_id: strawberry.ID
    idempotency_key: str
    lines: list[RefundLineInput] | None = None
    reason: str = ""


def _checkout_dict(inp: CheckoutInput | PlaceOrderInput) -> dict[str, Any]:
    return {
        "lines": [
            {
                "skuId": pk_of(ln.sku_id, "Sku", f"lines[{i}].skuId"),
                "quantity": ln.quantity,
                **(
                    {"activity": {"plugin": ln.activity.plugin, "ref": ln.activity.ref}}
                    if ln.activity
                    else {}
                ),
            }
            for i, ln in enumerate(inp.lines)
        ],
        "usePoints": inp.use_points,
        "fulfilment": inp.fulfilment,
        "extensions": inp.extensions or {},
    }


def checkout_data(inp: CheckoutInput) -> CoreCheckoutInput:
    """The validated core input of a quote."""
    return convert(_checkout_dict(inp), CoreCheckoutInput)


def place_order_data(inp: PlaceOrderInput) -> CorePlaceOrderInput:
    """The validated core input of placeOrder."""
    raw = _checkout_dict(inp)
    raw["idempotencyKey"] = inp.idempotency_key
    if inp.quote_hash is not None:
        raw["quoteHash"] = inp.quote_hash
    return convert(raw, CorePlaceOrderInput)


def refund_data(inp: RefundRequestInput) -> RefundInput:
    """The validated core input of a refund."""
    return convert(
        {
            "orderId": pk_of(inp.order_id, "Order", "orderId"),
            "idempotencyKey": inp.idempotency_key,
            "reason": inp.reason,
            "lines": [
                {
                    "lineId": pk_of(ln.line_id, "OrderLine", f"lines[{i}].lineId"),
                    "quantity": ln.quantity,
                }
                for i, ln in enumerate(inp.lines or [])
            ],
        },
        RefundInput,
    )
