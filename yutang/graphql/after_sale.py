"""What an order's money did: its payments, and the parts of a refund that stand alone.

Statuses are stored as strings and typed here as enums, so a frontend switches on a
closed set; the Refund type itself links to its order and lives with it in
:mod:`yutang.graphql.orders`.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from yutang.core.models import Payment as PaymentRow
from yutang.graphql.types import Money, Node, gid


@strawberry.enum(description="Where a refund stands.")
class RefundStatus(Enum):
    OPEN = strawberry.enum_value(
        "open", description="A member's request waiting for staff; its units are held for it."
    )
    APPROVED = strawberry.enum_value(
        "approved",
        description="Booked on the lines; the money is on its way back through the providers.",
    )
    REJECTED = strawberry.enum_value(
        "rejected", description="Staff said no; the units it held may be asked for again."
    )
    REFUNDED = strawberry.enum_value(
        "refunded", description="The providers confirmed the money went back."
    )


@strawberry.enum(description="Where a payment attempt stands.")
class PaymentStatus(Enum):
    PENDING = strawberry.enum_value("pending", description="Waiting for the gateway.")
    CLOSED = strawberry.enum_value(
        "closed",
        description="Replaced by an attempt through another provider; its gateway may still "
        "capture it, and then it is refunded or claimed.",
    )
    CAPTURED = strawberry.enum_value("captured", description="The money arrived.")
    REFUNDED = strawberry.enum_value(
        "refunded",
        description="Captured after the order could no longer take it, and given back whole.",
    )


@strawberry.enum(description="What kind of caller asked for a refund.")
class RequesterKind(Enum):
    MEMBER = "member"
    STAFF = "staff"
    OPERATOR = "operator"
    PLUGIN = "plugin"


@strawberry.type(description="Who asked for a refund.")
class RefundRequester:
    kind: RequesterKind
    id: strawberry.ID | None = strawberry.field(
        description="The Member's or Staff's ID; null for operators and plugins."
    )
    plugin: str | None = strawberry.field(description="The plugin, when a plugin refunded.")


@strawberry.type(description="Units of an order line a refund returns, and their share.")
class RefundLine:
    line_id: strawberry.ID
    quantity: int
    amount: Money = strawberry.field(
        description="What goes back for them (an open request's estimate; booked on approval)."
    )
    points: int


@strawberry.type(description="A payment attempt through a provider.")
class Payment(Node):
    provider: str
    status: PaymentStatus
    amount: Money
    instalment: int | None = strawberry.field(
        description="The position of the instalment it pays (0 the first) when the order is "
        "paid in parts; null for an order paid at once."
    )
    captured_amount: Money = strawberry.field(description="`amount` once captured, else 0.")
    refunded_amount: Money = strawberry.field(
        description="What refunds took back from it (all of it when REFUNDED)."
    )
    created_at: datetime
    captured_at: datetime | None


def requester_of(actor: str) -> RefundRequester | None:
    """Who asked, from a refund's ``requested_by`` (None when it was not recorded)."""
    kind, _, ref = actor.partition(":")
    if kind in ("member", "staff"):
        type_name = "Member" if kind == "member" else "Staff"
        return RefundRequester(kind=RequesterKind(kind), id=gid(type_name, int(ref)), plugin=None)
    if kind in ("operator", "plugin"):
        plugin = ref if kind == "plugin" else None
        return RefundRequester(kind=RequesterKind(kind), id=None, plugin=plugin)
    return None


def payment_node(r: PaymentRow, currency: str, in_parts: bool) -> Payment:
    """A Payment object; ``in_parts`` when its order is paid in instalments."""
    refunded = r.amount if r.status == "refunded" else r.refunded_amount
    return Payment(
        id=gid("Payment", r.id),
        provider=r.provider,
        status=PaymentStatus(r.status),
        amount=Money.of(r.amount, currency),
        instalment=r.instalment if in_parts else None,
        captured_amount=Money.of(r.amount if r.captured_at else 0, currency),
        refunded_amount=Money.of(refunded, currency),
        created_at=r.created_at,
        captured_at=r.captured_at,
    )
