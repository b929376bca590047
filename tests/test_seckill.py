"""The seckill plugin over the real app: activities and sessions, the activity price,
activity stock and per-member limits, timeouts, the storefront fields, races.

The frozen clock stands at 2026-06-01 10:00 in the tenants' zone (Asia/Shanghai, UTC+8),
the first second of the 10:00–11:00 session most tests use.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, closing
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from tortoise import Tortoise
from tortoise.migrations.api import migrate as tortoise_migrate

from yutang.core.clock import FrozenClock
from yutang.core.contract import TenantInfo
from yutang.core.db import tortoise_config
from yutang.core.models import Order, Payment, Product, Sku, Tenant
from yutang.core.payments import record_capture
from yutang.core.plugins import hooks_of
from yutang.core.settings import AppSettings
from yutang.core.worker import Worker
from yutang.edge.admission import Admission
from yutang.graphql.ids import from_global, to_global
from yutang.graphql.schema import SchemaCache
from yutang.plugins.seckill.models import (
    SeckillActivity,
    SeckillMemberQuota,
    SeckillReservation,
    SeckillStock,
)
from yutang.testing import GraphQLClient, MakeTenant, create_member

WINDOW = {"startsAt": "2026-06-01T00:00:00+08:00", "endsAt": "2026-06-08T00:00:00+08:00"}
CREATE = """
mutation($input: SeckillActivityInput!) {
  createSeckillActivity(input: $input) {
    activity { id name status memberLimit limits { scope quantity } paymentMinutes
      sessions { id dailyStart dailyEnd startsAt endsAt slotStartsAt slotEndsAt
        items { id skuId productName price { amount } stock sold unpaid remaining } } }
    errors { code field message }
  }
}"""
ACTIVITY = """
query($id: ID!) {
  seckillActivity(id: $id) {
    status sessions { items { id stock sold unpaid remaining } }
  }
}"""
STOP = """
mutation($id: ID!) {
  stopSeckillActivity(id: $id) { activity { status stoppedAt } errors { code field message } }
}"""
QUOTE = """
query($lines: [LineInput!]!) {
  quote(input: {lines: $lines}) {
    quote { total { amount } lines { unitPrice { amount } amount { amount } activity { ref } }
            adjustments { source label amount { amount } } }
    errors { code field message }
  }
}"""
PLACE = """
mutation($lines: [LineInput!]!, $key: String!) {
  placeOrder(input: {lines: $lines, idempotencyKey: $key}) {
    order { id status total { amount } }
    errors { code field message }
  }
}"""
PAY = """
mutation($id: ID!, $key: String!) {
  payOrder(input: {orderId: $id, idempotencyKey: $key}) { order { status } errors { code field } }
}"""
CANCEL = """
mutation($id: ID!) { cancelOrder(orderId: $id) { order { status } errors { code } } }"""
SESSIONS = """
{ seckillSessions { serverTime sessions { sessionId activityName startsAt endsAt status
    memberLimit items { ref skuId productName listPrice { amount } price { amount }
    stock remaining } } } }"""
PRODUCTS = """
query($first: Int! = 20) { products(first: $first) { edges { node { name
  seckill { ref price { amount } startsAt endsAt remaining memberLimit }
  skus { id price { amount } seckill { ref price { amount } remaining } } } } } }"""

Make = Callable[..., Awaitable[Product]]


@pytest_asyncio.fixture
async def tenant(make_tenant: MakeTenant) -> TenantInfo:
    """The shop, with seckill enabled."""
    return await make_tenant("shop", plugins=["seckill"])


@pytest.fixture(autouse=True)
def fresh_item_copies(yutang_runtime: Any) -> None:
    """Admission keeps items a second per (tenant, item id), and ids repeat between tests."""
    yutang_runtime.resources.clear()


@pytest.fixture(autouse=True)
def clock(frozen_clock: FrozenClock) -> FrozenClock:
    """Every test runs at 2026-06-01 10:00 +08:00."""
    return frozen_clock


def at(clock: FrozenClock, local: str) -> None:
    """Set the frozen clock to a local (+08:00) time like ``"2026-06-01T09:59:59"``."""
    clock.current = datetime.fromisoformat(local + "+08:00").astimezone(UTC)


def pk(global_id: str) -> int:
    return from_global(global_id)[1]


async def sku_of(product: Product, n: int = 0) -> Sku:
    return (await Sku.filter(product_id=product.id).order_by("id"))[n]


def gid(sku: Sku) -> str:
    return to_global("Sku", sku.id)


def session(*items: tuple[Sku, int, int], **times: str) -> dict[str, Any]:
    """A session input: (SKU, price, stock) items, then dailyStart/dailyEnd or startsAt/endsAt."""
    return {
        **times,
        "items": [{"skuId": gid(s), "price": price, "stock": stock} for s, price, stock in items],
    }


async def create(
    admin: GraphQLClient, *sessions: dict[str, Any], limit: int = 1, **extra: Any
) -> dict[str, Any]:
    """The createSeckillActivity payload: ``memberLimit`` is ``limit`` unless ``limits``
    is given."""
    limited = {} if "limits" in extra else {"memberLimit": limit}
    data = await admin(
        CREATE,
        {"input": {"name": "上午场", **WINDOW, **limited, "sessions": list(sessions), **extra}},
    )
    result: dict[str, Any] = data["createSeckillActivity"]
    return result


async def activity(admin: GraphQLClient, *sessions: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """A created activity (it must be accepted)."""
    payload = await create(admin, *sessions, **kw)
    assert payload["errors"] == [], payload["errors"]
    result: dict[str, Any] = payload["activity"]
    return result


def ref(act: dict[str, Any], session: int = 0, item: int = 0) -> str:
    return str(act["sessions"][session]["items"][item]["id"])


def line(sku: Sku, quantity: int = 1, item_ref: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"skuId": gid(sku), "quantity": quantity}
    if item_ref is not None:
        found["activity"] = {"plugin": "seckill", "ref": item_ref}
    return found


async def place(client: GraphQLClient, lines: list[dict[str, Any]], key: str) -> dict[str, Any]:
    result: dict[str, Any] = (await client(PLACE, {"lines": lines, "key": key}))["placeOrder"]
    return result


async def figures(admin: GraphQLClient, act: dict[str, Any]) -> dict[str, Any]:
    """sold / unpaid / remaining of the activity's first item."""
    data = await admin(ACTIVITY, {"id": act["id"]})
    item = data["seckillActivity"]["sessions"][0]["items"][0]
    return {k: item[k] for k in ("sold", "unpaid", "remaining")}


async def buyer(tenant: TenantInfo, storefront: GraphQLClient, phone: str) -> GraphQLClient:
    _, token = await create_member(tenant, phone)
    return storefront.as_(token)


# --- activities and sessions (admin) ---------------------------------------------------


async def test_admin_creates_activity_and_follows_sold_unpaid_remaining(
    admin, member, make_product: Make, worker: Worker, clock: FrozenClock
) -> None:
    _, me = member
    sku = await sku_of(await make_product("Longjing", [(5800, 10)]))
    act = await activity(admin, session((sku, 100, 3), dailyStart="10:00", dailyEnd="11:00"))
    assert act["status"] == "RUNNING" and act["memberLimit"] == 1 and act["paymentMinutes"] == 5
    s = act["sessions"][0]
    assert (s["dailyStart"], s["dailyEnd"]) == ("10:00", "11:00")
    assert s["slotStartsAt"] == "2026-06-01T02:00:00+00:00"
    assert s["items"][0]["productName"] == "Longjing"
    assert s["items"][0]["price"] == {"amount": 100}
    assert await figures(admin, act) == {"sold": 0, "unpaid": 0, "remaining": 3}

    placed = await place(me, [line(sku, 1, ref(act))], "o-1")
    assert placed["errors"] == [] and placed["order"]["total"] == {"amount": 100}
    assert await figures(admin, act) == {"sold": 0, "unpaid": 1, "remaining": 2}
    paid = await me(PAY, {"id": placed["order"]["id"], "key": "p-1"})
    assert paid["payOrder"]["errors"] == []
    await worker.run_until_idle()
    assert await figures(admin, act) == {"sold": 1, "unpaid": 0, "remaining": 2}

    stopped = (await admin(STOP, {"id": act["id"]}))["stopSeckillActivity"]
    assert stopped["errors"] == [] and stopped["activity"]["status"] == "STOPPED"
    clock.advance(timedelta(minutes=1))
    again = (await admin(STOP, {"id": act["id"]}))["stopSeckillActivity"]
    assert again == {"activity": stopped["activity"], "errors": []}  # stoppedAt: the first stop
    refused = (await me(QUOTE, {"lines": [line(sku, 1, ref(act))]}))["quote"]
    assert refused["errors"][0]["code"] == "NOT_OPEN"


async def test_overlapping_activities_for_the_same_sku_are_refused(
    admin, make_product: Make
) -> None:
    product = await make_product("Tea", [(5800, 10), (6800, 10)])
    a, b = await sku_of(product, 0), await sku_of(product, 1)
    first = await activity(admin, session((a, 100, 5), dailyStart="10:00", dailyEnd="11:00"))
    clash = await create(admin, session((a, 200, 5), dailyStart="10:30", dailyEnd="11:30"))
    assert clash["activity"] is None
    assert clash["errors"][0]["code"] == "OVERLAP"
    assert clash["errors"][0]["field"] == "input.sessions[0].items[0].skuId"
    assert "上午场" in clash["errors"][0]["message"]
    one_off = await create(
        admin,
        session((b, 200, 5), dailyStart="12:00", dailyEnd="13:00"),
        session(
            (a, 200, 5),
            startsAt="2026-06-03T10:59:00+08:00",
            endsAt="2026-06-03T11:10:00+08:00",
        ),
    )
    assert one_off["errors"][0]["code"] == "OVERLAP"
    assert one_off["errors"][0]["field"] == "input.sessions[1].items[0].skuId"
    own = await create(
        admin,
        session((b, 200, 5), dailyStart="20:00", dailyEnd="22:00"),
        session((b, 200, 5), dailyStart="21:00", dailyEnd="23:00"),
    )
    assert own["errors"][0]["code"] == "OVERLAP"
    # back to back, another SKU at the same time, or after a stop: accepted
    await activity(admin, session((a, 200, 5), dailyStart="11:00", dailyEnd="12:00"))
    await activity(admin, session((b, 200, 5), dailyStart="10:00", dailyEnd="11:00"))
    assert (await admin(STOP, {"id": first["id"]}))["stopSeckillActivity"]["errors"] == []
    await activity(admin, session((a, 300, 5), dailyStart="10:30", dailyEnd="10:45"))


async def test_bad_activity_input_names_the_field(admin, make_product: Make) -> None:
    sku = await sku_of(await make_product("Tea", [(5800, 10)]))
    cases = [
        (
            session((sku, 5801, 5), dailyStart="10:00", dailyEnd="11:00"),
            "input.sessions[0].items[0].price",
        ),
        (
            session((sku, 100, 0), dailyStart="10:00", dailyEnd="11:00"),
            "input.sessions[0].items[0].stock",
        ),
        (
            session((sku, 100, 5), dailyStart="25:00", dailyEnd="11:00"),
            "input.sessions[0].dailyStart",
        ),
        (
            session((sku, 100, 5), dailyStart="10:00", dailyEnd="10:00"),
            "input.sessions[0].dailyEnd",
        ),
        (session((sku, 100, 5), dailyStart="10:00"), "input.sessions[0].dailyEnd"),
        (session((sku, 100, 5)), "input.sessions[0]"),
        (
            session(
                (sku, 100, 5),
                startsAt="2026-06-09T10:00:00+08:00",
                endsAt="2026-06-09T11:00:00+08:00",
            ),
            "input.sessions[0].startsAt",
        ),
        (
            {
                "dailyStart": "10:00",
                "dailyEnd": "11:00",
                "items": [{"skuId": to_global("Sku", 999), "price": 1, "stock": 1}],
            },
            "input.sessions[0].items[0].skuId",
        ),
    ]
    for given, field in cases:
        payload = await create(admin, given)
        assert payload["activity"] is None
        assert payload["errors"][0]["field"] == field, (given, payload["errors"])
    ended = await create(
        admin,
        session((sku, 100, 5), dailyStart="10:00", dailyEnd="11:00"),
        endsAt="2026-06-01T09:00:00+08:00",
    )
    assert ended["errors"][0]["field"] == "input.endsAt"
    naive = await create(
        admin,
        session((sku, 100, 5), dailyStart="10:00", dailyEnd="11:00"),
        startsAt="2026-06-01T00:00:00",
    )
    assert naive["errors"][0]["field"] == "input.startsAt"


# --- the activity price ---------------------------------------------------------------


async def test_activity_price_only_inside_the_open_session(
    admin, member, make_product: Make, clock: FrozenClock
) -> None:
    _, me = member
    sku = await sku_of(await make_product("Tea", [(5800, 10)]))
    act = await activity(
        admin, session((sku, 100, 5), dailyStart="10:00", dailyEnd="11:00"), limit=2
    )
    both = [line(sku, 1, ref(act)), line(sku, 2)]
    for moment in ("2026-06-01T10:00:00", "2026-06-01T10:59:59", "2026-06-02T10:30:00"):
        at(clock, moment)
        quote = (await me(QUOTE, {"lines": both}))["quote"]
        assert quote["errors"] == [], moment
        first, second = quote["quote"]["lines"]
        assert first["unitPrice"] == {"amount": 100} and first["activity"] == {"ref": ref(act)}
        assert second["unitPrice"] == {"amount": 5800} and second["activity"] is None
        assert quote["quote"]["total"] == {"amount": 100 + 2 * 5800}
        assert [(a["source"], a["amount"]) for a in quote["quote"]["adjustments"]] == [
            ("seckill", {"amount": 100 - 5800})
        ]
    for moment in ("2026-06-01T09:59:59", "2026-06-01T11:00:00", "2026-06-08T10:00:00"):
        at(clock, moment)
        refused = (await me(QUOTE, {"lines": both}))["quote"]
        assert refused["quote"] is None, moment
        assert refused["errors"][0]["code"] == "NOT_OPEN"
        assert refused["errors"][0]["field"] == "lines[0].activity"
        placed = await place(me, both, f"k-{moment}")
        assert placed["order"] is None and placed["errors"][0]["code"] == "NOT_OPEN"
    assert await Order.all().count() == 0
    at(clock, "2026-06-01T11:00:00")
    normal = (await me(QUOTE, {"lines": [line(sku, 1)]}))["quote"]
    assert normal["quote"]["total"] == {"amount": 5800}


async def test_sku_not_in_the_session_and_quantity_above_the_limit(
    admin, member, make_product: Make
) -> None:
    _, me = member
    product = await make_product("Tea", [(5800, 10), (6800, 10)])
    a, b = await sku_of(product, 0), await sku_of(product, 1)
    act = await activity(admin, session((a, 100, 5), dailyStart="10:00", dailyEnd="11:00"), limit=2)
    other = (await me(QUOTE, {"lines": [line(b, 1, ref(act))]}))["quote"]
    assert [(e["code"], e["field"]) for e in other["errors"]] == [
        ("NOT_APPLICABLE", "lines[0].skuId")
    ]
    too_many = (await me(QUOTE, {"lines": [line(a, 3, ref(act))]}))["quote"]
    assert [(e["code"], e["field"]) for e in too_many["errors"]] == [
        ("LIMIT_EXCEEDED", "lines[0].quantity")
    ]
    split = (await me(QUOTE, {"lines": [line(a, 2, ref(act)), line(a, 1, ref(act))]}))["quote"]
    assert [(e["code"], e["field"]) for e in split["errors"]] == [
        ("LIMIT_EXCEEDED", "lines[1].quantity")
    ]
    unknown = (await me(QUOTE, {"lines": [line(a, 1, to_global("SeckillItem", 999))]}))["quote"]
    assert [(e["code"], e["field"]) for e in unknown["errors"]] == [
        ("NOT_FOUND", "lines[0].activity.ref")
    ]
    garbage = (await me(QUOTE, {"lines": [line(a, 1, "nope")]}))["quote"]
    assert [(e["code"], e["field"]) for e in garbage["errors"]] == [
        ("INVALID", "lines[0].activity.ref")
    ]


async def test_a_session_crossing_midnight(
    admin, member, make_product: Make, clock: FrozenClock
) -> None:
    _, me = member
    sku = await sku_of(await make_product("Tea", [(5800, 10)]))
    act = await activity(admin, session((sku, 100, 5), dailyStart="23:00", dailyEnd="01:00"))
    lines = [line(sku, 1, ref(act))]
    for moment, open_ in [
        ("2026-06-01T22:59:59", False),
        ("2026-06-01T23:00:00", True),
        ("2026-06-02T00:30:00", True),
        ("2026-06-02T00:59:59", True),
        ("2026-06-02T01:00:00", False),
        ("2026-06-01T00:30:00", True),  # the occurrence clipped to the window's start
    ]:
        at(clock, moment)
        quote = (await me(QUOTE, {"lines": lines}))["quote"]
        assert (quote["errors"] == []) is open_, (moment, quote["errors"])
    at(clock, "2026-06-02T00:30:00")
    placed = await place(me, lines, "night")
    assert placed["errors"] == []
    stock = await SeckillStock.get()
    assert stock.slot_start == datetime(2026, 6, 1, 15, 0, tzinfo=UTC) and stock.remaining == 4


# --- activity stock and the per-member limit ----------------------------------------


async def test_the_last_unit_is_buyable_then_sold_out(
    admin, storefront, tenant, make_product: Make
) -> None:
    sku = await sku_of(await make_product("Tea", [(5800, 10)]))
    act = await activity(
        admin, session((sku, 100, 3), dailyStart="10:00", dailyEnd="11:00"), limit=3
    )
    first = await buyer(tenant, storefront, "13900000011")
    second = await buyer(tenant, storefront, "13900000012")
    assert (await place(first, [line(sku, 2, ref(act))], "a"))["errors"] == []
    assert (await place(second, [line(sku, 1, ref(act))], "b"))["errors"] == []
    sold_out = await place(second, [line(sku, 1, ref(act))], "c")
    assert [(e["code"], e["field"]) for e in sold_out["errors"]] == [
        ("SOLD_OUT", "lines[0].quantity")
    ]
    assert (await SeckillStock.get()).remaining == 0
    assert (await Sku.get(id=sku.id)).stock == 7
    normal = await place(second, [line(sku, 1)], "d")
    assert normal["errors"] == [] and normal["order"]["total"] == {"amount": 5800}


async def test_the_limit_counts_unpaid_orders_and_a_cancel_gives_it_back(
    admin, member, make_product: Make
) -> None:
    row, me = member
    sku = await sku_of(await make_product("Tea", [(5800, 10)]))
    act = await activity(admin, session((sku, 100, 5), dailyStart="10:00", dailyEnd="11:00"))
    first = await place(me, [line(sku, 1, ref(act))], "1")
    assert first["errors"] == [] and first["order"]["status"] == "PENDING_PAYMENT"
    again = await place(me, [line(sku, 1, ref(act))], "2")
    assert [(e["code"], e["field"]) for e in again["errors"]] == [
        ("LIMIT_REACHED", "lines[0].quantity")
    ]
    assert (await SeckillMemberQuota.get(member_id=row.id)).taken == 1
    cancelled = await me(CANCEL, {"id": first["order"]["id"]})
    assert cancelled["cancelOrder"]["errors"] == []
    assert (await SeckillMemberQuota.get(member_id=row.id)).taken == 0
    assert (await SeckillStock.get()).remaining == 5
    assert (await Sku.get(id=sku.id)).stock == 10
    assert (await place(me, [line(sku, 1, ref(act))], "3"))["errors"] == []


async def test_unpaid_timeout_releases_both_stocks_through_the_job(
    admin, member, make_product: Make, worker: Worker, clock: FrozenClock
) -> None:
    row, me = member
    sku = await sku_of(await make_product("Tea", [(5800, 10)]))
    act = await activity(admin, session((sku, 100, 5), dailyStart="10:00", dailyEnd="11:00"))
    placed = await place(me, [line(sku, 1, ref(act))], "t")
    order = await Order.get(id=pk(placed["order"]["id"]))
    assert order.payment_deadline == clock.current + timedelta(minutes=5)
    clock.advance(timedelta(minutes=4, seconds=59))
    await worker.run_until_idle()
    assert (await Order.get(id=order.id)).status == "pending_payment"
    clock.advance(timedelta(seconds=1))
    await worker.run_until_idle()
    assert (await Order.get(id=order.id)).status == "cancelled"
    assert (await SeckillStock.get()).remaining == 5
    assert (await Sku.get(id=sku.id)).stock == 10
    assert (await SeckillMemberQuota.get(member_id=row.id)).taken == 0
    assert (await SeckillReservation.get()).released == 1
    assert await figures(admin, act) == {"sold": 0, "unpaid": 0, "remaining": 5}
    assert (await place(me, [line(sku, 1, ref(act))], "t2"))["errors"] == []


async def test_disabling_seckill_still_releases_the_stock_of_its_orders(
    admin, member, tenant, make_product: Make, worker: Worker, clock: FrozenClock
) -> None:
    """Disabled means no new activity, not stranded units: the unpaid order placed while
    seckill was on still gives its activity units back on timeout."""
    row, me = member
    sku = await sku_of(await make_product("Tea", [(5800, 10)]))
    act = await activity(
        admin, session((sku, 100, 5), dailyStart="10:00", dailyEnd="11:00"), limit=2
    )
    assert (await place(me, [line(sku, 2, ref(act))], "d"))["errors"] == []
    assert (await SeckillStock.get()).remaining == 3
    await Tenant.filter(id=tenant.id).update(plugins=[], settings_version=2)
    clock.advance(timedelta(minutes=5))
    await worker.run_until_idle()
    assert (await Order.get()).status == "cancelled"
    assert (await SeckillStock.get()).remaining == 5
    assert (await SeckillMemberQuota.get(member_id=row.id)).taken == 0
    assert (await Sku.get(id=sku.id)).stock == 10


async def test_a_payment_after_the_timeout_is_refunded_not_accepted(
    admin, member, tenant, make_product: Make, worker: Worker, clock: FrozenClock
) -> None:
    _, me = member
    sku = await sku_of(await make_product("Tea", [(5800, 10)]))
    act = await activity(admin, session((sku, 100, 5), dailyStart="10:00", dailyEnd="11:00"))
    placed = await place(me, [line(sku, 1, ref(act))], "late")
    order_id = pk(placed["order"]["id"])
    # the member opened a gateway payment in time; its confirmation arrives too late
    payment = await Payment.create(
        tenant_id=tenant.id, order_id=order_id, provider="dev", amount=100, reference="P-late"
    )
    clock.advance(timedelta(minutes=6))
    await worker.run_until_idle()
    assert (await Order.get(id=order_id)).status == "cancelled"
    await record_capture(tenant, "dev", "P-late", 100)
    await worker.run_until_idle()
    payment = await Payment.get(id=payment.id)
    assert payment.status == "refunded" and payment.claimed_by == "core"
    assert (await Order.get(id=order_id)).status == "cancelled"
    assert (await SeckillStock.get()).remaining == 5
    assert (await Sku.get(id=sku.id)).stock == 10


async def test_a_refund_gives_the_units_and_the_quota_back(
    admin, member, make_product: Make, worker: Worker
) -> None:
    row, me = member
    sku = await sku_of(await make_product("Tea", [(5800, 10)]))
    act = await activity(
        admin, session((sku, 100, 5), dailyStart="10:00", dailyEnd="11:00"), limit=2
    )
    placed = await place(me, [line(sku, 2, ref(act))], "r")
    await me(PAY, {"id": placed["order"]["id"], "key": "rp"})
    await worker.run_until_idle()
    assert await figures(admin, act) == {"sold": 2, "unpaid": 0, "remaining": 3}
    order = await admin(
        "query($id: ID!) { order(id: $id) { lines { id } } }", {"id": placed["order"]["id"]}
    )
    refund = await admin(
        """mutation($o: ID!, $l: ID!) { refundOrder(input: {orderId: $o, idempotencyKey: "rf",
           lines: [{lineId: $l, quantity: 1}]}) { errors { code field message } } }""",
        {"o": placed["order"]["id"], "l": order["order"]["lines"][0]["id"]},
    )
    assert refund["refundOrder"]["errors"] == []
    assert await figures(admin, act) == {"sold": 1, "unpaid": 0, "remaining": 4}
    assert (await SeckillMemberQuota.get(member_id=row.id)).taken == 1
    assert (await Sku.get(id=sku.id)).stock == 9


# --- limit scopes: per item per session, per session, per activity -------------------


def limits(**scopes: int) -> list[dict[str, Any]]:
    """A limits input: ``limits(ITEM_SESSION=1, ACTIVITY=3)``."""
    return [{"scope": scope, "quantity": n} for scope, n in scopes.items()]


def refusal(placed: dict[str, Any]) -> tuple[str, str, str]:
    """The one error of a refused placeOrder: (code, field, message)."""
    assert placed["order"] is None, placed
    [error] = placed["errors"]
    return error["code"], error["field"], error["message"]


async def held(member_id: int) -> dict[str, int]:
    """The member's counters by scope key (``activity``, ``session:…``, ``item_session:…``)."""
    return {q.scope: q.taken for q in await SeckillMemberQuota.filter(member_id=member_id)}


def by_scope(counters: dict[str, int]) -> dict[str, list[int]]:
    """The counters' values grouped by scope, in key order."""
    found: dict[str, list[int]] = {}
    for key in sorted(counters):
        found.setdefault(key.partition(":")[0], []).append(counters[key])
    return found


HOURS = ["10:00", "11:00", "12:00", "13:00", "14:00", "15:00", "16:00"]


async def test_a_day_of_six_sessions_of_three_items_limits_each_item_per_session(
    admin, member, make_product: Make, clock: FrozenClock, with_and_without_gate: Any
) -> None:
    """The merchant's case: one unit per item per session and four in the activity. A
    member who bought one item can buy the others, and items in other sessions (a daily
    session's next day included), but not a second unit of the same item in the same
    session, nor a fifth unit in the activity."""
    row, me = member
    product = await make_product("Tea", [(5800, 50), (6800, 50), (7800, 50)])
    a, b, c = [await sku_of(product, n) for n in range(3)]
    day = [
        session((a, 100, 10), (b, 200, 10), (c, 300, 10), dailyStart=start, dailyEnd=end)
        for start, end in pairwise(HOURS)
    ]
    act = await activity(admin, *day, limits=limits(ITEM_SESSION=1, ACTIVITY=4))
    assert act["limits"] == [
        {"scope": "ACTIVITY", "quantity": 4},
        {"scope": "ITEM_SESSION", "quantity": 1},
    ]
    assert act["memberLimit"] == 1

    assert (await place(me, [line(a, 1, ref(act, 0, 0))], "s1-a"))["errors"] == []
    assert (await place(me, [line(b, 1, ref(act, 0, 1))], "s1-b"))["errors"] == []
    assert refusal(await place(me, [line(a, 1, ref(act, 0, 0))], "s1-a-again")) == (
        "LIMIT_REACHED",
        "lines[0].quantity",
        "that would take you past the 1 allowed per member of this item in this session "
        "(unpaid orders count)",
    )
    two = (await me(QUOTE, {"lines": [line(c, 2, ref(act, 0, 2))]}))["quote"]["errors"]
    assert [(e["code"], e["field"], e["message"]) for e in two] == [
        ("LIMIT_EXCEEDED", "lines[0].quantity", "at most 1 per member of this item in this session")
    ]
    at(clock, "2026-06-01T11:00:00")
    assert (await place(me, [line(a, 1, ref(act, 1, 0))], "s2-a"))["errors"] == []
    at(clock, "2026-06-02T10:30:00")  # tomorrow's 10:00 session is another session
    assert (await place(me, [line(a, 1, ref(act, 0, 0))], "next-day-s1-a"))["errors"] == []
    at(clock, "2026-06-02T15:30:00")
    assert refusal(await place(me, [line(b, 1, ref(act, 5, 1))], "s6-b")) == (
        "LIMIT_REACHED",
        "lines[0].quantity",
        "that would take you past the 4 allowed per member in this activity (unpaid orders count)",
    )
    assert by_scope(await held(row.id)) == {"activity": [4], "item_session": [1, 1, 1, 1]}
    assert await Order.filter(member_id=row.id).count() == 4

    schedule = (await me(SESSIONS))["seckillSessions"]["sessions"]
    assert {(s["memberLimit"], len(s["items"])) for s in schedule} == {(1, 3)}


async def test_limits_combine_within_one_order_and_across_orders(
    admin,
    member,
    tenant,
    storefront,
    make_product: Make,
    clock: FrozenClock,
    with_and_without_gate: Any,
) -> None:
    """Two per item per session, three per session, four in the activity: every limit
    that applies holds, the lines of one order count together, and each member has
    their own counters."""
    row, me = member
    product = await make_product("Tea", [(5800, 50), (6800, 50), (7800, 50)])
    a, b, c = [await sku_of(product, n) for n in range(3)]
    act = await activity(
        admin,
        session((a, 100, 10), (b, 200, 10), (c, 300, 10), dailyStart="10:00", dailyEnd="11:00"),
        session((a, 100, 10), (b, 200, 10), dailyStart="11:00", dailyEnd="12:00"),
        limits=limits(ITEM_SESSION=2, SESSION=3, ACTIVITY=4),
    )
    a1, b1, c1, a2, b2 = (
        ref(act, 0, 0),
        ref(act, 0, 1),
        ref(act, 0, 2),
        ref(act, 1, 0),
        ref(act, 1, 1),
    )
    over = await place(me, [line(a, 2, a1), line(b, 2, b1)], "over")
    assert refusal(over) == (
        "LIMIT_EXCEEDED",
        "lines[1].quantity",
        "at most 3 per member in this session",
    )
    assert await Order.all().count() == 0 and await SeckillMemberQuota.all().count() == 0
    assert (await place(me, [line(a, 2, a1), line(b, 1, b1)], "one"))["errors"] == []
    # the broadest limit the order would pass is the one named
    assert refusal(await place(me, [line(a, 1, a1)], "a-again"))[2] == (
        "that would take you past the 3 allowed per member in this session (unpaid orders count)"
    )
    assert refusal(await place(me, [line(c, 1, c1)], "c"))[2] == (
        "that would take you past the 3 allowed per member in this session (unpaid orders count)"
    )
    at(clock, "2026-06-01T11:00:00")
    assert refusal(await place(me, [line(a, 2, a2)], "two-more"))[2] == (
        "that would take you past the 4 allowed per member in this activity (unpaid orders count)"
    )
    assert (await place(me, [line(a, 1, a2)], "last"))["errors"] == []
    assert refusal(await place(me, [line(b, 1, b2)], "past"))[0] == "LIMIT_REACHED"
    assert by_scope(await held(row.id)) == {
        "activity": [4],
        "item_session": [2, 1, 1],
        "session": [3, 1],
    }
    other = await buyer(tenant, storefront, "13900000081")
    assert (await place(other, [line(a, 2, a2), line(b, 1, b2)], "other"))["errors"] == []


async def test_cancel_timeout_and_refund_give_the_quota_back_in_every_scope(
    admin,
    member,
    make_product: Make,
    worker: Worker,
    clock: FrozenClock,
    with_and_without_gate: Any,
) -> None:
    row, me = member
    product = await make_product("Tea", [(5800, 50), (6800, 50)])
    a, b = await sku_of(product, 0), await sku_of(product, 1)
    act = await activity(
        admin,
        session((a, 100, 10), (b, 200, 10), dailyStart="10:00", dailyEnd="11:00"),
        limits=limits(ITEM_SESSION=1, SESSION=2, ACTIVITY=2),
    )
    both = [line(a, 1, ref(act, 0, 0)), line(b, 1, ref(act, 0, 1))]
    full = {"activity": [2], "item_session": [1, 1], "session": [2]}
    empty = {"activity": [0], "item_session": [0, 0], "session": [0]}

    first = await place(me, both, "first")
    assert first["errors"] == [] and by_scope(await held(row.id)) == full
    assert refusal(await place(me, both[:1], "refused"))[0] == "LIMIT_REACHED"
    assert (await me(CANCEL, {"id": first["order"]["id"]}))["cancelOrder"]["errors"] == []
    assert by_scope(await held(row.id)) == empty

    second = await place(me, both, "second")
    assert second["errors"] == []
    clock.advance(timedelta(minutes=5))
    await worker.run_until_idle()
    assert (await Order.get(id=pk(second["order"]["id"]))).status == "cancelled"
    assert by_scope(await held(row.id)) == empty
    assert [s.remaining for s in await SeckillStock.all().order_by("item_id")] == [10, 10]

    third = await place(me, both, "third")
    assert third["errors"] == [] and by_scope(await held(row.id)) == full
    assert (await me(PAY, {"id": third["order"]["id"], "key": "pay"}))["payOrder"]["errors"] == []
    await worker.run_until_idle()
    order = await admin(
        "query($id: ID!) { order(id: $id) { lines { id } } }", {"id": third["order"]["id"]}
    )
    refund = await admin(
        """mutation($o: ID!, $l: ID!) { refundOrder(input: {orderId: $o, idempotencyKey: "rf",
           lines: [{lineId: $l, quantity: 1}]}) { errors { code field message } } }""",
        {"o": third["order"]["id"], "l": order["order"]["lines"][0]["id"]},
    )
    assert refund["refundOrder"]["errors"] == []
    assert by_scope(await held(row.id)) == {"activity": [1], "item_session": [0, 1], "session": [1]}
    assert (await place(me, both[:1], "after-refund"))["errors"] == []


async def test_limits_input_names_the_field_and_member_limit_still_works(
    admin, make_product: Make
) -> None:
    sku = await sku_of(await make_product("Tea", [(5800, 10)]))
    one = session((sku, 100, 5), dailyStart="10:00", dailyEnd="11:00")
    cases = [
        ({"limits": []}, "INVALID", "input.limits"),
        ({"limits": limits(SESSION=0)}, "INVALID", "input.limits[0].quantity"),
        ({"limits": limits(ACTIVITY=101)}, "INVALID", "input.limits[0].quantity"),
        (
            {"limits": [*limits(SESSION=1), *limits(SESSION=2)]},
            "DUPLICATE",
            "input.limits[1].scope",
        ),
        ({"limits": limits(ACTIVITY=2), "memberLimit": 2}, "INVALID", "input.memberLimit"),
        ({"memberLimit": 101}, "INVALID", "input.memberLimit"),
    ]
    for given, code, field in cases:
        payload = await admin(
            CREATE, {"input": {"name": "x", **WINDOW, "sessions": [one], **given}}
        )
        payload = payload["createSeckillActivity"]
        assert payload["activity"] is None, given
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], given
    assert await SeckillActivity.all().count() == 0
    old = await activity(admin, one, limit=3)
    assert (old["memberLimit"], old["limits"]) == (3, [{"scope": "ACTIVITY", "quantity": 3}])


def test_the_migration_makes_member_limits_activity_limits(
    yutang_runtime: Any, tmp_path: Path
) -> None:
    """seckill 0002 on a database with an activity and units a member holds: its
    memberLimit becomes an ACTIVITY limit, the counter an ACTIVITY counter, and the
    activity table SQLite rebuilds keeps its index and its children."""
    path = tmp_path / "before.sqlite3"
    settings = AppSettings(
        database_url=f"sqlite://{path}", plugins_file=yutang_runtime.settings.plugins_file
    )
    config = tortoise_config(settings, yutang_runtime.registry, migrating=True)

    async def migrate_to(target: str) -> None:
        try:
            await tortoise_migrate(config=config, target=target)
        finally:
            await Tortoise.close_connections()

    asyncio.run(migrate_to("seckill.0001_initial"))
    with closing(sqlite3.connect(path)) as db:
        db.executescript(
            """
            INSERT INTO tenant (id, slug, name, time_zone, currency, profile, status, settings,
                                settings_version, created_at)
            VALUES (1, 'shop', 'shop', 'Asia/Shanghai', 'CNY', 'default', 'active', '{}', 1,
                    '2026-05-01');
            INSERT INTO seckill_activity (id, tenant_id, created_at, name, starts_at, ends_at,
                                          member_limit, payment_minutes)
            VALUES (1, 1, '2026-05-01', 'old', '2026-06-01', '2026-06-08', 3, 5);
            INSERT INTO seckill_session (id, tenant_id, created_at, activity_id, position,
                                         daily_start, daily_end)
            VALUES (1, 1, '2026-05-01', 1, 0, 36000, 39600);
            INSERT INTO seckill_quota (tenant_id, activity_id, member_id, taken)
            VALUES (1, 1, 7, 2);
            """
        )
    asyncio.run(migrate_to("seckill"))
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT limits FROM seckill_activity").fetchall() == [('{"activity":3}',)]
        assert db.execute(
            "SELECT activity_id, member_id, scope, taken FROM seckill_member_quota"
        ).fetchall() == [(1, 7, "activity", 2)]
        assert db.execute("SELECT count(*) FROM seckill_session").fetchall() == [(1,)]
        indexes = db.execute("PRAGMA index_list(seckill_activity)").fetchall()
        assert [i[1] for i in indexes] == ["idx_seckill_act_tenant__096fb0"]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        tables = "SELECT name FROM sqlite_master WHERE name = 'seckill_quota'"
        assert db.execute(tables).fetchall() == []


# --- storefront -------------------------------------------------------------------------


async def test_sessions_of_today_and_tomorrow_with_server_time(
    admin, member, make_product: Make, clock: FrozenClock
) -> None:
    _, me = member
    product = await make_product("Longjing", [(5800, 10), (6800, 10)])
    a, b = await sku_of(product, 0), await sku_of(product, 1)
    act = await activity(
        admin,
        session((a, 100, 5), (b, 200, 3), dailyStart="10:00", dailyEnd="11:00"),
        session((a, 300, 2), dailyStart="14:00", dailyEnd="15:00"),
    )
    await activity(
        admin,
        session(
            (b, 1, 1), startsAt="2026-06-03T09:00:00+08:00", endsAt="2026-06-03T10:00:00+08:00"
        ),
        name="后天场",
    )
    assert (await place(me, [line(a, 1, ref(act))], "s"))["errors"] == []
    at(clock, "2026-06-01T10:30:00")
    data = (await me(SESSIONS))["seckillSessions"]
    assert data["serverTime"] == "2026-06-01T02:30:00+00:00"
    sessions = data["sessions"]
    assert [(s["startsAt"], s["endsAt"], s["status"]) for s in sessions] == [
        ("2026-06-01T02:00:00+00:00", "2026-06-01T03:00:00+00:00", "OPEN"),
        ("2026-06-01T06:00:00+00:00", "2026-06-01T07:00:00+00:00", "UPCOMING"),
        ("2026-06-02T02:00:00+00:00", "2026-06-02T03:00:00+00:00", "UPCOMING"),
        ("2026-06-02T06:00:00+00:00", "2026-06-02T07:00:00+00:00", "UPCOMING"),
    ]
    now, later = sessions[0]["items"], sessions[2]["items"]
    assert [
        (i["price"]["amount"], i["listPrice"]["amount"], i["stock"], i["remaining"]) for i in now
    ] == [
        (100, 5800, 5, 4),
        (200, 6800, 3, 3),
    ]
    assert [i["remaining"] for i in later] == [5, 3]
    assert now[0]["ref"] == ref(act) and now[0]["productName"] == "Longjing"
    assert sessions[0]["activityName"] == "上午场" and sessions[0]["memberLimit"] == 1
    at(clock, "2026-06-01T11:00:00")
    statuses = [s["status"] for s in (await me(SESSIONS))["seckillSessions"]["sessions"]]
    assert statuses == ["ENDED", "UPCOMING", "UPCOMING", "UPCOMING"]


async def test_product_and_sku_show_the_seckill_price_only_while_open(
    admin, storefront, make_product: Make, clock: FrozenClock
) -> None:
    product = await make_product("Tea", [(5800, 10), (6800, 10)])
    a, b = await sku_of(product, 0), await sku_of(product, 1)
    act = await activity(
        admin, session((a, 500, 5), (b, 300, 2), dailyStart="10:00", dailyEnd="11:00"), limit=2
    )
    for moment, shown in [
        ("2026-06-01T09:59:59", False),
        ("2026-06-01T10:00:00", True),
        ("2026-06-01T10:59:59", True),
        ("2026-06-01T11:00:00", False),
    ]:
        at(clock, moment)
        node = (await storefront(PRODUCTS))["products"]["edges"][0]["node"]
        if not shown:
            assert node["seckill"] is None and [s["seckill"] for s in node["skus"]] == [None, None]
            continue
        assert node["seckill"] == {
            "ref": ref(act, item=1),
            "price": {"amount": 300},
            "startsAt": "2026-06-01T02:00:00+00:00",
            "endsAt": "2026-06-01T03:00:00+00:00",
            "remaining": 2,
            "memberLimit": 2,
        }
        assert [s["seckill"] for s in node["skus"]] == [
            {"ref": ref(act), "price": {"amount": 500}, "remaining": 5},
            {"ref": ref(act, item=1), "price": {"amount": 300}, "remaining": 2},
        ]


class Statements(logging.Handler):
    """Collects the SQL statements tortoise logs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not message.startswith(("Created connection", "Closed connection")):
            self.statements.append(message)


@asynccontextmanager
async def counting() -> AsyncIterator[Statements]:
    logger = logging.getLogger("tortoise.db_client")
    counter, level = Statements(), logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)


async def test_seckill_fields_are_batched_whatever_the_page_size(
    admin, storefront, make_product: Make
) -> None:
    for n in range(8):
        product = await make_product(f"Tea {n}", [(5800, 10), (6800, 10)])
        a = await sku_of(product)
        await activity(admin, session((a, 100 + n, 5), dailyStart="10:00", dailyEnd="11:00"))
    costs = []
    for first in (1, 8):
        async with counting() as counter:
            page = await storefront(PRODUCTS, {"first": first})
        assert all(e["node"]["seckill"] for e in page["products"]["edges"])
        costs.append(len(counter.statements))
    assert costs[0] == costs[1], costs


async def test_next_price_change_is_the_next_session_start_or_end(
    admin, tenant, make_product: Make
) -> None:
    sku = await sku_of(await make_product("Tea", [(5800, 10)]))
    await activity(
        admin,
        session((sku, 100, 5), dailyStart="10:00", dailyEnd="11:00"),
        session((sku, 100, 5), dailyStart="23:30", dailyEnd="00:30"),
    )

    async def next_change(local: str) -> list[datetime]:
        now = datetime.fromisoformat(local + "+08:00")
        found: list[datetime] = await hooks_of(tenant).call(
            "yutang_next_price_change", tenant=tenant, now=now
        )
        return found

    def utc(local: str) -> list[datetime]:
        return [datetime.fromisoformat(local + "+08:00")]

    assert await next_change("2026-06-01T09:00:00") == utc("2026-06-01T10:00:00")
    assert await next_change("2026-06-01T10:00:00") == utc("2026-06-01T11:00:00")
    assert await next_change("2026-06-01T11:00:00") == utc("2026-06-01T23:30:00")
    assert await next_change("2026-06-01T23:45:00") == utc("2026-06-02T00:30:00")
    assert await next_change("2026-06-07T23:45:00") == utc("2026-06-08T00:00:00")
    assert await next_change("2026-06-08T00:00:00") == []


# --- a tenant without the plugin ----------------------------------------------------------


FIELDS = """
query($name: String!) { __type(name: $name) { fields { name } } }"""


async def field_names(client: GraphQLClient, type_name: str) -> set[str]:
    data = await client(FIELDS, {"name": type_name})
    return {f["name"] for f in data["__type"]["fields"]}


async def test_disabled_plugin_means_no_fields_and_no_activity_price(
    admin, member, tenant, make_tenant: MakeTenant, make_product: Make
) -> None:
    _, me = member
    plain = await make_tenant("plain")
    plain_client = me.as_(None, tenant=plain.slug)
    assert "seckillSessions" not in await field_names(plain_client, "Query")
    assert "seckill" not in await field_names(plain_client, "Product")
    assert "seckill" not in await field_names(plain_client, "Sku")
    assert "seckillSessions" in await field_names(me, "Query")
    assert "createSeckillActivity" in await field_names(admin, "Mutation")

    sku = await sku_of(await make_product("Tea", [(5800, 10)]))
    act = await activity(admin, session((sku, 100, 5), dailyStart="10:00", dailyEnd="11:00"))
    await Tenant.filter(id=tenant.id).update(plugins=[], settings_version=2)
    assert "createSeckillActivity" not in await field_names(admin, "Mutation")
    assert "seckill" not in await field_names(me, "Product")
    refused = await place(me, [line(sku, 1, ref(act))], "off")
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("NOT_APPLICABLE", "lines[0].activity.plugin")
    ]
    normal = await place(me, [line(sku, 1)], "off-2")
    assert normal["errors"] == [] and normal["order"]["total"] == {"amount": 5800}
    assert await SeckillStock.all().count() == 0


# --- races (PostgreSQL) -------------------------------------------------------------------


async def members(tenant: TenantInfo, storefront: GraphQLClient, count: int) -> list[GraphQLClient]:
    made = await asyncio.gather(*(create_member(tenant, f"137{i:08d}") for i in range(count)))
    return [storefront.as_(token) for _, token in made]


@pytest.mark.postgres_only
async def test_500_buyers_for_50_units_make_exactly_50_orders(
    admin, storefront, tenant, make_product: Make, with_and_without_gate: Any
) -> None:
    sku = await sku_of(await make_product("Tea", [(5800, 200)]))
    act = await activity(admin, session((sku, 100, 50), dailyStart="10:00", dailyEnd="11:00"))
    buyers = await members(tenant, storefront, 500)
    results = await asyncio.gather(
        *(
            client.raw(PLACE, {"lines": [line(sku, 1, ref(act))], "key": f"k{i}"})
            for i, client in enumerate(buyers)
        )
    )
    assert not [r for r in results if r.get("errors")]
    placed = [r["data"]["placeOrder"] for r in results]
    ok = [p for p in placed if p["order"]]
    assert len(ok) == 50
    assert {e["code"] for p in placed for e in p["errors"]} == {"SOLD_OUT"}
    assert await Order.all().count() == 50
    assert (await SeckillStock.get()).remaining == 0
    assert (await Sku.get(id=sku.id)).stock == 150
    assert sum(r.quantity for r in await SeckillReservation.all()) == 50


@pytest.mark.postgres_only
async def test_one_member_limit_one_twenty_requests_make_one_order(
    admin, member, make_product: Make, with_and_without_gate: Any
) -> None:
    """Requests alternate between two SKUs of the activity, so no SKU row lock lines them
    up: only the member's counter row can keep the limit."""
    row, me = member
    product = await make_product("Tea", [(5800, 100), (6800, 100)])
    a, b = await sku_of(product, 0), await sku_of(product, 1)
    act = await activity(
        admin, session((a, 100, 50), (b, 200, 50), dailyStart="10:00", dailyEnd="11:00")
    )
    results = await asyncio.gather(
        *(
            me.raw(PLACE, {"lines": [line((a, b)[i % 2], 1, ref(act, item=i % 2))], "key": f"m{i}"})
            for i in range(20)
        )
    )
    assert not [r for r in results if r.get("errors")]
    placed = [r["data"]["placeOrder"] for r in results]
    assert len([p for p in placed if p["order"]]) == 1
    assert {e["code"] for p in placed for e in p["errors"]} == {"LIMIT_REACHED"}
    assert await Order.filter(member_id=row.id).count() == 1
    assert (await SeckillMemberQuota.get(member_id=row.id)).taken == 1
    assert [s.remaining for s in await SeckillStock.all()] == [49]
    assert sum(s.stock for s in await Sku.filter(product_id=product.id)) == 199


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    ("given", "orders"),
    [
        ({"ITEM_SESSION": 1}, 5),
        ({"SESSION": 1}, 2),
        ({"ITEM_SESSION": 1, "SESSION": 2, "ACTIVITY": 3}, 3),
    ],
    ids=["per-item-per-session", "per-session", "combined"],
)
async def test_one_member_tapping_every_item_at_once_passes_no_limit(
    admin,
    member,
    make_product: Make,
    with_and_without_gate: Any,
    given: dict[str, int],
    orders: int,
) -> None:
    """Forty taps at once, one unit each, over five items (five SKUs, so no SKU row lock
    lines them up) in two sessions open together: only the member's counter rows keep
    each limit, and they end equal to what the orders hold."""
    row, me = member
    product = await make_product("Tea", [(5800, 100)] * 5)
    skus = [await sku_of(product, n) for n in range(5)]
    act = await activity(
        admin,
        session(*((s, 100, 50) for s in skus[:3]), dailyStart="10:00", dailyEnd="11:00"),
        session(*((s, 100, 50) for s in skus[3:]), dailyStart="09:30", dailyEnd="11:30"),
        limits=limits(**given),
    )
    refs = [ref(act, 0, i) for i in range(3)] + [ref(act, 1, i) for i in range(2)]
    results = await asyncio.gather(
        *(
            me.raw(PLACE, {"lines": [line(skus[i % 5], 1, refs[i % 5])], "key": f"tap{i}"})
            for i in range(40)
        )
    )
    assert not [r for r in results if r.get("errors")]
    placed = [r["data"]["placeOrder"] for r in results]
    assert len([p for p in placed if p["order"]]) == orders
    assert {e["code"] for p in placed for e in p["errors"]} == {"LIMIT_REACHED"}
    reserved = await SeckillReservation.filter(member_id=row.id).select_related("item")
    per_item = Counter(r.item_id for r in reserved)
    per_session = Counter(r.item.session_id for r in reserved)
    assert max(per_item.values()) <= given.get("ITEM_SESSION", orders)
    assert max(per_session.values()) <= given.get("SESSION", orders)
    assert sum(per_item.values()) == orders <= given.get("ACTIVITY", orders)
    counters = by_scope({k: n for k, n in (await held(row.id)).items() if n})
    expected = {
        "activity": [orders],
        "session": sorted(per_session.values()),
        "item_session": sorted(per_item.values()),
    }
    assert {k: sorted(v) for k, v in counters.items()} == {
        scope.lower(): expected[scope.lower()] for scope in given
    }
    assert sum(s.stock for s in await Sku.filter(product_id=product.id)) == 500 - orders


# --- the optional Redis gate --------------------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/15"


async def switch_gate_on(monkeypatch: pytest.MonkeyPatch, resources: Any) -> Any:
    """A client of an emptied Redis database 15, made the deployment's Redis offered to
    plugins, which switches the gate on (skipped without redis-py or a Redis server)."""
    redis = pytest.importorskip("redis.asyncio")
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        await client.flushdb()
    except OSError as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    monkeypatch.setattr(resources, "redis_url", REDIS_URL)
    return client


@pytest_asyncio.fixture
async def redis_gate(monkeypatch: pytest.MonkeyPatch, yutang_runtime: Any) -> AsyncIterator[Any]:
    """The Redis gate on; yields a client of its Redis."""
    client = await switch_gate_on(monkeypatch, yutang_runtime.resources)
    yield client
    await client.aclose()


@pytest_asyncio.fixture(params=[False, True], ids=["database", "redis-gate"])
async def with_and_without_gate(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, yutang_runtime: Any
) -> AsyncIterator[Any]:
    """Runs a test twice: without the gate (None), then with it (a Redis client)."""
    if not request.param:
        yield None
        return
    client = await switch_gate_on(monkeypatch, yutang_runtime.resources)
    yield client
    await client.aclose()


def stock_key(tenant: TenantInfo, item_ref: str, start: str) -> str:
    moment = int(datetime.fromisoformat(start).timestamp())
    return f"seckill:{tenant.id}:stock:{pk(item_ref)}:{moment}"


async def test_the_gate_answers_sold_out_without_the_seckill_tables_or_sku_lock(
    admin, storefront, tenant, make_product: Make, redis_gate: Any
) -> None:
    sku = await sku_of(await make_product("Tea", [(5800, 10)]))
    act = await activity(admin, session((sku, 100, 1), dailyStart="10:00", dailyEnd="11:00"))
    first = await buyer(tenant, storefront, "13900000021")
    second = await buyer(tenant, storefront, "13900000022")
    assert (await place(first, [line(sku, 1, ref(act))], "a"))["errors"] == []
    key = stock_key(tenant, ref(act), "2026-06-01T10:00:00+08:00")
    assert await redis_gate.get(key) == "0"
    async with counting() as counter:
        refused = await place(second, [line(sku, 1, ref(act))], "b")
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("SOLD_OUT", "lines[0].quantity")
    ]
    # left: the core's own reads and idempotency row, and the seckill item's lookup
    counters = ('"seckill_stock"', '"seckill_quota"', 'UPDATE "sku"')
    assert [s for s in counter.statements if any(c in s for c in counters)] == []
    assert (await SeckillStock.get()).remaining == 0 and (await Sku.get(id=sku.id)).stock == 9


async def test_a_refused_order_gives_its_gate_units_back(
    admin, member, make_product: Make, tenant, redis_gate: Any
) -> None:
    row, me = member
    sku = await sku_of(await make_product("Tea", [(5800, 10)]))
    act = await activity(admin, session((sku, 100, 5), dailyStart="10:00", dailyEnd="11:00"))
    first = await place(me, [line(sku, 1, ref(act))], "1")
    assert first["errors"] == []
    key = stock_key(tenant, ref(act), "2026-06-01T10:00:00+08:00")
    quota_key = f"seckill:{tenant.id}:quota:{pk(act['id'])}"
    assert await redis_gate.get(key) == "4"
    assert await redis_gate.hget(quota_key, str(row.id)) == "1"
    # the mirror drifts (say a lost update): the gate lets the member through, the
    # database refuses, and the gate gets its unit back and the database's count
    await redis_gate.hset(quota_key, str(row.id), 0)
    again = await place(me, [line(sku, 1, ref(act))], "2")
    assert [e["code"] for e in again["errors"]] == ["LIMIT_REACHED"]
    assert await redis_gate.get(key) == "4"
    assert await redis_gate.hget(quota_key, str(row.id)) == "1"
    assert (await SeckillStock.get()).remaining == 4 and (await Sku.get(id=sku.id)).stock == 9
    # a cancel gives units and quota back to the gate too
    await me(CANCEL, {"id": first["order"]["id"]})
    assert await redis_gate.get(key) == "5"
    assert await redis_gate.hget(quota_key, str(row.id)) == "0"
    third = await place(me, [line(sku, 1, ref(act))], "3")
    assert third["errors"] == []
    assert await redis_gate.hget(quota_key, str(row.id)) == "1"


async def test_the_gate_is_rebuilt_from_the_database(
    admin, storefront, tenant, make_product: Make, redis_gate: Any
) -> None:
    sku = await sku_of(await make_product("Tea", [(5800, 10)]))
    act = await activity(
        admin, session((sku, 100, 5), dailyStart="10:00", dailyEnd="11:00"), limit=2
    )
    first = await buyer(tenant, storefront, "13900000031")
    assert (await place(first, [line(sku, 2, ref(act))], "a"))["errors"] == []
    await redis_gate.flushdb()  # Redis restarted empty
    second = await buyer(tenant, storefront, "13900000032")
    assert (await place(second, [line(sku, 2, ref(act))], "b"))["errors"] == []
    key = stock_key(tenant, ref(act), "2026-06-01T10:00:00+08:00")
    assert await redis_gate.get(key) == "1"
    assert 0 < await redis_gate.ttl(key) <= 30
    assert (await SeckillStock.get()).remaining == 1
    over = await place(first, [line(sku, 1, ref(act))], "c")
    assert [e["code"] for e in over["errors"]] == ["LIMIT_REACHED"]


# --- refused in front of GraphQL ----------------------------------------------------------

SHAPES = {
    "usual": (PLACE, {}),
    "aliases and fragments": (
        """
mutation Buy($lines: [LineInput!]!, $key: String!) {
  buy: placeOrder(input: {lines: $lines, idempotencyKey: $key}) {
    __typename
    ...Outcome
    errors { why: message code }
    ... on OrderPayload { quote { total { amount } } }
  }
}
fragment Outcome on OrderPayload { order { id } errors { field __typename } }""",
        {},
    ),
    "input variable and directives": (
        """
mutation($input: PlaceOrderInput!, $errors: Boolean!, $skipOrder: Boolean = true) {
  placeOrder(input: $input) {
    order @skip(if: $skipOrder) { id }
    errors @include(if: $errors) { code }
    ... @include(if: false) { quote { hash } }
  }
}""",
        {"errors": True},
    ),
}


def shape_variables(name: str, lines: list[dict[str, Any]], key: str) -> dict[str, Any]:
    query_vars = SHAPES[name][1]
    if "$input" in SHAPES[name][0]:
        return {"input": {"lines": lines, "idempotencyKey": key}, **query_vars}
    return {"lines": lines, "key": key, **query_vars}


async def post(http: Any, tenant: TenantInfo, token: str, query: str, variables: Any) -> bytes:
    """A storefront POST's response body, byte for byte."""
    headers = {"X-Tenant": tenant.slug, "Authorization": f"Bearer {token}"}
    body = {"query": query, "variables": variables}
    response = await http.post("/graphql", json=body, headers=headers)
    content: bytes = response.content
    return content


def json_scope(token: str, method: str = "POST", kind: bytes = b"application/json") -> Any:
    """The ASGI scope the admission layer reads: method and headers."""
    headers = [(b"authorization", f"Bearer {token}".encode()), (b"content-type", kind)]
    return {"method": method, "headers": headers}


async def test_refusals_in_front_of_graphql_answer_as_graphql_does(
    admin, storefront, http, tenant, yutang_db, make_product: Make, monkeypatch
) -> None:
    """Each shape is refused once by the transaction (no gate), then in front of GraphQL
    by the gate: the same bytes, from the caller and key lookups alone. The layer is also
    asked directly, to show that it, not the resolver, answered."""
    sku = await sku_of(await make_product("Tea", [(5800, 10)]))
    act = await activity(admin, session((sku, 100, 1), dailyStart="10:00", dailyEnd="11:00"))
    first = await buyer(tenant, storefront, "13900000041")
    assert (await place(first, [line(sku, 1, ref(act))], "a"))["errors"] == []
    _, token = await create_member(tenant, "13900000042")
    lines = [line(sku, 1, ref(act))]
    by_transaction = {
        name: await post(http, tenant, token, query, shape_variables(name, lines, f"t-{name}"))
        for name, (query, _) in SHAPES.items()
    }
    admission = Admission(SchemaCache(yutang_db.settings))
    gate = await switch_gate_on(monkeypatch, yutang_db.resources)
    try:
        refused = await place(first, [line(sku, 1, ref(act))], "b")
        assert refused["errors"][0]["code"] == "SOLD_OUT"  # and the gate learnt it
        for name, (query, _) in SHAPES.items():
            async with counting() as counter:
                variables = shape_variables(name, lines, f"f-{name}")
                in_front = await post(http, tenant, token, query, variables)
            assert in_front == by_transaction[name], name
            assert b"SOLD_OUT" in in_front, name
            # tenant, caller, and the key (on PostgreSQL after waiting on its lock)
            assert len(counter.statements) <= 4, (name, counter.statements)
            touched = ("seckill_", '"sku"', '"order"', "INSERT", "UPDATE")
            assert not [s for s in counter.statements if any(t in s for t in touched)]
            variables = shape_variables(name, lines, f"d-{name}")
            body = await admission.refusal(json_scope(token), tenant, query, variables, None)
            assert body == by_transaction[name], name
    finally:
        await gate.aclose()
    assert await Order.all().count() == 1
    assert (await SeckillStock.get()).remaining == 0 and (await Sku.get(id=sku.id)).stock == 9


async def test_admission_refuses_past_each_limit_as_the_transaction_does(
    admin,
    storefront,
    http,
    tenant,
    yutang_db,
    make_product: Make,
    redis_gate: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past a per-item-per-session, a per-session and a per-activity limit in turn, the
    gate refuses the order in front of GraphQL with the bytes the transaction answers
    without a gate, from the caller and key lookups alone."""
    product = await make_product("Tea", [(5800, 50)] * 5)
    a, b, c, d, e = [await sku_of(product, n) for n in range(5)]
    act = await activity(
        admin,
        session((a, 100, 10), (b, 100, 10), (c, 100, 10), dailyStart="10:00", dailyEnd="11:00"),
        session((d, 100, 10), (e, 100, 10), dailyStart="09:30", dailyEnd="11:30"),
        limits=limits(ITEM_SESSION=1, SESSION=2, ACTIVITY=3),
    )
    _, token = await create_member(tenant, "13900000091")
    me = storefront.as_(token)
    admission = Admission(SchemaCache(yutang_db.settings))
    query = SHAPES["usual"][0]
    steps = [
        ((a, ref(act, 0, 0)), (a, ref(act, 0, 0)), "of this item in this session"),
        ((b, ref(act, 0, 1)), (c, ref(act, 0, 2)), "in this session"),
        ((d, ref(act, 1, 0)), (e, ref(act, 1, 1)), "in this activity"),
    ]
    for n, ((bought, bought_ref), (asked, asked_ref), scope) in enumerate(steps):
        assert (await place(me, [line(bought, 1, bought_ref)], f"buy{n}"))["errors"] == []
        lines = [line(asked, 1, asked_ref)]
        monkeypatch.setattr(yutang_db.resources, "redis_url", None)
        by_transaction = await post(http, tenant, token, query, {"lines": lines, "key": f"t{n}"})
        monkeypatch.setattr(yutang_db.resources, "redis_url", REDIS_URL)
        assert f"allowed per member {scope} (unpaid".encode() in by_transaction, by_transaction
        # the first refusal with the gate may go on to teach it the occurrence's counters
        taught = await post(http, tenant, token, query, {"lines": lines, "key": f"g{n}"})
        assert taught == by_transaction
        async with counting() as counter:
            in_front = await post(http, tenant, token, query, {"lines": lines, "key": f"f{n}"})
        assert in_front == by_transaction, scope
        touched = ("seckill_", '"sku"', '"order"', "INSERT", "UPDATE")
        assert len(counter.statements) <= 4, (scope, counter.statements)
        assert not [s for s in counter.statements if any(t in s for t in touched)], scope
        variables = {"lines": lines, "key": f"d{n}"}
        body = await admission.refusal(json_scope(token), tenant, query, variables, None)
        assert body == by_transaction, scope
    assert await Order.all().count() == 3


async def test_what_the_layer_cannot_answer_as_graphql_goes_on_to_graphql(
    admin, storefront, http, tenant, yutang_db, make_product: Make, redis_gate: Any
) -> None:
    """A GET or a body that is not JSON (strawberry refuses them), and an input whose other
    fields are invalid (GraphQL names that field first), are left to GraphQL."""
    sku = await sku_of(await make_product("Tea", [(5800, 10)]))
    act = await activity(admin, session((sku, 100, 1), dailyStart="10:00", dailyEnd="11:00"))
    first = await buyer(tenant, storefront, "13900000061")
    assert (await place(first, [line(sku, 1, ref(act))], "a"))["errors"] == []
    _, token = await create_member(tenant, "13900000062")
    admission = Admission(SchemaCache(yutang_db.settings))
    query, lines = SHAPES["input variable and directives"][0], [line(sku, 1, ref(act))]
    plain = shape_variables("input variable and directives", lines, "k1")
    assert await admission.refusal(json_scope(token), tenant, query, plain, None)
    for scope in (json_scope(token, "GET"), json_scope(token, kind=b"text/plain")):
        assert await admission.refusal(scope, tenant, query, plain, None) is None
    negative = {**plain, "input": {**plain["input"], "usePoints": -1}}
    assert await admission.refusal(json_scope(token), tenant, query, negative, None) is None
    answered = json.loads(await post(http, tenant, token, query, negative))
    assert answered == {"data": {"placeOrder": {"errors": [{"code": "INVALID"}]}}}
    points = SHAPES["usual"][0].replace("$key}", "$key, usePoints: 5}")
    refused = json.loads(await post(http, tenant, token, points, {"lines": lines, "key": "k2"}))
    assert refused["data"]["placeOrder"]["errors"][0]["code"] == "SOLD_OUT"


async def test_a_redis_that_is_down_leaves_the_database_to_decide(
    admin, storefront, tenant, make_product: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("redis.asyncio")
    monkeypatch.setattr(tenant.resources, "redis_url", "redis://127.0.0.1:1/0")  # nothing listens
    sku = await sku_of(await make_product("Tea", [(5800, 10)]))
    act = await activity(admin, session((sku, 100, 1), dailyStart="10:00", dailyEnd="11:00"))
    first = await buyer(tenant, storefront, "13900000071")
    assert (await place(first, [line(sku, 1, ref(act))], "a"))["errors"] == []
    second = await buyer(tenant, storefront, "13900000072")
    refused = await place(second, [line(sku, 1, ref(act))], "b")
    assert [e["code"] for e in refused["errors"]] == ["SOLD_OUT"]
    assert await Order.all().count() == 1


async def test_a_retry_after_the_sell_out_replays_its_order(
    admin, storefront, tenant, make_product: Make, redis_gate: Any
) -> None:
    sku = await sku_of(await make_product("Tea", [(5800, 10)]))
    act = await activity(admin, session((sku, 100, 1), dailyStart="10:00", dailyEnd="11:00"))
    first = await buyer(tenant, storefront, "13900000051")
    placed = await place(first, [line(sku, 1, ref(act))], "a")
    assert placed["errors"] == []
    second = await buyer(tenant, storefront, "13900000052")
    assert [e["code"] for e in (await place(second, [line(sku, 1, ref(act))], "z"))["errors"]] == [
        "SOLD_OUT"
    ]
    # the gate refuses the same lines, but the key was answered: the order comes back
    again = await place(first, [line(sku, 1, ref(act))], "a")
    assert again == placed
    reused = await place(first, [line(sku, 2, ref(act))], "a")
    assert [e["code"] for e in reused["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    refused = await place(first, [line(sku, 1, ref(act))], "b")
    assert [e["code"] for e in refused["errors"]] == ["SOLD_OUT"]
    assert await Order.all().count() == 1
