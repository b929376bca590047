"""The payment provider contract: what a gateway plugin implements, and what it is given.

Every call gets a :class:`GatewayContext`: the tenant, *its* credentials for the
provider (decrypted, of the provider's own ``credentials`` type) and the URL the gateway
notifies. The core calls providers outside any database transaction and names every
payment and refund by a reference that is also the gateway's idempotency key
(WeChat Pay's ``out_trade_no`` / ``out_refund_no``), so a call repeated after a crash
or a timeout is the same call. Like :mod:`yutang.core.contract`, it imports only the
standard library, msgspec and that module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

import msgspec

from yutang.core.contract import TenantInfo


@dataclass(frozen=True, slots=True)
class GatewayContext:
    """What one provider call is about: the tenant, its credentials for this provider
    (an instance of the provider's ``credentials`` type; None when it declares none) and
    the absolute URL its gateway posts notifications to."""

    tenant: TenantInfo
    credentials: Any
    callback_url: str


class PaymentRequest(msgspec.Struct, frozen=True):
    """A payment to open at the gateway.

    ``reference`` names it there and makes :meth:`PaymentProvider.create` idempotent;
    ``payer`` is what the client sent for the gateway (``{"openid": ...}`` for a WeChat
    mini-program); ``expires_at`` is when the order stops taking the payment (a gateway
    order may be given the same deadline)."""

    reference: str
    amount: int
    currency: str
    description: str
    expires_at: datetime
    payer: dict[str, str] = msgspec.field(default_factory=dict)


class PaymentIntent(msgspec.Struct, frozen=True):
    """What a provider returns on create: data the client needs (WeChat's signed
    ``requestPayment`` parameters), and whether it is already captured (the dev provider)."""

    client_data: dict[str, Any]
    captured: bool = False


class GatewayPayment(msgspec.Struct, frozen=True):
    """How a payment stands at the gateway: ``captured`` with the ``amount`` it took,
    ``pending`` (the shopper has not paid), or ``closed`` (it can no longer be paid)."""

    state: Literal["pending", "captured", "closed"]
    amount: int = 0


class RefundRequest(msgspec.Struct, frozen=True):
    """Money to give back from one captured payment; ``refund_reference`` names the
    refund at the gateway (``out_refund_no``) and makes asking twice harmless."""

    payment_reference: str
    refund_reference: str
    amount: int
    payment_amount: int
    currency: str


RefundState = Literal["refunded", "pending"]
"""``refunded`` once the gateway confirms, ``pending`` while it processes."""


class Capture(msgspec.Struct, frozen=True):
    """A gateway's word that the payment ``reference`` took ``amount``."""

    reference: str
    amount: int


class Notification(msgspec.Struct, frozen=True):
    """A verified (and decrypted) gateway notification: a capture, or that the refund
    ``refund_reference`` settled (the core then asks the gateway how it stands)."""

    capture: Capture | None = None
    refund_reference: str | None = None


class CallbackAnswer(msgspec.Struct, frozen=True):
    """The HTTP answer a gateway's notification gets: each gateway has its own (Alipay
    wants the plain body ``success``; WeChat Pay a 2xx, or a non-2xx with a ``FAIL``
    body to send the notification again)."""

    status_code: int
    body: bytes
    media_type: str = "application/json"


class PaymentProvider(Protocol):
    """A payment gateway, returned by ``yutang_payment_providers``.

    ``credentials`` is the msgspec Struct a tenant's owner fills in through the admin
    API (None: the provider needs none). Raise ``DomainError("GATEWAY_ERROR", ...)``
    when the gateway refuses or cannot be reached; never put a credential in a message.
    """

    name: str
    credentials: type[msgspec.Struct] | None

    def check_credentials(self, credentials: Any) -> str:
        """Check what the types cannot (keys that parse, lengths), raising DomainError
        naming ``credentials.<field>``; return the hint staff see (never a secret)."""
        ...

    async def create(self, ctx: GatewayContext, payment: PaymentRequest) -> PaymentIntent:
        """Open the payment at the gateway, or get the one open under its reference."""
        ...

    async def query(self, ctx: GatewayContext, reference: str) -> GatewayPayment:
        """How the payment ``reference`` stands (reconciliation, when no notification came)."""
        ...

    async def close(self, ctx: GatewayContext, reference: str) -> GatewayPayment:
        """Close the open payment ``reference`` so it can no longer be paid (the shopper
        switched provider, the order ended); closing a closed one is fine. Answer
        ``closed``, or ``captured`` with its amount when it turns out paid (the core
        then records the capture)."""
        ...

    async def refund(self, ctx: GatewayContext, refund: RefundRequest) -> RefundState:
        """Ask for the refund, or, asked again with the same reference, how it stands."""
        ...

    async def notification(
        self, ctx: GatewayContext, headers: Mapping[str, str], body: bytes
    ) -> Notification | None:
        """Verify a notification the gateway posted; what it says, or None if it is not
        genuine (bad signature, stale, another merchant's)."""
        ...

    def answer(self, accepted: bool) -> CallbackAnswer:
        """The answer to a notification: ``accepted`` when recorded (or recorded before),
        not accepted to have the gateway send it again."""
        ...
