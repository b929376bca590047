"""A third-party style plugin used by the tests: only ``yutang.api`` is imported.

It takes 10% off lines of tagged products ("TEA" in the name) at the promotion stage,
refuses more than 5 units of a line, counts paid orders from its event handler, adds
``Product.exampleBadge`` and ``Query.exampleCounter`` to the storefront schema, and
provides the payment provider ``example_later``, which confirms through a signed callback.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Annotated, Any

import msgspec

from yutang import api

PAID_EVENTS: list[int] = []
CALLBACK_SECRET = b"example-callback-secret"
CODES = api.ErrorCodes("example", {"EXAMPLE_LIMIT": "a line holds more units than allowed"})


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Settings of the example plugin."""

    percent_off: int = 10
    max_quantity: int = 5


class CheckoutInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An extra discount in minor units."""

    extra_off: Annotated[int, msgspec.Meta(ge=0)] = 0


@api.hookimpl
def yutang_settings_schema() -> type[msgspec.Struct]:
    return Settings


@api.hookimpl
def yutang_input_schema(operation: str) -> type[msgspec.Struct] | None:
    return CheckoutInput if operation == "checkout" else None


@api.hookimpl
def yutang_error_codes() -> api.ErrorCodes:
    return CODES


@api.hookimpl
def yutang_validate_checkout(checkout: api.CheckoutContext) -> None:
    limit = checkout.tenant.setting("example", Settings).max_quantity
    for line in checkout.lines:
        if line.quantity > limit:
            raise CODES.error(
                "EXAMPLE_LIMIT", f"at most {limit} per line", f"lines[{line.index}].quantity"
            )


def tea_discount(draft: api.Draft) -> None:
    settings = draft.checkout.tenant.setting("example", Settings)
    lines = [ln for ln in draft.eligible() if "TEA" in ln.line.product_name.upper()]
    amount = api.percent_of(sum(ln.amount for ln in lines), settings.percent_off)
    extra = draft.checkout.input("example")
    if extra is not None:
        amount += extra.extra_off
    if lines and amount:
        draft.discount(amount, lines, f"茶叶{100 - settings.percent_off}折")


@api.hookimpl
def yutang_price_steps() -> list[api.PriceStep]:
    return [api.PriceStep(api.Stage.PROMOTION, tea_discount, priority=50)]


@api.hookimpl
async def yutang_order_paid(event: api.Event) -> None:
    PAID_EVENTS.append(event.order_id or 0)


def example_badge(root: Any) -> str:
    """A badge for every product."""
    return f"example:{root.name}"


def example_counter() -> int:
    """How many paid events this process has handled."""
    return len(PAID_EVENTS)


@api.hookimpl
def yutang_graphql_storefront() -> api.GraphQLContribution:
    return api.GraphQLContribution(
        query=[api.field(example_counter)],
        extend={"Product": [api.field(example_badge)]},
    )


def sign(body: bytes) -> str:
    """The signature ``example_later``'s gateway sends with a callback."""
    return hmac.new(CALLBACK_SECRET, body, hashlib.sha256).hexdigest()


class LaterProvider:
    """A gateway that captures later, confirming with a signed callback
    ``{"reference": ..., "amount": ...}``."""

    name = "example_later"
    credentials = None

    def check_credentials(self, credentials: Any) -> str:
        return ""

    async def create(
        self, ctx: api.GatewayContext, payment: api.PaymentRequest
    ) -> api.PaymentIntent:
        return api.PaymentIntent(
            client_data={"reference": payment.reference, "amount": payment.amount}
        )

    async def query(self, ctx: api.GatewayContext, reference: str) -> api.GatewayPayment:
        return api.GatewayPayment("pending")

    async def close(self, ctx: api.GatewayContext, reference: str) -> api.GatewayPayment:
        return api.GatewayPayment("closed")

    async def refund(self, ctx: api.GatewayContext, refund: api.RefundRequest) -> api.RefundState:
        return "refunded"

    async def notification(
        self, ctx: api.GatewayContext, headers: Mapping[str, str], body: bytes
    ) -> api.Notification | None:
        if not hmac.compare_digest(headers.get("x-example-signature", ""), sign(body)):
            return None
        data = msgspec.json.decode(body)
        return api.Notification(capture=api.Capture(data["reference"], data["amount"]))

    def answer(self, accepted: bool) -> api.CallbackAnswer:
        return api.CallbackAnswer(200 if accepted else 400, b"ok" if accepted else b"no")


@api.hookimpl
def yutang_payment_providers() -> list[api.PaymentProvider]:
    return [LaterProvider()]
