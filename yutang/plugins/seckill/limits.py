"""Per-member limits and their scopes.

An activity limits what one member may hold (unpaid orders count) in any of three scopes:
one item in one occurrence of its session (``item_session``), one occurrence of a session
(``session``: every item of that 场次), or the whole activity (``activity``). An activity
combines any of them, e.g. 1 per item per session and 3 per activity, and every one
that applies must hold. Each limited scope a member buys in has its own counter row
(``SeckillMemberQuota``), named by its key; the Redis gate mirrors the same keys.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, cast

import msgspec

from yutang import api
from yutang.plugins.seckill.models import SeckillActivity, SeckillItem

Scope = Literal["item_session", "session", "activity"]
SCOPES: tuple[Scope, ...] = ("activity", "session", "item_session")
"""Broadest first, the order limits are shown, checked and named in: of the limits an
order would pass, the broadest says most (nothing more in the whole activity, or in
this session)."""


class LimitInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """At most ``quantity`` units per member within ``scope``."""

    scope: Scope
    quantity: Annotated[int, msgspec.Meta(ge=1)]


def limits_of(
    limits: list[LimitInput] | None, member_limit: int | None, ceiling: int
) -> dict[str, int]:
    """The limits to store, by scope, broadest first; DomainError naming the field.

    ``member_limit`` is the single per-activity limit of earlier clients: an ACTIVITY
    limit. With neither, a member may hold one unit in the activity, as before.
    """
    if limits is not None and member_limit is not None:
        raise api.DomainError(
            "INVALID", "give limits or memberLimit, not both", "input.memberLimit"
        )
    if limits is None:
        quantity = 1 if member_limit is None else member_limit
        if quantity > ceiling:
            raise api.DomainError("INVALID", f"at most {ceiling}", "input.memberLimit")
        return {"activity": quantity}
    found: dict[str, int] = {}
    for i, limit in enumerate(limits):
        if limit.scope in found:
            raise api.DomainError(
                "DUPLICATE", "this scope already has a limit", f"input.limits[{i}].scope"
            )
        if limit.quantity > ceiling:
            raise api.DomainError("INVALID", f"at most {ceiling}", f"input.limits[{i}].quantity")
        found[limit.scope] = limit.quantity
    return {scope: found[scope] for scope in SCOPES if scope in found}


def scope_key(scope: str, item: SeckillItem, slot_start: datetime) -> str:
    """The key of the counter ``scope`` names for a unit of ``item`` in the occurrence
    starting at ``slot_start``."""
    if scope == "activity":
        return "activity"
    moment = int(slot_start.timestamp())
    owner = item.session_id if scope == "session" else item.id
    return f"{scope}:{owner}:{moment}"


def scope_of(key: str) -> Scope:
    """The scope a counter's key belongs to."""
    return cast(Scope, key.partition(":")[0])


def quota_keys(
    activity: SeckillActivity, item: SeckillItem, slot_start: datetime
) -> dict[str, int]:
    """Every limited counter a unit of ``item`` in that occurrence counts in, with its
    limit, broadest first (PostgreSQL's jsonb keeps no key order)."""
    limits = activity.limits
    return {scope_key(s, item, slot_start): limits[s] for s in SCOPES if s in limits}


def check_order(limited: tuple[int, str]) -> tuple[int, int, str]:
    """The order an order's (activity, scope key) counters are checked and taken in:
    broadest first, and one fixed order so that concurrent orders cannot deadlock."""
    activity_id, key = limited
    return activity_id, SCOPES.index(scope_of(key)), key


def tightest(limits: dict[str, int]) -> int:
    """The most one member may buy of one item in one session: the smallest limit."""
    return min(limits.values())


def where(scope: str) -> str:
    """What a limit of ``scope`` counts, for messages."""
    if scope == "item_session":
        return "of this item in this session"
    return "in this session" if scope == "session" else "in this activity"
