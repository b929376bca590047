"""The public plugin API: everything a plugin may import from Yutang.

The rest of the ``yutang`` package is private and may change without notice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from strawberry.types.field import StrawberryField

from yutang.core.auth import Principal
from yutang.core.clock import now
from yutang.core.errors import DomainError, Forbidden, NotFound
from yutang.core.events import Event, FulfilmentMethod, GraphQLContribution, JobHandler, Reward
from yutang.core.hookspecs import hookimpl, hookspec
from yutang.core.inputs import convert
from yutang.core.members import change_points
from yutang.core.models.base import TenantModel, Timestamped
from yutang.core.money import Money, apportion, format_money, percent_of
from yutang.core.outbox import schedule as schedule_job
from yutang.core.payments import Capture, PaymentIntent, PaymentProvider
from yutang.core.pricing import (
    ActivityRef,
    CheckoutContext,
    CheckoutLine,
    Draft,
    DraftLine,
    MemberInfo,
    PriceStep,
    Stage,
)
from yutang.core.rewards import grant_reward, revoke_reward
from yutang.core.tenancy import TenantInfo
from yutang.core.worker import outside_transaction
from yutang.graphql.context import Context
from yutang.graphql.ids import from_global, pk_of, to_global
from yutang.graphql.types import Money as MoneyType
from yutang.graphql.types import Node, UserError

Info = strawberry.Info[Context, None]


def field(
    resolver: Callable[..., Any], *, name: str | None = None, description: str | None = None
) -> StrawberryField:
    """A GraphQL field for a contribution, named after its resolver unless ``name``."""
    f: StrawberryField = strawberry.field(resolver=resolver, name=name, description=description)
    f.python_name = resolver.__name__
    return f


def mutation(
    resolver: Callable[..., Any], *, name: str | None = None, description: str | None = None
) -> StrawberryField:
    """A GraphQL mutation field for a contribution."""
    f: StrawberryField = strawberry.mutation(resolver=resolver, name=name, description=description)
    f.python_name = resolver.__name__
    return f


__all__ = [
    "ActivityRef",
    "Capture",
    "CheckoutContext",
    "CheckoutLine",
    "Context",
    "DomainError",
    "Draft",
    "DraftLine",
    "Event",
    "Forbidden",
    "FulfilmentMethod",
    "GraphQLContribution",
    "Info",
    "JobHandler",
    "MemberInfo",
    "Money",
    "MoneyType",
    "Node",
    "NotFound",
    "PaymentIntent",
    "PaymentProvider",
    "PriceStep",
    "Principal",
    "Reward",
    "Stage",
    "TenantInfo",
    "TenantModel",
    "Timestamped",
    "UserError",
    "apportion",
    "change_points",
    "convert",
    "field",
    "format_money",
    "from_global",
    "grant_reward",
    "hookimpl",
    "hookspec",
    "mutation",
    "now",
    "outside_transaction",
    "percent_of",
    "pk_of",
    "revoke_reward",
    "schedule_job",
    "to_global",
]
