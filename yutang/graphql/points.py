"""The shop's points rules as the storefront shows them before checkout."""

from __future__ import annotations

import strawberry

from yutang.core.errors import DomainError
from yutang.core.settings_core import CoreSettings
from yutang.graphql.types import Money


@strawberry.type(
    description="How points pay at checkout (`usePoints` of a quote). Members earn points "
    "from the shop's activities (a 满减送 award, a lottery prize: each says what it gives); "
    "their balance is `me.points`."
)
class PointsRules:
    points_per_yuan: int = strawberry.field(
        description="The points that pay ¥1.00 (100 minor units) of an order."
    )
    max_percent: int = strawberry.field(
        description="At most this percent of what the lines cost after their discounts is paid "
        "with points (lines of an activity that takes no discounts are left out); 0: points "
        "pay nothing in this shop."
    )
    currency: strawberry.Private[str]

    @strawberry.field(
        description="What `points` pay, rounded down to the minor unit, before the cap and "
        "the member's balance (an order uses the fewest points that pay its deduction)."
    )
    def worth(self, points: int) -> Money:
        if points < 0:
            raise DomainError("INVALID", "不能为负数 / must not be negative", "points")
        return Money.of(points * 100 // self.points_per_yuan, self.currency)


def points_rules(settings: CoreSettings, currency: str) -> PointsRules:
    """The rules a tenant's core settings set."""
    return PointsRules(
        points_per_yuan=settings.points_per_yuan,
        max_percent=settings.points_max_percent,
        currency=currency,
    )
