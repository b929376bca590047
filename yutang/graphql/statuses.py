"""The core's statuses as GraphQL enums: stored as strings, a closed set to switch on.

(Refund and payment statuses live with their types in :mod:`yutang.graphql.after_sale`.)
"""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(
    description="Where an order stands: pending_payment → paid → fulfilled → completed, "
    "cancelled while unpaid, refunded once nothing is left to refund; an order paid in parts "
    "goes pending_payment → deposit_paid → paid, or → forfeited. The tabs of an order list: "
    "待付款 PENDING_PAYMENT and DEPOSIT_PAID, 待发货 PAID, 待收货 FULFILLED, 已完成 COMPLETED."
)
class OrderStatus(Enum):
    PENDING_PAYMENT = strawberry.enum_value(
        "pending_payment",
        description="Placed, waiting for its payment (or its first instalment) until "
        "`paymentDeadline`; 待付款.",
    )
    DEPOSIT_PAID = strawberry.enum_value(
        "deposit_paid",
        description="Paid in parts: the first instalments are paid, a later one is due in its "
        "window (`Order.instalments`).",
    )
    PAID = strawberry.enum_value(
        "paid", description="Paid in full, waiting to be shipped or picked up; 待发货."
    )
    FULFILLED = strawberry.enum_value(
        "fulfilled",
        description="Shipped, picked up or handed over, waiting for the member to confirm "
        "receipt (or for the automatic completion); 待收货.",
    )
    COMPLETED = strawberry.enum_value(
        "completed",
        description="Received; refunds may still be asked for until the after-sale window "
        "closes; 已完成.",
    )
    CANCELLED = strawberry.enum_value(
        "cancelled",
        description="Ended unpaid: the deadline passed, the member cancelled, or the plugin "
        "owning a line cancelled it; 已取消.",
    )
    FORFEITED = strawberry.enum_value(
        "forfeited",
        description="Paid in parts, a later instalment went unpaid in its window: what was "
        "paid is kept unless staff refund it.",
    )
    REFUNDED = strawberry.enum_value(
        "refunded", description="Everything it took was refunded; 已退款."
    )


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
