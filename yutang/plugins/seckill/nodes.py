"""GraphQL types shared by the admin and storefront schemas: member limits."""

from __future__ import annotations

from enum import Enum

import strawberry

from yutang.plugins.seckill.limits import SCOPES


@strawberry.enum(name="SeckillLimitScope", description="What a member limit counts.")
class LimitScope(Enum):
    ITEM_SESSION = strawberry.enum_value(
        "item_session", description="Units of one item in one occurrence of its session."
    )
    SESSION = strawberry.enum_value(
        "session",
        description="Units of every item of one occurrence of a session (场次); a daily "
        "session's occurrences on two days are two.",
    )
    ACTIVITY = strawberry.enum_value("activity", description="Units in the whole activity.")


@strawberry.type(
    name="SeckillLimit",
    description="At most `quantity` units per member within `scope`; unpaid orders count.",
)
class LimitNode:
    scope: LimitScope
    quantity: int


def limit_nodes(limits: dict[str, int]) -> list[LimitNode]:
    """An activity's limits, broadest scope first."""
    return [LimitNode(scope=LimitScope(s), quantity=limits[s]) for s in SCOPES if s in limits]
