"""What staff search orders and members by, as tenant-scoped querysets; each filter is
served by an index that starts with ``tenant_id`` (number, member, status, store, time;
phone, spend), except the nickname's substring match, a scan of one tenant's members as
the product name search is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from yutang.core.contract import TenantInfo
from yutang.core.errors import DomainError
from yutang.core.inputs import bounded, one_of
from yutang.core.models import Member, MemberLevel, Order
from yutang.core.orders import TRANSITIONS


@dataclass(frozen=True, slots=True)
class OrderSearch:
    """Orders staff look for; every given filter must hold. ``created_from`` is
    inclusive, ``created_to`` exclusive; ``stores`` is the caller's reach (None: all)."""

    number: str | None = None
    member_phone: str | None = None
    status: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    store_id: int | None = None
    stores: frozenset[int] | None = None


@dataclass(frozen=True, slots=True)
class MemberSearch:
    """Members staff look for: by phone (exact), nickname (contains, any case), or the
    name of the level their spend reached."""

    phone: str | None = None
    nickname: str | None = None
    level: str | None = None


def orders(tenant: TenantInfo, search: OrderSearch) -> QuerySet[Order]:
    """The tenant's orders matching ``search``; INVALID naming a filter that cannot be."""
    query = Order.filter(tenant_id=tenant.id)
    if search.stores is not None:
        query = query.filter(store_id__in=sorted(search.stores) or [0])
    if search.store_id is not None:
        query = query.filter(store_id=search.store_id)
    if search.status:
        query = query.filter(status=one_of(search.status, TRANSITIONS, "status"))
    if search.number is not None:
        query = query.filter(number=bounded(search.number.strip(), "number", 32))
    if search.member_phone is not None:
        phone = bounded(search.member_phone.strip(), "memberPhone", 32)
        owners = Member.filter(tenant_id=tenant.id, phone=phone).values("id")
        query = query.filter(member_id__in=Subquery(owners))
    start, end = search.created_from, search.created_to
    if start is not None and end is not None and end <= start:
        raise DomainError("INVALID", "must be later than createdFrom", "createdTo")
    if start is not None:
        query = query.filter(created_at__gte=start)
    if end is not None:
        query = query.filter(created_at__lt=end)
    return query


async def members(tenant: TenantInfo, search: MemberSearch) -> QuerySet[Member]:
    """The tenant's members matching ``search``; INVALID for a level no one defined."""
    query = Member.filter(tenant_id=tenant.id)
    if search.phone is not None:
        query = query.filter(phone=bounded(search.phone.strip(), "phone", 32))
    if search.nickname:
        query = query.filter(nickname__icontains=bounded(search.nickname, "nickname", 100))
    if search.level is not None:
        levels = await MemberLevel.filter(tenant_id=tenant.id).order_by("min_spend")
        at = next((i for i, lv in enumerate(levels) if lv.name == search.level), None)
        if at is None:
            raise DomainError("INVALID", "no member level has this name", "level")
        query = query.filter(paid_spend__gte=levels[at].min_spend)
        if at + 1 < len(levels):
            query = query.filter(paid_spend__lt=levels[at + 1].min_spend)
    return query
