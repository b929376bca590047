"""The order statuses as one documented enum: what ``myOrders(status:)`` filters by.

The values are the strings orders store (``yutang.core.orders.TRANSITIONS``); a test
keeps the two sets equal, so a new status cannot go undocumented.
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
