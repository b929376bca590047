"""Mutation payloads: the result, or ``errors { code field message }``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

import strawberry
from strawberry.scalars import JSON

from yutang.core.errors import DomainError
from yutang.graphql.after_sale import PaymentStatus
from yutang.graphql.orders import Order, Refund
from yutang.graphql.types import Member, Quote, UserError

T = TypeVar("T")


@strawberry.type
class AuthPayload:
    token: str | None = None
    expires_at: datetime | None = strawberry.field(
        default=None, description="When the token stops working."
    )
    member: Member | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class QuotePayload:
    quote: Quote | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="On PRICE_CHANGED, `quote` is the new quote and nothing was written.")
class OrderPayload:
    order: Order | None = None
    quote: Quote | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class PaymentPayload:
    order: Order | None = None
    payment_status: PaymentStatus | None = None
    client_data: JSON | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RefundPayload:
    refund: Refund | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def attempt(run: Callable[[], Awaitable[T]]) -> tuple[T | None, list[UserError]]:
    """Run a mutation body; a DomainError becomes the payload's errors."""
    try:
        return await run(), []
    except DomainError as err:
        return None, [UserError.of(err)]
