"""GraphQL types shared by the storefront and admin schemas, and how rows become them.

Every list is built from rows fetched a page at a time; the team counts of a page of
promoters come from one DataLoader (three queries for any page).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from tortoise.expressions import Q
from tortoise.functions import Count

from yutang import api
from yutang.plugins.distributor.models import (
    DistributorBinding,
    DistributorCommission,
    DistributorPromoter,
    DistributorWithdrawal,
)

MAX_PAGE = 100


@strawberry.enum(name="DistributorPromoterStatus")
class PromoterStatus(Enum):
    APPLIED = strawberry.enum_value("applied", description="Waiting for staff to review.")
    ACTIVE = "active"
    REJECTED = "rejected"


@strawberry.enum(name="DistributorCommissionStatus")
class CommissionStatus(Enum):
    PENDING = strawberry.enum_value("pending", description="The order is not completed yet.")
    FROZEN = strawberry.enum_value("frozen", description="Completed; after-sale window open.")
    AVAILABLE = strawberry.enum_value("available", description="Withdrawable.")
    REVERSED = strawberry.enum_value("reversed", description="Taken back by refunds.")


@strawberry.enum(name="DistributorWithdrawalStatus")
class WithdrawalStatus(Enum):
    REQUESTED = strawberry.enum_value("requested", description="Waiting for staff to review.")
    APPROVED = strawberry.enum_value("approved", description="Approved; not transferred yet.")
    PAID = "paid"
    REJECTED = "rejected"


@strawberry.type(name="DistributorBalance", description="Money in each ledger bucket.")
class BalanceNode:
    pending: api.MoneyType = strawberry.field(description="Paid orders not completed yet.")
    frozen: api.MoneyType = strawberry.field(description="Completed, after-sale window open.")
    available: api.MoneyType = strawberry.field(
        description="Withdrawable; negative after a late refund, netted by later earnings."
    )
    withdrawing: api.MoneyType = strawberry.field(description="Reserved by open withdrawals.")
    withdrawn: api.MoneyType


@strawberry.type(name="DistributorTeam")
class TeamNode:
    level1: int = strawberry.field(description="Members bound to this promoter now.")
    level2: int = strawberry.field(description="Members bound to those members now.")


async def promoter_team(root: Any, info: api.Info) -> TeamNode:
    """Members bound now, at level 1 and level 2 (one loader for a page of promoters)."""
    loader = info.context.loader(("distributor", "team"), _team_loader(info))
    found: TeamNode = await loader.load(root.pk)
    return found


@strawberry.type(name="DistributorPromoter")
class PromoterNode(api.Node):
    member_id: strawberry.ID
    status: PromoterStatus
    source: str = strawberry.field(description="apply, auto, spend or staff.")
    code: str = strawberry.field(description="The invite code; links carry it too.")
    staff_id: strawberry.ID | None
    store_id: strawberry.ID | None
    joined_at: datetime
    reviewed_at: datetime | None
    balance: BalanceNode
    pk: strawberry.Private[int]
    team: TeamNode = strawberry.field(
        resolver=promoter_team, description="Members bound now, at level 1 and level 2."
    )


@strawberry.type(name="DistributorCommission")
class CommissionNode(api.Node):
    promoter_id: strawberry.ID
    order_id: strawberry.ID
    line_id: strawberry.ID
    level: int
    product_name: str
    quantity: int
    basis: api.MoneyType = strawberry.field(description="What the line paid (fees excluded).")
    kind: str = strawberry.field(description="percent (rate in basis points) or fixed per unit.")
    rate: int
    amount: api.MoneyType
    reversed: api.MoneyType = strawberry.field(description="Taken back by refunds of the line.")
    status: CommissionStatus
    earned_at: datetime
    unfreeze_at: datetime | None


@strawberry.type(name="DistributorWithdrawal")
class WithdrawalNode(api.Node):
    promoter_id: strawberry.ID
    amount: api.MoneyType
    fee: api.MoneyType
    net: api.MoneyType = strawberry.field(description="What is transferred: amount - fee.")
    account: str
    status: WithdrawalStatus
    requested_at: datetime
    reviewed_at: datetime | None
    paid_at: datetime | None


@strawberry.type(name="DistributorBinding")
class BindingNode(api.Node):
    member_id: strawberry.ID
    promoter_id: strawberry.ID
    source: str = strawberry.field(description="link, code or register.")
    bound_at: datetime
    expires_at: datetime | None
    protected_until: datetime | None


def gid(kind: str, pk: int | None) -> strawberry.ID | None:
    """A global ID, or None."""
    return None if pk is None else strawberry.ID(api.to_global(kind, pk))


def _id(kind: str, pk: int) -> strawberry.ID:
    return strawberry.ID(api.to_global(kind, pk))


def promoter_node(tenant: api.TenantInfo, p: DistributorPromoter) -> PromoterNode:
    """A promoter as GraphQL shows it."""

    def money(amount: int) -> api.MoneyType:
        return api.MoneyType.of(amount, tenant.currency)

    return PromoterNode(
        id=_id("DistributorPromoter", p.id),
        member_id=_id("Member", p.member_id),
        status=PromoterStatus(p.status),
        source=p.source,
        code=p.code,
        staff_id=gid("Staff", p.staff_id),
        store_id=gid("Store", p.store_id),
        joined_at=p.joined_at,
        reviewed_at=p.reviewed_at,
        balance=BalanceNode(
            pending=money(p.pending),
            frozen=money(p.frozen),
            available=money(p.available),
            withdrawing=money(p.withdrawing),
            withdrawn=money(p.withdrawn),
        ),
        pk=p.id,
    )


def commission_node(tenant: api.TenantInfo, c: DistributorCommission) -> CommissionNode:
    """A commission as GraphQL shows it."""
    return CommissionNode(
        id=_id("DistributorCommission", c.id),
        promoter_id=_id("DistributorPromoter", c.promoter_id),
        order_id=_id("Order", c.order_id),
        line_id=_id("OrderLine", c.line_id),
        level=c.level,
        product_name=c.product_name,
        quantity=c.quantity,
        basis=api.MoneyType.of(c.basis, tenant.currency),
        kind=c.kind,
        rate=c.rate,
        amount=api.MoneyType.of(c.amount, tenant.currency),
        reversed=api.MoneyType.of(c.reversed_amount, tenant.currency),
        status=CommissionStatus(c.status),
        earned_at=c.earned_at,
        unfreeze_at=c.unfreeze_at,
    )


def withdrawal_node(tenant: api.TenantInfo, w: DistributorWithdrawal) -> WithdrawalNode:
    """A withdrawal as GraphQL shows it."""
    return WithdrawalNode(
        id=_id("DistributorWithdrawal", w.id),
        promoter_id=_id("DistributorPromoter", w.promoter_id),
        amount=api.MoneyType.of(w.amount, tenant.currency),
        fee=api.MoneyType.of(w.fee, tenant.currency),
        net=api.MoneyType.of(w.amount - w.fee, tenant.currency),
        account=w.account,
        status=WithdrawalStatus(w.status),
        requested_at=w.requested_at,
        reviewed_at=w.reviewed_at,
        paid_at=w.paid_at,
    )


def binding_node(b: DistributorBinding) -> BindingNode:
    """A binding as GraphQL shows it."""
    return BindingNode(
        id=_id("DistributorBinding", b.id),
        member_id=_id("Member", b.member_id),
        promoter_id=_id("DistributorPromoter", b.promoter_id),
        source=b.source,
        bound_at=b.bound_at,
        expires_at=b.expires_at,
        protected_until=b.protected_until,
    )


def page_size(first: int) -> int:
    """``first`` clamped to 0..MAX_PAGE."""
    return max(0, min(first, MAX_PAGE))


def _live() -> Q:
    return Q(expires_at__isnull=True) | Q(expires_at__gt=api.now())


async def team_counts(tenant_id: int, promoter_ids: Sequence[int]) -> list[TeamNode]:
    """Level-1 and level-2 members bound now, per promoter, in three queries."""
    first = await DistributorBinding.filter(
        _live(), tenant_id=tenant_id, promoter_id__in=list(promoter_ids)
    ).values("promoter_id", "member_id")
    owner: dict[int, int] = {}  # member -> the promoter they are bound to (level 1)
    level1: dict[int, int] = defaultdict(int)
    for r in first:
        owner[r["member_id"]] = r["promoter_id"]
        level1[r["promoter_id"]] += 1
    downline = await DistributorPromoter.filter(
        tenant_id=tenant_id, member_id__in=list(owner)
    ).values("id", "member_id")
    parent = {r["id"]: owner[r["member_id"]] for r in downline}
    counts = (
        await DistributorBinding.filter(_live(), tenant_id=tenant_id, promoter_id__in=list(parent))
        .annotate(n=Count("id"))
        .group_by("promoter_id")
        .values("promoter_id", "n")
        if parent
        else []
    )
    level2: dict[int, int] = defaultdict(int)
    for r in counts:
        level2[parent[r["promoter_id"]]] += r["n"]
    return [TeamNode(level1=level1[p], level2=level2[p]) for p in promoter_ids]


def _team_loader(info: api.Info) -> Callable[[Sequence[int]], Awaitable[list[TeamNode]]]:
    tenant_id = info.context.tenant.id

    async def load(keys: Sequence[int]) -> list[TeamNode]:
        return await team_counts(tenant_id, keys)

    return load
