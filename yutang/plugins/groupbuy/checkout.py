"""Group-buy lines in a checkout: the one-line rule, the price, the seat and the limit.

A line takes part with ``activity: {plugin: "groupbuy", ref: <GroupbuyItem ID>}``; it
opens a team, or joins the team in ``extensions: {groupbuy: {team: <GroupbuyTeam ID>}}``.
The order holds that one line only, so a failed team refunds the whole order. Seats and
the member's quota are taken by conditional UPDATEs in placeOrder's transaction and given
back, exactly once, when the order is cancelled or refunded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec
from tortoise.expressions import F

from yutang import api
from yutang.plugins.groupbuy import teams
from yutang.plugins.groupbuy.activities import running
from yutang.plugins.groupbuy.models import (
    ABANDONED,
    HELD,
    OPEN,
    PAID,
    PENDING,
    REFUNDED,
    RELEASED,
    GroupbuyActivity,
    GroupbuyItem,
    GroupbuyQuota,
    GroupbuySeat,
    GroupbuyTeam,
)

PLUGIN = "groupbuy"
ITEM, TEAM = "GroupbuyItem", "GroupbuyTeam"
TEAM_FIELD = "extensions.groupbuy.team"
CODES = api.ErrorCodes(
    PLUGIN,
    {
        "GROUPBUY_TEAM_MISMATCH": "the team joined is of another group buy than the line's",
        "GROUPBUY_TEAM_CLOSED": "the team joined takes nobody any more: it is pending (its "
        "leader has not paid), succeeded or failed",
        "GROUPBUY_TEAM_FULL": "every seat of the team joined is taken",
        "GROUPBUY_ALREADY_IN_TEAM": "the member already holds a seat in the team joined",
    },
)
"""Its own codes; every other refusal is a shared one (ORDER_ALONE, NOT_APPLICABLE,
NOT_OPEN, EXPIRED, LIMIT_EXCEEDED, LIMIT_REACHED)."""


class GroupbuyInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The team a group-buy line joins (its ID); leave `groupbuy` out to open a team."""

    team: str


@dataclass(frozen=True, slots=True)
class Claim:
    """The checkout's group-buy line resolved: its item, activity and the team joined."""

    index: int
    quantity: int
    item: GroupbuyItem
    activity: GroupbuyActivity
    team: GroupbuyTeam | None

    @property
    def unit_price(self) -> int:
        """The leader price for whoever opens a team (if set), else the group price."""
        if self.team is None and self.item.leader_price is not None:
            return int(self.item.leader_price)
        return int(self.item.price)


def item_ref(item_id: int) -> str:
    """The activity ref a client sends for an item."""
    return api.to_global(ITEM, item_id)


class Groupbuy(api.Activity[Claim]):
    """The group-buy activity kind: one line ``{plugin: "groupbuy", ref: <GroupbuyItem ID>}``
    opening a team or joining ``extensions.groupbuy.team``."""

    kind = PLUGIN

    async def resolve(self, checkout: api.CheckoutContext, lines: list[api.CheckoutLine]) -> Claim:
        """The one line alone, a running activity or a joinable team, within the limit."""
        claim = await _resolve(checkout, lines[0])
        await precheck(checkout, claim)
        return claim

    def price(self, draft: api.Draft, claim: Claim) -> None:
        """The group (or leader) price, exclusive of other discounts."""
        line = draft.lines[claim.index]
        label = "团长价" if claim.team is None and claim.item.leader_price is not None else "拼团价"
        draft.set_activity_price(line, min(claim.unit_price, line.unit_price), label)

    def payment_deadline(self, checkout: api.CheckoutContext, claim: Claim) -> datetime | None:
        """The seat is held for the activity's payment minutes, never past the team's expiry."""
        deadline = checkout.now + timedelta(minutes=claim.activity.payment_minutes)
        if claim.team is not None and claim.team.expires_at is not None:
            deadline = min(deadline, claim.team.expires_at)
        return deadline

    async def reserve(self, checkout: api.CheckoutContext, claim: Claim, order_id: int) -> None:
        """Take the member's quota and a seat."""
        await reserve(checkout, claim, order_id)

    async def release(
        self, tenant: api.TenantInfo, order_id: int, lines: list[api.ReleasedLine], reason: str
    ) -> None:
        """Give the seat and quota back when the order is cancelled or refunded."""
        await release(tenant, order_id, lines, reason)

    async def accept_payment(
        self, tenant: api.TenantInfo, order_id: int, paid_at: datetime
    ) -> None:
        """Open the leader's team or confirm the seat in the payment's transaction."""
        await teams.settle_payment(tenant, order_id, paid_at, late_rule=False)

    async def claim_payment(self, tenant: api.TenantInfo, order_id: int, payment_id: int) -> bool:
        """Declined (the core refunds in full): a cancelled order cannot be revived through
        the plugin API. The payment is recorded on the member's released seat."""
        await note_late_payment(tenant, order_id, payment_id)
        return False

    async def hold(self, tenant: api.TenantInfo, order_id: int) -> str | None:
        """No shipping or pickup before the team succeeded."""
        return await teams.hold(tenant, order_id)


def check_input(checkout: api.CheckoutContext) -> None:
    """Joining a team needs a group-buy line."""
    if checkout.input(PLUGIN) is not None and not any(
        ln.activity and ln.activity.plugin == PLUGIN for ln in checkout.lines
    ):
        raise api.DomainError("INVALID", "joining a team needs a group-buy line", TEAM_FIELD)


async def _resolve(checkout: api.CheckoutContext, line: api.CheckoutLine) -> Claim:
    joining: GroupbuyInput | None = checkout.input(PLUGIN)
    if len(checkout.lines) > 1:
        other = next(ln for ln in checkout.lines if ln is not line)
        raise CODES.error(
            "ORDER_ALONE",
            "a group-buy order holds its one group-buy line only; order this separately",
            f"lines[{other.index}]",
        )
    assert line.activity is not None
    where = f"lines[{line.index}]"
    item_id = api.pk_of(line.activity.ref, ITEM, f"{where}.activity.ref")
    item = (
        await GroupbuyItem.filter(tenant_id=checkout.tenant.id, id=item_id)
        .select_related("activity")
        .first()
    )
    if item is None:
        raise api.NotFound("group-buy item", f"{where}.activity.ref")
    if item.sku_id != line.sku_id:
        raise CODES.error("NOT_APPLICABLE", "this SKU is not that item's", f"{where}.skuId")
    activity = item.activity
    if line.quantity > activity.member_limit:
        raise api.DomainError(
            "LIMIT_EXCEEDED",
            f"at most {activity.member_limit} per member in this group buy",
            f"{where}.quantity",
        )
    team = None
    if joining is not None:
        team = await _joinable(checkout, activity, joining.team)
    elif not running(activity, checkout.now):
        raise CODES.error(
            "NOT_OPEN", "this group buy is not open for new teams", f"{where}.activity"
        )
    return Claim(line.index, line.quantity, item, activity, team)


async def _joinable(
    checkout: api.CheckoutContext, activity: GroupbuyActivity, ref: str
) -> GroupbuyTeam:
    team = await GroupbuyTeam.get_or_none(
        tenant_id=checkout.tenant.id, id=api.pk_of(ref, TEAM, TEAM_FIELD)
    )
    if team is None:
        raise api.NotFound("group-buy team", TEAM_FIELD)
    if team.activity_id != activity.id:
        raise CODES.error("GROUPBUY_TEAM_MISMATCH", "that team is of another group buy", TEAM_FIELD)
    if activity.stopped_at is not None:
        raise CODES.error("NOT_OPEN", "this group buy was stopped", TEAM_FIELD)
    _check_open(team, checkout.now)
    member = checkout.member
    if member is not None and await GroupbuySeat.exists(
        tenant_id=checkout.tenant.id, team_id=team.id, member_id=member.id, status__in=(HELD, PAID)
    ):
        raise CODES.error("GROUPBUY_ALREADY_IN_TEAM", "you are already in this team", TEAM_FIELD)
    return team


def _check_open(team: GroupbuyTeam, now: datetime) -> None:
    """Refuse a team that takes nobody any more, saying why."""
    if team.status != OPEN:
        raise CODES.error("GROUPBUY_TEAM_CLOSED", f"this team is {team.status}", TEAM_FIELD)
    assert team.expires_at is not None
    if team.expires_at <= now:
        raise CODES.error("EXPIRED", "this team has expired", TEAM_FIELD)
    if team.seats >= team.size:
        raise CODES.error("GROUPBUY_TEAM_FULL", "every seat of this team is taken", TEAM_FIELD)


async def precheck(checkout: api.CheckoutContext, claim: Claim) -> None:
    """Refuse a member at the limit before any lock is taken (only a fast path: the
    conditional UPDATEs of :func:`reserve` decide)."""
    if checkout.member is None:
        return
    quota = await GroupbuyQuota.get_or_none(
        tenant_id=checkout.tenant.id, activity_id=claim.activity.id, member_id=checkout.member.id
    )
    if quota is not None and quota.taken + claim.quantity > claim.activity.member_limit:
        raise _limit_reached(claim)


def _limit_reached(claim: Claim) -> api.DomainError:
    return api.DomainError(
        "LIMIT_REACHED",
        f"you already hold the {claim.activity.member_limit} allowed in this group buy "
        "(unpaid orders count)",
        f"lines[{claim.index}].quantity",
    )


async def reserve(checkout: api.CheckoutContext, claim: Claim, order_id: int) -> None:
    """Take the member's quota, then a seat: a new pending team for a leader, or a seat
    in the joined team under a conditional UPDATE bounded by its size."""
    if checkout.member is None:
        raise api.DomainError("UNAUTHENTICATED", "log in as a member first")
    tenant_id, member_id = checkout.tenant.id, checkout.member.id
    activity = claim.activity
    await GroupbuyQuota.bulk_create(
        [GroupbuyQuota(tenant_id=tenant_id, activity_id=activity.id, member_id=member_id)],
        ignore_conflicts=True,
    )
    if not await GroupbuyQuota.filter(
        tenant_id=tenant_id,
        activity_id=activity.id,
        member_id=member_id,
        taken__lte=activity.member_limit - claim.quantity,
    ).update(taken=F("taken") + claim.quantity):
        raise _limit_reached(claim)
    if claim.team is None:
        team = await GroupbuyTeam.create(
            tenant_id=tenant_id,
            activity_id=activity.id,
            leader_id=member_id,
            size=activity.team_size,
        )
    else:
        team = await _take_seat(tenant_id, claim.team.id, member_id, checkout.now)
    await GroupbuySeat.create(
        tenant_id=tenant_id,
        team_id=team.id,
        activity_id=activity.id,
        item_id=claim.item.id,
        member_id=member_id,
        order_id=order_id,
        quantity=claim.quantity,
        leader=claim.team is None,
    )


async def _take_seat(tenant_id: int, team_id: int, member_id: int, now: datetime) -> GroupbuyTeam:
    """One seat, or the reason there is none. The UPDATE locks the team row until commit,
    so the member check after it sees every seat committed before."""
    took = await GroupbuyTeam.filter(
        tenant_id=tenant_id, id=team_id, status=OPEN, expires_at__gt=now, seats__lt=F("size")
    ).update(seats=F("seats") + 1)
    team = await GroupbuyTeam.get(tenant_id=tenant_id, id=team_id)
    if not took:
        _check_open(team, now)
        raise CODES.error("GROUPBUY_TEAM_FULL", "every seat of this team is taken", TEAM_FIELD)
    if await GroupbuySeat.exists(
        tenant_id=tenant_id, team_id=team_id, member_id=member_id, status__in=(HELD, PAID)
    ):
        raise CODES.error("GROUPBUY_ALREADY_IN_TEAM", "you are already in this team", TEAM_FIELD)
    return team


async def release(
    tenant: api.TenantInfo, order_id: int, lines: list[api.ReleasedLine], reason: str
) -> None:
    """Give back the quota of the units released and, once the whole seat is gone, the
    seat itself (a pending team whose leader left is abandoned). ``released`` only grows
    up to the seat's quantity, so nothing is given back twice."""
    asked = sum(ln.quantity for ln in lines)
    seat = await GroupbuySeat.get_or_none(tenant_id=tenant.id, order_id=order_id)
    if seat is None:
        return
    units = min(asked, seat.quantity - seat.released)
    if units <= 0 or not await GroupbuySeat.filter(
        id=seat.id, released__lte=seat.quantity - units
    ).update(released=F("released") + units):
        return
    await GroupbuyQuota.filter(
        tenant_id=tenant.id,
        activity_id=seat.activity_id,
        member_id=seat.member_id,
        taken__gte=units,
    ).update(taken=F("taken") - units)
    if seat.released + units < seat.quantity:
        return
    to = RELEASED if reason == "cancelled" else REFUNDED
    if not await GroupbuySeat.filter(id=seat.id, status__in=(HELD, PAID)).update(status=to):
        return
    team = GroupbuyTeam.filter(tenant_id=tenant.id, id=seat.team_id)
    if seat.leader:
        await team.filter(status=PENDING).update(status=ABANDONED, settled_at=api.now())
    paid = 1 if seat.status == PAID else 0
    await team.filter(status=OPEN).update(seats=F("seats") - 1, paid=F("paid") - paid)


async def note_late_payment(tenant: api.TenantInfo, order_id: int, payment_id: int) -> None:
    """Remember, on the released seat, a payment that came after its order was cancelled
    (the core refunds it in full; the member's teams show it)."""
    await GroupbuySeat.filter(tenant_id=tenant.id, order_id=order_id, status=RELEASED).update(
        late_payment_id=payment_id
    )
