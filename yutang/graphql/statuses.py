"""The core's statuses as GraphQL enums: stored as strings, a closed set to switch on.

(Refund and payment statuses live with their types in :mod:`yutang.graphql.after_sale`.)
"""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(
    description="Where an order stands: pending_payment → paid → fulfilled → completed; "
    "cancelled unpaid; refunded once every line went back. Paid in parts: "
    "pending_payment → deposit_paid → paid, or → forfeited."
)
class OrderStatus(Enum):
    PENDING_PAYMENT = strawberry.enum_value(
        "pending_payment", description="Placed, waiting to be paid by `paymentDeadline`."
    )
    DEPOSIT_PAID = strawberry.enum_value(
        "deposit_paid", description="Paid in parts: the first instalments are paid."
    )
    PAID = strawberry.enum_value("paid", description="Paid; waiting to be shipped or picked up.")
    FULFILLED = strawberry.enum_value(
        "fulfilled", description="Shipped, handed over or delivered; waiting for receipt."
    )
    COMPLETED = strawberry.enum_value("completed", description="Received; the sale is done.")
    CANCELLED = strawberry.enum_value(
        "cancelled", description="Cancelled before it was paid (by the member or the deadline)."
    )
    FORFEITED = strawberry.enum_value(
        "forfeited", description="Paid in parts: a later instalment went unpaid in its window."
    )
    REFUNDED = strawberry.enum_value("refunded", description="Every line went back.")


@strawberry.enum(description="Where an instalment of an order paid in parts stands.")
class InstalmentStatus(Enum):
    PENDING = "pending"
    PAID = "paid"
    CANCELLED = "cancelled"
    FORFEITED = "forfeited"


@strawberry.enum(description="Whether a tenant's shop is open.")
class TenantStatus(Enum):
    ACTIVE = "active"
    SUSPENDED = strawberry.enum_value(
        "suspended", description="Closed: every request is refused with TENANT_SUSPENDED."
    )


@strawberry.enum(
    description="Where a scheduled marketing activity (a seckill, a group buy, a rule, a "
    "lucky draw) stands."
)
class ActivityStatus(Enum):
    SCHEDULED = strawberry.enum_value("scheduled", description="Not started yet.")
    RUNNING = strawberry.enum_value("running", description="Running now.")
    ENDED = strawberry.enum_value("ended", description="Past its end.")
    STOPPED = strawberry.enum_value("stopped", description="Stopped by staff before its end.")
