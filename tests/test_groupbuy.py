"""The group-buy plugin over the real app: activities, opening and joining teams, success
and fulfilment holds, expiry refunds (also with a worker killed mid-way), late payments,
the one-line rule, the storefront fields, and the race for the last seat.

The frozen clock stands at 2026-06-01 10:00 in the tenants' zone (Asia/Shanghai).
When run as a script, this module is the worker process that the kill test kills.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from yutang import api
from yutang.core import clock as core_clock
from yutang.core.clock import FrozenClock
from yutang.core.contract import TenantInfo
from yutang.core.models import IdempotencyRecord, Job, Order, Payment, Product, Refund, Sku
from yutang.core.payments import record_capture
from yutang.core.runtime import Runtime, build_runtime
from yutang.core.worker import Worker
from yutang.graphql.ids import from_global, to_global
from yutang.plugins.groupbuy.models import GroupbuyQuota, GroupbuySeat, GroupbuyTeam
from yutang.testing import GraphQLClient, MakeTenant, create_member, create_staff

REPO = Path(__file__).parent.parent
WINDOW = {"startsAt": "2026-06-01T00:00:00+08:00", "endsAt": "2026-06-08T00:00:00+08:00"}
CREATE = """
mutation($input: GroupbuyActivityInput!) {
  createGroupbuyActivity(input: $input) {
    activity { id status teamSize validityMinutes paymentMinutes memberLimit virtualCompletion
      items { ref price { amount } leaderPrice { amount } } teams { open succeeded failed } }
    errors { code field message }
  }
}"""
ACTIVITY = """
query($id: ID!) { groupbuyActivity(id: $id) { teams { pending open succeeded failed } } }"""
STOP = (
    "mutation($id: ID!) { stopGroupbuyActivity(id: $id) { activity { status } errors { code } } }"
)
PLACE = """
mutation($lines: [LineInput!]!, $key: String!, $ext: CheckoutExtensionsInput) {
  placeOrder(input: {lines: $lines, idempotencyKey: $key, extensions: $ext}) {
    order { id status total { amount } }
    errors { code field message }
  }
}"""
PAY = """
mutation($id: ID!, $key: String!) {
  payOrder(input: {orderId: $id, idempotencyKey: $key}) { order { status } errors { code field } }
}"""
FULFIL = """
mutation($o: ID!) { fulfilOrder(orderId: $o) { order { status } errors { code field message } } }"""
TEAM_FIELDS = """id status size seatsLeft paidMembers virtualMembers expiresAt activityName
  members { name leader paid }"""
TEAM = f"query($id: ID!) {{ groupbuyTeam(id: $id) {{ {TEAM_FIELDS} }} }}"
MINE = f"""{{ myGroupbuyTeams {{ edges {{ node {{ seat leader quantity moved
  latePaymentRefunded team {{ {TEAM_FIELDS} }} }} }} }} }}"""
ORDER_TEAM = "query($id: ID!) { order(id: $id) { groupbuyTeam { id status } } }"


def listed(data: dict[str, Any], name: str) -> list[Any]:
    """The nodes of the connection ``name`` in ``data``."""
    return [edge["node"] for edge in data[name]["edges"]]


PRODUCTS = """{ products { edges { node { name
  groupbuy { name teamSize items { ref price { amount } leaderPrice { amount } } }
  groupbuyTeams { id seatsLeft members { name } } } } } }"""

Make = Callable[..., Awaitable[Product]]


@pytest_asyncio.fixture
async def tenant(make_tenant: MakeTenant) -> TenantInfo:
    """The shop, with group buy enabled."""
    return await make_tenant("shop", plugins=["groupbuy"])


@pytest.fixture(autouse=True)
def clock(frozen_clock: FrozenClock) -> FrozenClock:
    return frozen_clock


def pk(global_id: str) -> int:
    return from_global(global_id)[1]


async def a_sku(make_product: Make, price: int = 5800, stock: int = 100) -> Sku:
    product = await make_product("Tea", [(price, stock)])
    return (await Sku.filter(product_id=product.id).order_by("id"))[0]


async def create(admin: GraphQLClient, sku: Sku, **extra: Any) -> dict[str, Any]:
    """The createGroupbuyActivity payload: 3-person teams living an hour by default."""
    item = {"skuId": to_global("Sku", sku.id), "price": 3000, **extra.pop("item", {})}
    inp = {"name": "三人团", **WINDOW, "teamSize": 3, "validityMinutes": 60, "items": [item]}
    result: dict[str, Any] = (await admin(CREATE, {"input": {**inp, **extra}}))[
        "createGroupbuyActivity"
    ]
    return result


async def activity(admin: GraphQLClient, sku: Sku, **extra: Any) -> dict[str, Any]:
    payload = await create(admin, sku, **extra)
    assert payload["errors"] == [], payload["errors"]
    result: dict[str, Any] = payload["activity"]
    return result


def line(sku: Sku, act: dict[str, Any], quantity: int = 1) -> dict[str, Any]:
    ref = act["items"][0]["ref"]
    return {
        "skuId": to_global("Sku", sku.id),
        "quantity": quantity,
        "activity": {"plugin": "groupbuy", "ref": ref},
    }


async def place(
    client: GraphQLClient, lines: list[dict[str, Any]], key: str, team: str | None = None
) -> dict[str, Any]:
    ext = {"groupbuy": {"team": team}} if team else None
    data = await client(PLACE, {"lines": lines, "key": key, "ext": ext})
    result: dict[str, Any] = data["placeOrder"]
    return result


async def pay(client: GraphQLClient, order_id: str, worker: Worker) -> None:
    paid = (await client(PAY, {"id": order_id, "key": f"pay-{order_id}"}))["payOrder"]
    assert paid["errors"] == [], paid
    await worker.run_until_idle()


async def buyer(
    tenant: TenantInfo, storefront: GraphQLClient, n: int, nickname: str = ""
) -> GraphQLClient:
    row, token = await create_member(tenant, f"1380000{n:04d}")
    if nickname:
        row.nickname = nickname
        await row.save(update_fields=["nickname"])
    return storefront.as_(token)


async def team_of(order_id: str) -> GroupbuyTeam:
    seat = await GroupbuySeat.get(order_id=pk(order_id))
    return await GroupbuyTeam.get(id=seat.team_id)


async def opened_team(
    me: GraphQLClient, sku: Sku, act: dict[str, Any], worker: Worker, key: str = "lead"
) -> tuple[str, str]:
    """(order id, team id) of a team ``me`` opened and paid for."""
    placed = await place(me, [line(sku, act)], key)
    assert placed["errors"] == [], placed
    await pay(me, placed["order"]["id"], worker)
    team = await team_of(placed["order"]["id"])
    return placed["order"]["id"], to_global("GroupbuyTeam", team.id)


async def joined(client: GraphQLClient, sku: Sku, act: dict[str, Any], team: str, key: str) -> str:
    placed = await place(client, [line(sku, act)], key, team)
    assert placed["errors"] == [], placed
    order_id: str = placed["order"]["id"]
    return order_id


# --- one document for every tenant --------------------------------------------------------

JOIN = """
mutation($lines: [LineInput!]!, $key: String!, $team: String!) {
  placeOrder(input: {lines: $lines, idempotencyKey: $key,
                     extensions: {groupbuy: {team: $team}}}) {
    order { id status }
    errors { code field message }
  }
}"""
TEAM_INPUT = """{ __type(name: "GroupbuyCheckoutInput") {
  inputFields { name type { kind ofType { name } } } } }"""


async def test_one_typed_document_joins_here_and_is_refused_where_groupbuy_is_disabled(
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_tenant: MakeTenant,
    make_product: Make,
    worker: Worker,
) -> None:
    """``extensions: {groupbuy: {team}}`` is typed in every tenant's schema, so a
    storefront sends one document to all of them; a tenant without group buy answers
    PLUGIN_DISABLED naming ``extensions.groupbuy`` and writes nothing."""
    plain = await make_tenant("plain")
    bare = storefront.as_(tenant="plain")
    team_field = [{"name": "team", "type": {"kind": "NON_NULL", "ofType": {"name": "String"}}}]
    for client in (storefront, bare):
        assert (await client(TEAM_INPUT))["__type"]["inputFields"] == team_field
    sku = await a_sku(make_product)
    act = await activity(admin, sku, teamSize=3)
    _, team_id = await opened_team(await buyer(tenant, storefront, 1), sku, act, worker)
    variables = {"lines": [line(sku, act)], "key": "join", "team": team_id}

    joiner = await buyer(tenant, storefront, 2)
    placed = (await joiner(JOIN, variables))["placeOrder"]
    assert placed["errors"] == [] and placed["order"]["status"] == "PENDING_PAYMENT"

    _, token = await create_member(plain, "13800000002")
    written = (await Order.all().count(), await IdempotencyRecord.all().count())
    refused = (await bare.as_(token)(JOIN, variables))["placeOrder"]
    assert refused == {
        "order": None,
        "errors": [
            {
                "code": "PLUGIN_DISABLED",
                "field": "extensions.groupbuy",
                "message": "groupbuy is not enabled for this shop",
            }
        ],
    }
    assert (await Order.all().count(), await IdempotencyRecord.all().count()) == written
    assert await GroupbuySeat.all().count() == 2  # the leader's and the joiner's


# --- activities --------------------------------------------------------------------------


async def test_admin_creates_an_activity_and_bad_input_names_the_field(
    admin: GraphQLClient, make_product: Make
) -> None:
    sku = await a_sku(make_product)
    act = await activity(admin, sku, item={"leaderPrice": 2500}, virtualCompletion=True)
    assert act["status"] == "RUNNING" and act["teamSize"] == 3 and act["paymentMinutes"] == 15
    assert act["virtualCompletion"] is True
    assert act["items"][0]["price"] == {"amount": 3000}
    assert act["items"][0]["leaderPrice"] == {"amount": 2500}
    cases = [
        ({"teamSize": 1}, "input.teamSize"),
        ({"item": {"price": 9000}}, "input.items[0].price"),
        ({"item": {"leaderPrice": 3100}}, "input.items[0].leaderPrice"),
        ({"paymentMinutes": 61}, "input.paymentMinutes"),
        ({"endsAt": WINDOW["startsAt"]}, "input.endsAt"),
    ]
    for extra, field in cases:
        errors = (await create(admin, sku, **extra))["errors"]
        assert [e["field"] for e in errors] == [field], (extra, errors)
    item = {"skuId": to_global("Sku", sku.id), "price": 3000}
    twice = (await create(admin, sku, items=[item, item]))["errors"]
    assert [(e["code"], e["field"]) for e in twice] == [("DUPLICATE", "input.items[1].skuId")]


async def test_clerks_follow_activities_but_only_owners_and_managers_change_them(
    admin: GraphQLClient, tenant: TenantInfo, make_product: Make
) -> None:
    sku = await a_sku(make_product)
    _, token = await create_staff(tenant, "clerk", "clerk")
    clerk = admin.as_(token)
    refused = await create(clerk, sku)
    assert refused["activity"] is None
    assert [e["code"] for e in refused["errors"]] == ["FORBIDDEN"]
    act = await activity(admin, sku)
    stop = (await clerk(STOP, {"id": act["id"]}))["stopGroupbuyActivity"]
    assert [e["code"] for e in stop["errors"]] == ["FORBIDDEN"]
    seen = (await clerk(ACTIVITY, {"id": act["id"]}))["groupbuyActivity"]
    assert seen["teams"] == {"pending": 0, "open": 0, "succeeded": 0, "failed": 0}
    done = (await admin(STOP, {"id": act["id"]}))["stopGroupbuyActivity"]
    assert done["errors"] == [] and done["activity"]["status"] == "STOPPED"


async def test_stopping_again_changes_nothing(
    admin: GraphQLClient, make_product: Make, clock: FrozenClock
) -> None:
    act = await activity(admin, await a_sku(make_product))
    stop = """mutation($id: ID!) { stopGroupbuyActivity(id: $id) {
      activity { status stoppedAt } errors { code } } }"""
    first = (await admin(stop, {"id": act["id"]}))["stopGroupbuyActivity"]
    assert first["errors"] == [] and first["activity"]["status"] == "STOPPED"
    assert first["activity"]["stoppedAt"] is not None
    clock.advance(timedelta(minutes=5))
    second = (await admin(stop, {"id": act["id"]}))["stopGroupbuyActivity"]
    assert second["errors"] == []
    assert second["activity"] == first["activity"]
    unknown = await admin(stop, {"id": to_global("GroupbuyActivity", 999)})
    assert [e["code"] for e in unknown["stopGroupbuyActivity"]["errors"]] == ["NOT_FOUND"]


# --- the flow: open, join, succeed, fulfil -------------------------------------------------


async def test_the_last_paid_member_completes_the_team_and_its_orders_become_fulfillable(
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Make,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    sku = await a_sku(make_product)
    act = await activity(admin, sku, item={"leaderPrice": 2500})
    leader = await buyer(tenant, storefront, 1, "王小明")
    placed = await place(leader, [line(sku, act)], "lead")
    assert placed["order"]["total"] == {"amount": 2500}  # the leader price
    team = await team_of(placed["order"]["id"])
    assert team.status == "pending"  # the team exists once the leader paid
    lead_order = placed["order"]["id"]
    await pay(leader, lead_order, worker)
    team = await team_of(lead_order)
    assert team.status == "open" and team.expires_at == core_clock.now() + timedelta(hours=1)
    team_id = to_global("GroupbuyTeam", team.id)

    orders = [lead_order]
    for n in (2, 3):
        client = await buyer(tenant, storefront, n)
        order_id = await joined(client, sku, act, team_id, f"join-{n}")
        total = (await Order.get(id=pk(order_id))).total
        assert total == 3000
        orders.append(order_id)
        held = (await admin(FULFIL, {"o": lead_order}))["fulfilOrder"]["errors"]
        assert held == [
            {
                "code": "FULFILMENT_HELD",
                "field": "orderId",
                "message": "the group-buy team has not succeeded yet (拼团未成功)",
            }
        ]
        with pytest.raises(api.DomainError) as refused:  # the path store pickup takes
            await api.fulfil_order(tenant, pk(lead_order))
        assert refused.value.code == "FULFILMENT_HELD"
        await pay(client, order_id, worker)

    page = (await storefront(TEAM, {"id": team_id}))["groupbuyTeam"]
    assert page["status"] == "SUCCEEDED" and page["seatsLeft"] == 0 and page["paidMembers"] == 3
    assert page["members"][0] == {"name": "王**", "leader": True, "paid": True}
    assert page["members"][1]["name"] == "138****0002"
    assert (await GroupbuyTeam.get(id=pk(team_id))).settled_at is not None
    mine = await leader(ORDER_TEAM, {"id": lead_order})
    assert mine["order"]["groupbuyTeam"] == {"id": team_id, "status": "SUCCEEDED"}

    await worker.run_until_idle()  # redelivery changes nothing: paid counted once
    team = await GroupbuyTeam.get(id=pk(team_id))
    assert (team.paid, team.seats, team.status) == (3, 3, "succeeded")
    paid_events = await Job.filter(name="event:yutang_order_paid", plugins=["groupbuy"]).count()
    assert paid_events == 3
    assert await Job.filter(name="groupbuy.expire").count() == 1
    for order_id in orders:
        done = (await admin(FULFIL, {"o": order_id}))["fulfilOrder"]
        assert done["errors"] == [] and done["order"]["status"] == "FULFILLED"
    # the expiry job later finds a succeeded team and does nothing
    clock.advance(timedelta(hours=2))
    await worker.run_until_idle()
    assert (await GroupbuyTeam.get(id=pk(team_id))).status == "succeeded"
    assert await Refund.all().count() == 0


async def test_joining_is_refused_with_a_clear_code(
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Make,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    sku = await a_sku(make_product)
    act = await activity(admin, sku, teamSize=2)
    leader = await buyer(tenant, storefront, 1)
    _, team_id = await opened_team(leader, sku, act, worker)

    async def error(client: GraphQLClient, key: str, **kw: Any) -> dict[str, Any]:
        placed = await place(
            client, kw.pop("lines", [line(sku, act)]), key, kw.pop("team", team_id)
        )
        return placed["errors"][0]

    again = await error(leader, "self")
    assert (again["code"], again["field"]) == (
        "GROUPBUY_ALREADY_IN_TEAM",
        "extensions.groupbuy.team",
    )
    other = await buyer(tenant, storefront, 2)
    plain = await a_sku(make_product, 1000)
    mixed = await error(
        other, "mixed", lines=[line(sku, act), {"skuId": to_global("Sku", plain.id), "quantity": 1}]
    )
    assert (mixed["code"], mixed["field"]) == ("ORDER_ALONE", "lines[1]")
    limit = await error(other, "two", lines=[line(sku, act, 2)])
    assert (limit["code"], limit["field"]) == ("LIMIT_EXCEEDED", "lines[0].quantity")
    unknown = await error(other, "bad", team=to_global("GroupbuyTeam", 999))
    assert (unknown["code"], unknown["field"]) == ("NOT_FOUND", "extensions.groupbuy.team")
    order_id = await joined(other, sku, act, team_id, "fill")
    third = await buyer(tenant, storefront, 3)
    assert (await error(third, "full"))["code"] == "GROUPBUY_TEAM_FULL"  # held seats count
    # the joiner never pays: the seat comes back at the deadline, and quota too
    clock.advance(timedelta(minutes=15))
    await worker.run_until_idle()
    assert (await Order.get(id=pk(order_id))).status == "cancelled"
    assert (await GroupbuyTeam.get(id=pk(team_id))).seats == 1
    assert (
        await GroupbuyQuota.get(member_id=(await GroupbuySeat.get(order_id=pk(order_id))).member_id)
    ).taken == 0
    clock.advance(timedelta(minutes=46))  # past the team's expiry
    assert (await error(third, "late"))["code"] in ("GROUPBUY_TEAM_CLOSED", "EXPIRED")


async def test_a_leader_who_never_pays_leaves_an_abandoned_team_nobody_can_join(
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Make,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    sku = await a_sku(make_product)
    act = await activity(admin, sku)
    leader = await buyer(tenant, storefront, 1)
    placed = await place(leader, [line(sku, act)], "lead")
    team = await team_of(placed["order"]["id"])
    other = await buyer(tenant, storefront, 2)
    pending = await place(other, [line(sku, act)], "j", to_global("GroupbuyTeam", team.id))
    assert pending["errors"][0]["code"] == "GROUPBUY_TEAM_CLOSED"
    clock.advance(timedelta(minutes=16))
    await worker.run_until_idle()
    assert (await GroupbuyTeam.get(id=team.id)).status == "abandoned"
    assert (await Sku.get(id=sku.id)).stock == 100


# --- expiry -----------------------------------------------------------------------------


async def short_team(
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Make,
    worker: Worker,
    members: int = 3,
    **extra: Any,
) -> tuple[Sku, dict[str, Any], str, list[str]]:
    """A team of ``members + 1`` with ``members`` paid: (sku, activity, team id, orders)."""
    sku = await a_sku(make_product)
    act = await activity(admin, sku, teamSize=members + 1, **extra)
    leader = await buyer(tenant, storefront, 1)
    lead_order, team_id = await opened_team(leader, sku, act, worker)
    orders = [lead_order]
    for n in range(2, members + 1):
        client = await buyer(tenant, storefront, n)
        order_id = await joined(client, sku, act, team_id, f"j{n}")
        await pay(client, order_id, worker)
        orders.append(order_id)
    return sku, act, team_id, orders


async def test_an_expired_team_is_failed_and_every_paid_member_refunded_once(
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Make,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    sku, act, team_id, orders = await short_team(admin, storefront, tenant, make_product, worker)
    assert (await Sku.get(id=sku.id)).stock == 97
    clock.advance(timedelta(minutes=59))
    await worker.run_until_idle()
    assert (await GroupbuyTeam.get(id=pk(team_id))).status == "open"
    clock.advance(timedelta(minutes=1))
    await worker.run_until_idle()
    await worker.run_until_idle()
    assert (await GroupbuyTeam.get(id=pk(team_id))).status == "failed"
    for order_id in orders:
        order = await Order.get(id=pk(order_id))
        assert (order.status, order.refunded_amount) == ("refunded", order.paid_amount)
        refunds = await Refund.filter(order_id=order.id)
        assert [r.status for r in refunds] == ["refunded"]
    assert (await Sku.get(id=sku.id)).stock == 100
    assert {s.status for s in await GroupbuySeat.all()} == {"refunded"}
    assert {q.taken for q in await GroupbuyQuota.all()} == {0}
    counts = (await admin(ACTIVITY, {"id": act["id"]}))["groupbuyActivity"]["teams"]
    assert counts["failed"] == 1 and counts["open"] == 0


async def test_virtual_completion_succeeds_an_expiring_team_knowingly(
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Make,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    _, _, team_id, orders = await short_team(
        admin, storefront, tenant, make_product, worker, members=2, virtualCompletion=True
    )
    clock.advance(timedelta(hours=1))
    await worker.run_until_idle()
    page = (await storefront(TEAM, {"id": team_id}))["groupbuyTeam"]
    assert (page["status"], page["virtualMembers"], page["seatsLeft"]) == ("SUCCEEDED", 1, 0)
    assert await Refund.all().count() == 0
    done = (await admin(FULFIL, {"o": orders[0]}))["fulfilOrder"]
    assert done["errors"] == []


# --- late payments -------------------------------------------------------------------------


async def gateway_payment(tenant: TenantInfo, order_id: str, reference: str) -> None:
    """A payment opened at a gateway whose confirmation has not come yet."""
    order = await Order.get(id=pk(order_id))
    await Payment.create(
        tenant_id=tenant.id,
        order_id=order.id,
        provider="dev",
        amount=order.total,
        reference=reference,
    )


@pytest.mark.parametrize("virtual", [False, True], ids=["expired", "filled-virtually"])
async def test_a_payment_after_the_team_closed_takes_a_seat_in_another_open_team(
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Make,
    worker: Worker,
    clock: FrozenClock,
    virtual: bool,
) -> None:
    sku = await a_sku(make_product)
    act = await activity(admin, sku, virtualCompletion=virtual)
    _, first = await opened_team(await buyer(tenant, storefront, 1), sku, act, worker, "a")
    clock.advance(timedelta(minutes=30))
    _, second = await opened_team(await buyer(tenant, storefront, 2), sku, act, worker, "b")
    late = await buyer(tenant, storefront, 3)
    clock.advance(timedelta(minutes=20))
    order_id = await joined(late, sku, act, first, "late")
    await gateway_payment(tenant, order_id, "P-late")
    clock.advance(timedelta(minutes=10))  # the first team's expiry and this seat's deadline
    await record_capture(tenant, "dev", "P-late", 3000)  # before any job ran
    await worker.run_until_idle()
    assert (await GroupbuyTeam.get(id=pk(first))).status == ("succeeded" if virtual else "failed")
    assert (await Order.get(id=pk(order_id))).status == "paid"
    mine = listed(await late(MINE), "myGroupbuyTeams")
    assert [(m["seat"], m["moved"], m["team"]["id"]) for m in mine] == [("PAID", True, second)]
    assert mine[0]["team"]["paidMembers"] == 2
    assert await Refund.filter(order_id=pk(order_id)).count() == 0


async def test_a_late_payment_leads_a_new_team_when_no_team_is_open(
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Make,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    sku = await a_sku(make_product)
    act = await activity(admin, sku)
    _, first = await opened_team(await buyer(tenant, storefront, 1), sku, act, worker, "a")
    clock.advance(timedelta(minutes=50))
    late = await buyer(tenant, storefront, 2)
    a = await joined(late, sku, act, first, "late")
    await gateway_payment(tenant, a, "P-a")
    clock.advance(timedelta(minutes=10))
    await record_capture(tenant, "dev", "P-a", 3000)
    await worker.run_until_idle()
    mine = listed(await late(MINE), "myGroupbuyTeams")
    assert (mine[0]["seat"], mine[0]["leader"], mine[0]["team"]["status"]) == ("PAID", True, "OPEN")
    assert mine[0]["team"]["expiresAt"] == (core_clock.now() + timedelta(hours=1)).isoformat()


async def test_a_late_payment_is_refunded_in_full_when_the_activity_was_stopped(
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Make,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    sku = await a_sku(make_product)
    act = await activity(admin, sku)
    _, first = await opened_team(await buyer(tenant, storefront, 1), sku, act, worker, "a")
    _, other = await opened_team(await buyer(tenant, storefront, 2), sku, act, worker, "b")
    clock.advance(timedelta(minutes=50))
    late = await buyer(tenant, storefront, 3)
    order_id = await joined(late, sku, act, first, "late")
    await gateway_payment(tenant, order_id, "P-late")
    await admin(STOP, {"id": act["id"]})  # no new members, no new teams
    clock.advance(timedelta(minutes=10))
    await record_capture(tenant, "dev", "P-late", 3000)
    await worker.run_until_idle()
    order = await Order.get(id=pk(order_id))
    assert (order.status, order.refunded_amount) == ("refunded", 3000)
    assert [r.status for r in await Refund.filter(order_id=order.id)] == ["refunded"]
    assert (await GroupbuyTeam.get(id=pk(other))).seats == 1
    mine = listed(await late(MINE), "myGroupbuyTeams")
    assert (mine[0]["seat"], mine[0]["moved"]) == ("REFUNDED", False)
    assert (await Sku.get(id=sku.id)).stock == 100  # both teams failed and refunded too


async def test_a_payment_after_the_order_was_cancelled_is_refunded_and_shown(
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Make,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    sku = await a_sku(make_product)
    act = await activity(admin, sku, teamSize=2)
    _, team_id = await opened_team(await buyer(tenant, storefront, 1), sku, act, worker)
    slow = await buyer(tenant, storefront, 2)
    order_id = await joined(slow, sku, act, team_id, "slow")
    await gateway_payment(tenant, order_id, "P-slow")
    clock.advance(timedelta(minutes=15))
    await worker.run_until_idle()  # cancelled: the seat goes back, someone else fills it
    fast = await buyer(tenant, storefront, 3)
    await pay(fast, await joined(fast, sku, act, team_id, "fast"), worker)
    assert (await GroupbuyTeam.get(id=pk(team_id))).status == "succeeded"
    await record_capture(tenant, "dev", "P-slow", 3000)
    await worker.run_until_idle()
    assert (await Payment.get(reference="P-slow")).status == "refunded"
    assert (await Order.get(id=pk(order_id))).status == "cancelled"
    mine = listed(await slow(MINE), "myGroupbuyTeams")
    assert (mine[0]["seat"], mine[0]["latePaymentRefunded"]) == ("RELEASED", True)
    team = await GroupbuyTeam.get(id=pk(team_id))
    assert (team.seats, team.paid) == (2, 2)


# --- storefront, and a tenant without the plugin -----------------------------------------


async def test_products_show_offers_and_open_teams_and_others_see_nothing(
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Make,
    make_tenant: MakeTenant,
    worker: Worker,
) -> None:
    sku = await a_sku(make_product)
    act = await activity(admin, sku, item={"leaderPrice": 2500})
    _, team_id = await opened_team(await buyer(tenant, storefront, 1, "李雷"), sku, act, worker)
    node = (await storefront(PRODUCTS))["products"]["edges"][0]["node"]
    assert node["groupbuy"][0]["teamSize"] == 3
    assert node["groupbuy"][0]["items"][0]["leaderPrice"] == {"amount": 2500}
    assert node["groupbuyTeams"] == [{"id": team_id, "seatsLeft": 2, "members": [{"name": "李**"}]}]

    await make_tenant("plain")
    body = await storefront.as_(tenant="plain").raw(PRODUCTS)
    assert "groupbuy" in body["errors"][0]["message"]
    body = await storefront.as_(tenant="plain").raw(TEAM, {"id": team_id})
    assert "groupbuyTeam" in body["errors"][0]["message"]


# --- races (PostgreSQL) ---------------------------------------------------------------------


@pytest.mark.postgres_only
async def test_30_members_racing_for_the_last_seat_make_exactly_one_order(
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Make,
    worker: Worker,
) -> None:
    sku = await a_sku(make_product)
    act = await activity(admin, sku)
    _, team_id = await opened_team(await buyer(tenant, storefront, 1), sku, act, worker)
    second = await buyer(tenant, storefront, 2)
    await pay(second, await joined(second, sku, act, team_id, "second"), worker)
    racers = [await buyer(tenant, storefront, 100 + n) for n in range(30)]
    results = await asyncio.gather(
        *(
            c.raw(
                PLACE,
                {"lines": [line(sku, act)], "key": f"r{n}", "ext": {"groupbuy": {"team": team_id}}},
            )
            for n, c in enumerate(racers)
        )
    )
    assert not [r for r in results if r.get("errors")]
    placed = [r["data"]["placeOrder"] for r in results]
    assert len([p for p in placed if p["order"]]) == 1
    assert {e["code"] for p in placed for e in p["errors"]} == {"GROUPBUY_TEAM_FULL"}
    team = await GroupbuyTeam.get(id=pk(team_id))
    assert (team.seats, team.size) == (3, 3)
    assert await GroupbuySeat.filter(team_id=team.id).count() == 3
    assert (await Sku.get(id=sku.id)).stock == 97


async def lead_then_share(
    leader: GraphQLClient, friend: GraphQLClient, sku: Sku, act: dict[str, Any], n: int
) -> dict[str, Any]:
    """The leader pays and the friend follows the shared link at once: no worker runs in
    between (the event after the payment's commit has not been delivered)."""
    placed = await place(leader, [line(sku, act)], f"lead-{n}")
    assert placed["errors"] == [], placed
    paid = (await leader(PAY, {"id": placed["order"]["id"], "key": f"pay-{n}"}))["payOrder"]
    assert paid["errors"] == [], paid
    team = to_global("GroupbuyTeam", (await team_of(placed["order"]["id"])).id)
    return await place(friend, [line(sku, act)], f"join-{n}", team)


async def test_a_friend_can_join_the_moment_the_leader_has_paid(
    admin: GraphQLClient, storefront: GraphQLClient, tenant: TenantInfo, make_product: Make
) -> None:
    sku = await a_sku(make_product)
    act = await activity(admin, sku)
    leader, friend = await buyer(tenant, storefront, 1), await buyer(tenant, storefront, 2)
    joined = await lead_then_share(leader, friend, sku, act, 0)
    assert joined["errors"] == [] and joined["order"]["status"] == "PENDING_PAYMENT"
    team = await team_of(joined["order"]["id"])
    assert (team.status, team.seats, team.paid) == ("open", 2, 1)


@pytest.mark.postgres_only
async def test_20_friends_joining_the_moment_their_leaders_paid_are_all_seated(
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Make,
    worker: Worker,
) -> None:
    sku = await a_sku(make_product)
    act = await activity(admin, sku)
    pairs = [
        (await buyer(tenant, storefront, 2 * n), await buyer(tenant, storefront, 2 * n + 1))
        for n in range(20)
    ]
    joins = await asyncio.gather(
        *(lead_then_share(lead, friend, sku, act, n) for n, (lead, friend) in enumerate(pairs))
    )
    assert [j["errors"] for j in joins] == [[]] * 20
    assert await GroupbuySeat.filter(leader=False).count() == 20
    assert await GroupbuyTeam.filter(status="open", seats=2, paid=1).count() == 20
    await worker.run_until_idle()  # the events after commit change nothing
    assert await GroupbuyTeam.filter(status="open", seats=2, paid=1).count() == 20
    assert await GroupbuySeat.filter(status="paid").count() == 20


# --- a worker killed in the middle of the refunds (PostgreSQL) ----------------------------


@pytest.mark.postgres_only
async def test_refunds_of_a_failed_team_survive_a_killed_worker_exactly_once(
    yutang_db: Runtime,
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Make,
    worker: Worker,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    _, _, team_id, orders = await short_team(admin, storefront, tenant, make_product, worker)
    clock.advance(timedelta(hours=1))
    settings = yutang_db.settings
    log = tmp_path / "child.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            settings.database_url,
            settings.plugins_file,
            str(tmp_path),
            clock.current.isoformat(),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        try:
            deadline = time.monotonic() + 60
            while not await asyncio.to_thread((tmp_path / "arrived").exists):
                assert proc.returncode is None and time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.02)
            # the child is inside the second refund's job: one refund committed, one not
            assert (await GroupbuyTeam.get(id=pk(team_id))).status == "failed"
            assert await Refund.all().count() == 1
        finally:
            if proc.returncode is None:
                proc.kill()
            await asyncio.wait_for(proc.wait(), 10)
    assert proc.returncode == -signal.SIGKILL
    clock.advance(timedelta(seconds=31))  # past the child's lease
    for _ in range(200):
        await worker.run_until_idle()
        if await Refund.filter(status="refunded").count() == len(orders):
            break
        await asyncio.sleep(0.05)
    for order_id in orders:
        order = await Order.get(id=pk(order_id))
        assert (order.status, order.refunded_amount) == ("refunded", order.paid_amount)
        assert await Refund.filter(order_id=order.id).count() == 1


async def _child(database_url: str, plugins_file: str, barrier: str, at: str) -> None:
    """Run due jobs with a 30 s lease; stop for good inside the second refund's transaction."""
    from yutang.core.db import close_db, init_db
    from yutang.core.settings import AppSettings

    core_clock.set_clock(FrozenClock(datetime.fromisoformat(at).astimezone(UTC)))
    real, calls = api.refund_order, []

    async def refund_then_wait(*args: Any, **kwargs: Any) -> Any:
        done = await real(*args, **kwargs)
        calls.append(done)
        if len(calls) == 2:
            (Path(barrier) / "arrived").write_text("", encoding="utf-8")
            await asyncio.sleep(120)
        return done

    api.refund_order = refund_then_wait  # type: ignore[assignment]
    settings = AppSettings(database_url=database_url, plugins_file=plugins_file, db_pool_size=2)
    runtime = build_runtime(settings)
    await init_db(settings, runtime.registry)
    try:
        await Worker(runtime, lease=timedelta(seconds=30)).run_until_idle()
    finally:
        await close_db()


if __name__ == "__main__":
    asyncio.run(_child(*sys.argv[1:]))
