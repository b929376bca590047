"""Pickup's own error codes; everything else it refuses with is shared (``NOT_FOUND`` for
a code nobody holds, ``TOO_MANY_ATTEMPTS`` for lookups beyond the limit, ``REQUIRED``,
``DUPLICATE``, ``CONFLICT``, ...)."""

from __future__ import annotations

from yutang import api

CODES = api.ErrorCodes(
    "pickup",
    {
        "PICKUP_ALREADY_PICKED_UP": "this pickup order was already handed over",
        "PICKUP_NOT_AWAITING": "the order no longer waits at the store (expired, refunded, or "
        "not paid); the message names its status",
        "PICKUP_REFUND_OPEN": "a refund request for the order is open: settle it first",
        "PICKUP_NOT_OFFERED": "the store chosen does not offer this line's SKU for pickup",
        "PICKUP_SLOT_FULL": "the pickup slot chosen is full",
        "PICKUP_SLOT_UNAVAILABLE": "the store has no such pickup slot open for booking",
    },
)
