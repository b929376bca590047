"""Payloads handed to plugins: events after commit, rewards, jobs, contributions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import msgspec


class Event(msgspec.Struct, frozen=True):
    """Something that happened and committed: an order paid, a member registered.

    Delivered at least once by the job worker after the transaction that caused it
    committed; handlers must be idempotent (``id`` is unique per event and recipient).
    """

    id: int
    name: str
    tenant_id: int
    occurred_at: datetime
    order_id: int | None = None
    member_id: int | None = None
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class Reward(msgspec.Struct, frozen=True):
    """A benefit one plugin asks for and whichever plugin provides ``kind`` grants.

    ``reference`` makes the grant idempotent (e.g. ``"order:42:tier:2"``); granting twice
    with the same reference grants once.
    """

    kind: str
    amount: int = 0
    item: str = ""
    reference: str = ""
    source: str = ""
    label: str = ""


JobHandler = Callable[[Any, dict[str, Any]], Awaitable[None] | None]
"""A durable job: called with (tenant info or None, payload) inside the job's transaction."""


class GraphQLContribution(msgspec.Struct):
    """What a plugin adds to a GraphQL schema (storefront or admin).

    ``query`` and ``mutation`` are strawberry fields added to the root types; ``extend``
    maps a core type name (``"Product"``, ``"Order"``) to fields added to it; ``types``
    lists types reachable only through interfaces or unions.
    """

    query: list[Any] = msgspec.field(default_factory=list)
    mutation: list[Any] = msgspec.field(default_factory=list)
    extend: dict[str, list[Any]] = msgspec.field(default_factory=dict)
    types: list[Any] = msgspec.field(default_factory=list)


class FulfilmentMethod(msgspec.Struct, frozen=True):
    """A way an order reaches the member besides delivery (e.g. store pickup)."""

    name: str
    label: str
