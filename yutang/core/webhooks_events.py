"""The events outside systems can subscribe to, and the versioned body each one sends.

An outbox event (a hook name such as ``yutang_order_paid``) is offered to webhooks as a
dotted type (``order.paid``). Every body has the same envelope::

    {"type": "order.paid", "version": 1, "timestamp": "...", "tenant": "shop",
     "data": {...}}

``data`` is built in the business write's own transaction, so it shows the order or
member as that write left it. Within a version a field never disappears or changes
meaning; new fields may appear. ``docs/operations.md`` shows every type's ``data``. IDs
are the admin API's global IDs, so a receiver can ask it for more.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from types import MappingProxyType
from typing import Any, NamedTuple

from yutang.core.models import Member, Order

VERSION = 1
"""The version of every type's body; a breaking change to one type bumps it for that type."""


class EventType(NamedTuple):
    """A type offered to subscriptions: its name, body version and what it means."""

    name: str
    hook: str
    version: int
    description: str


def gid(type_name: str, pk: int | None) -> str | None:
    """The global ID the GraphQL APIs give a ``type_name`` row (``base64("Order:12")``)."""
    if pk is None:
        return None
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


_TYPES = (
    EventType("order.placed", "yutang_order_placed", VERSION, "an order was placed"),
    EventType("order.paid", "yutang_order_paid", VERSION, "an order was paid in full"),
    EventType(
        "order.instalment_paid",
        "yutang_instalment_paid",
        VERSION,
        "an instalment of a payment plan was paid (a presale deposit)",
    ),
    EventType(
        "order.instalment_opened",
        "yutang_instalment_opened",
        VERSION,
        "the window to pay an order's next instalment opened",
    ),
    EventType(
        "order.forfeited",
        "yutang_order_forfeited",
        VERSION,
        "an instalment went unpaid past its window: the order ended, what was paid is kept",
    ),
    EventType("order.cancelled", "yutang_order_cancelled", VERSION, "an order was cancelled"),
    EventType(
        "order.fulfilled", "yutang_order_fulfilled", VERSION, "an order was shipped or handed over"
    ),
    EventType("order.completed", "yutang_order_completed", VERSION, "an order completed"),
    EventType(
        "order.refunded", "yutang_order_refunded", VERSION, "a refund of an order was approved"
    ),
    EventType(
        "order.after_sale_closed",
        "yutang_after_sale_closed",
        VERSION,
        "a completed order's after-sale window closed",
    ),
    EventType("member.registered", "yutang_member_registered", VERSION, "a member signed up"),
    EventType(
        "member.referred", "yutang_member_referred", VERSION, "a new member came by a referral"
    ),
)
TYPES = MappingProxyType({t.name: t for t in _TYPES})
BY_HOOK = MappingProxyType({t.hook: t for t in _TYPES})


def _order(order: Order) -> dict[str, Any]:
    return {
        "id": gid("Order", order.id),
        "number": order.number,
        "status": order.status,
        "currency": order.currency,
        "total": order.total,
        "paidAmount": order.paid_amount,
        "refundedAmount": order.refunded_amount,
        "memberId": gid("Member", order.member_id),
        "fulfilment": order.fulfilment,
        "storeId": gid("Store", order.store_id),
        "placedAt": order.created_at.isoformat(),
    }


def _instalment(part: dict[str, Any] | None) -> dict[str, Any] | None:
    if part is None:
        return None
    keys = ("position", "label", "amount", "opensAt", "dueAt")
    return {k: part.get(k) for k in keys}


def _refund(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "refundId": gid("Refund", data.get("refund_id")),
        "amount": data.get("amount"),
        "full": bool(data.get("full")),
        "lines": [
            {
                "lineId": gid("OrderLine", p.get("line_id")),
                "quantity": p.get("quantity"),
                "amount": p.get("amount"),
            }
            for p in data.get("lines") or ()
        ],
    }


_ORDER_EXTRAS: MappingProxyType[str, Callable[[dict[str, Any]], dict[str, Any]]] = MappingProxyType(
    {
        "order.paid": lambda d: {"amount": d.get("amount")},
        "order.cancelled": lambda d: {"reason": d.get("reason")},
        "order.refunded": _refund,
        "order.instalment_paid": lambda d: {
            "position": d.get("position"),
            "amount": d.get("amount"),
            "next": _instalment(d.get("next")),
        },
        "order.instalment_opened": lambda d: {"instalment": _instalment(d)},
        "order.forfeited": lambda d: {"kept": d.get("kept")},
    }
)


async def data_of(
    tenant_id: int, kind: EventType, outbox_payload: dict[str, Any]
) -> dict[str, Any]:
    """The ``data`` of ``kind``'s body from the outbox's payload, read in its transaction."""
    extra: dict[str, Any] = outbox_payload.get("data") or {}
    if kind.name.startswith("order."):
        order = await Order.get(tenant_id=tenant_id, id=outbox_payload["order_id"])
        made = _ORDER_EXTRAS.get(kind.name)
        return {"order": _order(order), **(made(extra) if made else {})}
    member = await Member.get(tenant_id=tenant_id, id=outbox_payload["member_id"])
    found: dict[str, Any] = {
        "member": {
            "id": gid("Member", member.id),
            "phone": member.phone,
            "nickname": member.nickname,
            "referrerId": gid("Member", member.referrer_id),
            "registeredAt": member.created_at.isoformat(),
        }
    }
    if kind.name == "member.registered":
        found["extensions"] = extra.get("extensions") or {}
    else:
        found["referrerId"] = gid("Member", extra.get("referrer_id"))
    return found
