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
    description="Where a delivery goes: one of the member's saved addresses (`addressId`), "
    "or region codes (6-digit province/city/district codes, enough to price shipping) with "
    "the receiver, phone and street address that placing an order needs."
)
class CheckoutAddressInput:
    address_id: strawberry.ID | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    receiver: str = ""
    phone: str = ""
    detail: str = ""


@strawberry.input(
    description="A cart to price. `extensions` holds per-plugin input by plugin name; "
    "`address` is where a delivery goes (shipping is priced from it)."
)
class CheckoutInput:
    lines: list[LineInput]
    use_points: int = 0
    fulfilment: str | None = strawberry.field(
        default=None,
        description="How the order reaches the member: `delivery`, `virtual` (goods that ship "
        "nothing) or a plugin's method (`pickup`); by default `virtual` when every product "
        "is virtual, else `delivery`.",
    )
    extensions: JSON | None = None  # typed per schema, see yutang.graphql.plugin_inputs
    address: CheckoutAddressInput | None = None


@strawberry.input(
    description="Give `lines`, or `fromCart: true` to order the cart's selected lines (they "
    "leave the cart with the order)."
)
class PlaceOrderInput:
    idempotency_key: str
    lines: list[LineInput] | None = None
    from_cart: bool = False
    quote_hash: str | None = None
    use_points: int = 0
    fulfilment: str | None = strawberry.field(
        default=None,
        description="How the order reaches the member: `delivery`, `virtual` (goods that ship "
        "nothing) or a plugin's method (`pickup`); by default `virtual` when every product "
        "is virtual, else `delivery`.",
    )
    extensions: JSON | None = None  # typed per schema, see yutang.graphql.plugin_inputs
    address: CheckoutAddressInput | None = None


@strawberry.input(description="Pay an order through a provider (`dev` pays at once).")
class PayOrderInput:
    order_id: strawberry.ID
    idempotency_key: str
    provider: str = "dev"
    payer: JSON | None = strawberry.field(
        default=None,
        description="What the provider needs of the payer, as short strings (`wechatpay`: "
        "`{openid}` of the shopper in the mini-program or 公众号).",
    )


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


def address_dict(inp: CheckoutAddressInput) -> dict[str, Any]:
    """The core form of a checkout address."""
    raw: dict[str, Any] = {
        key: value
        for key, value in (
            ("province", inp.province),
            ("city", inp.city),
            ("district", inp.district),
        )
        if value
    }
    raw.update(receiver=inp.receiver, phone=inp.phone, detail=inp.detail)
    if inp.address_id is not None:
        raw["addressId"] = pk_of(inp.address_id, "Address", "address.addressId")
    return raw


def _line(index: int, sku_id: str, quantity: int, activity: Any) -> dict[str, Any]:
    line = {"skuId": pk_of(sku_id, "Sku", f"lines[{index}].skuId"), "quantity": quantity}
    return line if activity is None else {**line, "activity": activity}


def _checkout_dict(inp: CheckoutInput | PlaceOrderInput) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "lines": [
            _line(
                i,
                ln.sku_id,
                ln.quantity,
                {"plugin": ln.activity.plugin, "ref": ln.activity.ref} if ln.activity else None,
            )
            for i, ln in enumerate(inp.lines or [])
        ],
        "usePoints": inp.use_points,
        "fulfilment": inp.fulfilment,
        "extensions": inp.extensions or {},
    }
    if inp.address is not None:
        raw["address"] = address_dict(inp.address)
    return raw


def checkout_data(inp: CheckoutInput) -> CoreCheckoutInput:
    """The validated core input of a quote."""
    return convert(_checkout_dict(inp), CoreCheckoutInput)


def place_order_data(inp: PlaceOrderInput) -> CorePlaceOrderInput:
    """The validated core input of placeOrder."""
    raw = _checkout_dict(inp)
    raw["idempotencyKey"] = inp.idempotency_key
    raw["fromCart"] = inp.from_cart
    if inp.quote_hash is not None:
        raw["quoteHash"] = inp.quote_hash
    return convert(raw, CorePlaceOrderInput)


def order_lines_data(raw: dict[str, Any]) -> CorePlaceOrderInput:
    """The lines, key and cart flag of a placeOrder input as GraphQL coerced it (by
    GraphQL's field names), converted as :func:`place_order_data` converts them; the
    rest of the input is left out."""
    lines = [
        _line(i, ln["skuId"], ln["quantity"], ln.get("activity"))
        for i, ln in enumerate(raw.get("lines") or [])
    ]
    return convert(
        {"lines": lines, "idempotencyKey": raw["idempotencyKey"], "fromCart": raw["fromCart"]},
        CorePlaceOrderInput,
    )


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
