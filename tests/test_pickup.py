"""The pickup plugin over the real app: store details, pickup checkouts and slots, the
storefront store list, codes, verification by staff of the order's store, the deadline job,
and races on PostgreSQL.

The frozen clock stands at Monday 2026-06-01 10:00 in the tenant's zone (Asia/Shanghai).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from tortoise import Tortoise
from tortoise.expressions import F

from yutang import api
from yutang.core.clock import FrozenClock
from yutang.core.contract import TenantInfo
from yutang.core.models import Job, Order, Product, Refund, Sku, Tenant
from yutang.core.worker import Worker
from yutang.graphql.ids import from_global, to_global
from yutang.plugins.pickup import codes
from yutang.plugins.pickup.models import PickupHandover, PickupOrder, PickupSlotUsage
from yutang.testing import GraphQLClient, HoldingActivity, MakeTenant, create_member, create_staff

FEE = 200
CREATE_STORE = """
mutation($name: String!) { createStore(name: $name, address: "西湖区") { store { id } } }"""
ASSIGN = """
mutation($store: ID!, $staff: ID!) {
  assignStoreStaff(storeId: $store, staffId: $staff) { errors { code } } }"""
SAVE = """
mutation($input: PickupStoreInput!) {
  savePickupStore(input: $input) {
    store { storeId name enabled latitude longitude phone allSkus skuIds closedDays
      hours { weekday opens closes } slots { weekday starts ends capacity } }
    errors { code field message }
  }
}"""
QUOTE = """
query($lines: [LineInput!]!, $f: String! = "pickup", $ext: CheckoutExtensionsInput) {
  quote(input: {lines: $lines, fulfilment: $f, extensions: $ext}) {
    quote { total { amount } fees { amount } adjustments { source label amount { amount } } }
    errors { code field message }
  }
}"""
PLACE = """
mutation($lines: [LineInput!]!, $key: String!, $ext: CheckoutExtensionsInput,
         $f: String! = "pickup") {
  placeOrder(input: {lines: $lines, idempotencyKey: $key, fulfilment: $f, extensions: $ext}) {
    order { id status total { amount } lines { id } }
    errors { code field message }
  }
}"""
PAY = """
mutation($id: ID!, $key: String!) {
  payOrder(input: {orderId: $id, idempotencyKey: $key}) { order { status } errors { code } } }"""
CANCEL = """
mutation($id: ID!) { cancelOrder(orderId: $id) { order { status } errors { code } } }"""
MY_ORDER = """
query($id: ID!) { order(id: $id) { status fulfilment
  pickup { status code storeId storeName storePhone slotStartsAt deadlineAt
    handover { actor } } } }"""
ADMIN_ORDER = """
query($id: ID!) { order(id: $id) { status
  pickup { status code handover { action actor role storeId at } } } }"""
VERIFY = """
mutation($code: String!) {
  verifyPickup(code: $code) {
    order { orderId number orderStatus status storeId total { amount } lines { quantity } }
    errors { code field message }
  }
}"""
LOOKUP = """
query($code: String!) {
  pickupOrderByCode(code: $code) { order { status orderStatus } errors { code field } } }"""
STORES = """
query($near: PickupNearInput, $within: Int, $skus: [ID!]) {
  pickupStores(near: $near, withinMeters: $within, skuIds: $skus) {
    id name phone distanceMeters openNow canServe missingSkuIds closedDays
    hours { weekday opens closes } slots { slot startsAt endsAt capacity remaining }
  }
}"""
HOURS = [{"weekday": d, "opens": "09:00", "closes": "21:00"} for d in range(1, 8)]

Make = Callable[..., Awaitable[Product]]


@pytest_asyncio.fixture
async def tenant(make_tenant: MakeTenant) -> TenantInfo:
    """The shop with pickup, a fee, and a small lookup limit."""
    return await make_tenant(
        "shop", plugins=["pickup"], settings={"pickup": {"fee": FEE, "lookups_per_minute": 5}}
    )


@pytest.fixture(autouse=True)
def clock(frozen_clock: FrozenClock) -> FrozenClock:
    """Every test starts on Monday 2026-06-01 at 10:00 in Shanghai."""
    return frozen_clock


def gid(kind: str, key: int) -> str:
    return to_global(kind, key)


def pk(global_id: str) -> int:
    return from_global(global_id)[1]


async def skus_of(product: Product) -> list[str]:
    return [gid("Sku", s.id) for s in await Sku.filter(product_id=product.id).order_by("id")]


def lines(*skus: str, activity: dict[str, str] | None = None) -> list[dict[str, Any]]:
    extra = {"activity": activity} if activity else {}
    return [{"skuId": s, "quantity": 1, **extra} for s in skus]


def ext(store: str, slot: str | None = None) -> dict[str, Any]:
    return {"pickup": {"storeId": store, **({"slot": slot} if slot else {})}}


async def make_store(
    admin: GraphQLClient, name: str, *, staff: tuple[Any, ...] = (), **details: Any
) -> str:
    """A core store with staff and saved pickup details; its global ID."""
    store = (await admin(CREATE_STORE, {"name": name}))["createStore"]["store"]["id"]
    for row in staff:
        await admin(ASSIGN, {"store": store, "staff": gid("Staff", row.id)})
    details.setdefault("hours", HOURS)
    details.setdefault("allSkus", True)
    saved = await admin(SAVE, {"input": {"storeId": store, **details}})
    assert saved["savePickupStore"]["errors"] == [], saved
    return store


async def place(
    me: GraphQLClient,
    skus: list[str],
    store: str,
    key: str,
    slot: str | None = None,
    activity: dict[str, str] | None = None,
) -> dict[str, Any]:
    data = await me(
        PLACE, {"lines": lines(*skus, activity=activity), "key": key, "ext": ext(store, slot)}
    )
    result: dict[str, Any] = data["placeOrder"]
    return result


async def paid_order(
    me: GraphQLClient,
    skus: list[str],
    store: str,
    key: str,
    worker: Worker,
    activity: dict[str, str] | None = None,
) -> tuple[str, str]:
    """A placed and paid pickup order, events delivered: (order ID, pickup code)."""
    placed = await place(me, skus, store, key, activity=activity)
    assert placed["errors"] == [], placed
    order_id = placed["order"]["id"]
    assert (await me(PAY, {"id": order_id, "key": f"pay-{key}"}))["payOrder"]["errors"] == []
    await worker.run_until_idle()
    pickup = (await me(MY_ORDER, {"id": order_id}))["order"]["pickup"]
    return order_id, pickup["code"]


async def set_pickup_settings(tenant: TenantInfo, **values: Any) -> None:
    """Change the tenant's pickup settings in place (a new settings version)."""
    row = await Tenant.get(id=tenant.id)
    settings = {**row.settings, "pickup": {**row.settings.get("pickup", {}), **values}}
    await Tenant.filter(id=tenant.id).update(
        settings=settings, settings_version=F("settings_version") + 1
    )


@pytest_asyncio.fixture
async def shop(
    admin: GraphQLClient, tenant: TenantInfo, make_product: Make, member: Any
) -> dict[str, Any]:
    """Two stores with a clerk each, a product with two SKUs, a member."""
    clerk_a, token_a = await create_staff(tenant, "clerk-a", "clerk")
    clerk_b, token_b = await create_staff(tenant, "clerk-b", "clerk")
    product = await make_product("Longjing", [(5800, 10), (9900, 10)])
    skus = await skus_of(product)
    a = await make_store(admin, "西湖店", staff=(clerk_a,), latitude=30.25, longitude=120.15)
    b = await make_store(admin, "滨江店", staff=(clerk_b,), latitude=30.21, longitude=120.21)
    return {
        "a": a,
        "b": b,
        "skus": skus,
        "me": member[1],
        "member": member[0],
        "clerk_a": admin.as_(token_a),
        "clerk_b": admin.as_(token_b),
        "clerk_a_row": clerk_a,
    }


# --- store details ---------------------------------------------------------------------


async def test_store_details_are_saved_replaced_and_validated(
    admin: GraphQLClient, tenant: TenantInfo, make_product: Make
) -> None:
    skus = await skus_of(await make_product("Tea", [(100, 5), (200, 5)]))
    store = (await admin(CREATE_STORE, {"name": "西湖店"}))["createStore"]["store"]["id"]
    details = {
        "storeId": store,
        "latitude": 30.25,
        "longitude": 120.15,
        "phone": "0571-8888",
        "hours": [{"weekday": 1, "opens": "09:00", "closes": "24:00"}],
        "closedDays": ["2026-06-03"],
        "slots": [{"weekday": 2, "starts": "10:00", "ends": "12:00", "capacity": 3}],
        "skuIds": [skus[0]],
    }
    saved = (await admin(SAVE, {"input": details}))["savePickupStore"]
    assert saved["errors"] == []
    assert saved["store"] == {
        "storeId": store,
        "name": "西湖店",
        "enabled": True,
        "latitude": 30.25,
        "longitude": 120.15,
        "phone": "0571-8888",
        "allSkus": False,
        "skuIds": [skus[0]],
        "closedDays": ["2026-06-03"],
        "hours": [{"weekday": 1, "opens": "09:00", "closes": "24:00"}],
        "slots": [{"weekday": 2, "starts": "10:00", "ends": "12:00", "capacity": 3}],
    }
    replaced = await admin(SAVE, {"input": {"storeId": store, "skuIds": [skus[1]]}})
    assert replaced["savePickupStore"]["store"]["skuIds"] == [skus[1]]
    assert replaced["savePickupStore"]["store"]["hours"] == []

    async def error(change: dict[str, Any]) -> dict[str, Any]:
        body = await admin(SAVE, {"input": {**details, **change}})
        errors: list[dict[str, Any]] = body["savePickupStore"]["errors"]
        return errors[0]

    bad_hours = [{"weekday": 1, "opens": "12:00", "closes": "09:00"}]
    assert (await error({"hours": bad_hours}))["field"] == "input.hours[0].closes"
    assert (await error({"hours": [{"weekday": 8, "opens": "09:00", "closes": "10:00"}]}))[
        "field"
    ] == "input.hours[0].weekday"
    assert (await error({"slots": [{**details["slots"][0], "starts": "9am"}]}))[
        "field"
    ] == "input.slots[0].starts"
    assert (await error({"skuIds": [skus[0], gid("Sku", 999_999)]}))["field"] == "input.skuIds[1]"
    assert (await error({"longitude": None}))["field"] == "input.latitude"
    assert (await error({"closedDays": ["June 3rd"]}))["field"] == "input.closedDays[0]"
    assert (await error({"storeId": gid("Store", 999_999)}))["code"] == "NOT_FOUND"

    _, clerk = await create_staff(tenant, "clerk", "clerk")
    refused = await admin.as_(clerk)(SAVE, {"input": details})
    assert refused["savePickupStore"]["errors"][0]["code"] == "FORBIDDEN"
    bare = (await admin(CREATE_STORE, {"name": "滨江店"}))["createStore"]["store"]["id"]
    listed = await admin.as_(clerk)("{ pickupStores { storeId enabled skuIds hours { weekday } } }")
    assert listed["pickupStores"] == [
        {"storeId": store, "enabled": True, "skuIds": [skus[1]], "hours": []},
        {"storeId": bare, "enabled": False, "skuIds": [], "hours": []},
    ]


# --- checkout --------------------------------------------------------------------------


async def test_pickup_checkout_charges_the_fee_and_checks_every_line(
    admin: GraphQLClient, member: Any, make_product: Make
) -> None:
    _, me = member
    skus = await skus_of(await make_product("Tea", [(5800, 10), (9900, 10)]))
    store = await make_store(admin, "西湖店", allSkus=False, skuIds=[skus[0]])

    quote = (await me(QUOTE, {"lines": lines(skus[0]), "ext": ext(store)}))["quote"]
    assert quote["errors"] == []
    assert quote["quote"]["total"]["amount"] == 5800 + FEE
    assert quote["quote"]["fees"]["amount"] == FEE
    assert quote["quote"]["adjustments"] == [
        {"source": "pickup", "label": "到店自提", "amount": {"amount": FEE}}
    ]
    delivered = await me(QUOTE, {"lines": lines(skus[0]), "f": "delivery"})
    assert delivered["quote"]["quote"]["total"]["amount"] == 5800

    async def error(**variables: Any) -> dict[str, Any]:
        body = await me(QUOTE, {"lines": lines(skus[0]), **variables})
        errors: list[dict[str, Any]] = body["quote"]["errors"]
        return errors[0]

    not_offered = await me(QUOTE, {"lines": lines(skus[0], skus[1]), "ext": ext(store)})
    assert not_offered["quote"]["errors"] == [
        {
            "code": "PICKUP_NOT_OFFERED",
            "field": "lines[1].skuId",
            "message": "西湖店 does not offer Tea for pickup",
        }
    ]
    assert (await error())["field"] == "extensions.pickup.storeId"
    assert (await error(f="delivery", ext=ext(store)))["field"] == "fulfilment"
    assert (await error(ext=ext(gid("Store", 999_999))))["code"] == "NOT_FOUND"
    assert (await error(ext=ext(gid("Sku", 1))))["field"] == "extensions.pickup.storeId"
    unknown = {"lines": lines(skus[0]), "ext": {"pickup": {"storeId": store, "shelf": 1}}}
    [refused] = (await me.raw(QUOTE, unknown))["errors"]  # PickupCheckoutInput has no shelf
    assert "not to include unknown field 'shelf'" in refused["message"]
    assert (await error(ext=ext(store, "2026-06-02T10:00")))["field"] == "extensions.pickup.slot"

    await admin(SAVE, {"input": {"storeId": store, "enabled": False, "allSkus": True}})
    assert (await error(ext=ext(store)))["code"] == "NOT_FOUND"
    placed = await place(me, [skus[0]], store, "o-1")
    assert placed["errors"][0]["field"] == "extensions.pickup.storeId"
    assert await Order.all().count() == 0


async def test_a_tenant_without_the_plugin_sees_none_of_it(
    make_tenant: MakeTenant, http: Any, tenant: TenantInfo
) -> None:
    other = await make_tenant("other")
    _, token = await create_member(other, "13700000000")
    client = GraphQLClient(http, "/graphql", "other", token)
    assert (await client.raw("{ pickupStores { id } }"))["errors"]
    assert (await client.raw(MY_ORDER, {"id": gid("Order", 1)}))["errors"]
    quote = await client(QUOTE, {"lines": [{"skuId": gid("Sku", 1), "quantity": 1}]})
    assert quote["quote"]["errors"][0]["field"] == "fulfilment"
    admin_body = await GraphQLClient(http, "/admin/graphql", "other").raw(VERIFY, {"code": "X"})
    assert admin_body["errors"]


# --- slots -----------------------------------------------------------------------------

SLOTS = [
    {"weekday": 1, "starts": "10:00", "ends": "12:00", "capacity": 1},
    {"weekday": 1, "starts": "14:00", "ends": "16:00", "capacity": 5},
    {"weekday": 2, "starts": "10:00", "ends": "12:00", "capacity": 5},
    {"weekday": 3, "starts": "09:00", "ends": "10:00", "capacity": 5},
]


async def test_slots_are_booked_within_capacity_and_given_back(
    admin: GraphQLClient,
    tenant: TenantInfo,
    member: Any,
    make_product: Make,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    _, me = member
    _, other_token = await create_member(tenant, "13900000002")
    other = me.as_(other_token)
    product = await make_product("Tea", [(5800, 10)])
    skus = await skus_of(product)
    store = await make_store(admin, "西湖店", slots=SLOTS, closedDays=["2026-06-02"])

    listed = (await me(STORES))["pickupStores"][0]["slots"]
    assert [(s["slot"], s["remaining"]) for s in listed] == [
        ("2026-06-01T10:00", 1),
        ("2026-06-01T14:00", 5),
        ("2026-06-03T09:00", 5),
    ]
    assert listed[0]["startsAt"] == "2026-06-01T02:00:00+00:00"
    assert listed[0]["endsAt"] == "2026-06-01T04:00:00+00:00"

    async def error(slot: str | None) -> dict[str, Any]:
        body = await me(QUOTE, {"lines": lines(skus[0]), "ext": ext(store, slot)})
        errors: list[dict[str, Any]] = body["quote"]["errors"]
        return errors[0] if errors else {}

    assert await error(None) == {
        "code": "REQUIRED",
        "field": "extensions.pickup.slot",
        "message": "choose a pickup slot at this store",
    }
    assert (await error("2026-06-02T10:00"))["code"] == "PICKUP_SLOT_UNAVAILABLE"  # a closed day
    assert (await error("2026-06-01T11:00"))["code"] == "PICKUP_SLOT_UNAVAILABLE"
    assert (await error("2026-06-08T10:00"))["code"] == "PICKUP_SLOT_UNAVAILABLE"  # too far ahead
    assert (await error("soon"))["code"] == "INVALID"
    assert await error("2026-06-01T10:00+08:00") == {}

    first = await place(me, skus, store, "o-1", "2026-06-01T10:00")
    assert first["errors"] == []
    full = await place(other, skus, store, "o-2", "2026-06-01T10:00")
    assert full["errors"] == [
        {
            "code": "PICKUP_SLOT_FULL",
            "field": "extensions.pickup.slot",
            "message": "this pickup slot is full",
        }
    ]
    assert await Order.all().count() == 1
    assert (await Sku.get(product_id=product.id)).stock == 9
    assert (await me(STORES))["pickupStores"][0]["slots"][0]["remaining"] == 0

    assert (await me(CANCEL, {"id": first["order"]["id"]}))["cancelOrder"]["errors"] == []
    assert (await PickupSlotUsage.get()).taken == 0
    assert (await me(CANCEL, {"id": first["order"]["id"]}))["cancelOrder"]["errors"]
    assert (await PickupSlotUsage.get()).taken == 0
    second = await place(other, skus, store, "o-3", "2026-06-01T10:00")
    assert second["errors"] == []
    await other(PAY, {"id": second["order"]["id"], "key": "p-3"})
    await worker.run_until_idle()
    mine = (await other(MY_ORDER, {"id": second["order"]["id"]}))["order"]["pickup"]
    assert mine["slotStartsAt"] == "2026-06-01T02:00:00+00:00"
    assert mine["deadlineAt"] == "2026-06-08T04:00:00+00:00"  # 7 days after the slot ends

    refund = await admin(
        'mutation($o: ID!) { refundOrder(input: {orderId: $o, idempotencyKey: "r"}) '
        "{ errors { code } } }",
        {"o": second["order"]["id"]},
    )
    assert refund["refundOrder"]["errors"] == []
    assert (await PickupSlotUsage.get()).taken == 0
    assert (await PickupOrder.get(order_id=pk(second["order"]["id"]))).status == "refunded"
    clock.advance(timedelta(hours=2))
    assert (await error("2026-06-01T10:00"))["code"] == "PICKUP_SLOT_UNAVAILABLE"


# --- the storefront's store list -------------------------------------------------------


async def test_stores_near_the_member_open_now_and_able_to_serve_the_cart(
    admin: GraphQLClient, storefront: GraphQLClient, make_product: Make, clock: FrozenClock
) -> None:
    skus = await skus_of(await make_product("Tea", [(100, 5), (200, 5)]))
    a = await make_store(admin, "A", latitude=30.25, longitude=120.15, phone="1")
    b = await make_store(
        admin,
        "B",
        latitude=30.21,
        longitude=120.21,
        closedDays=["2026-05-31", "2026-06-01"],
        allSkus=False,
        skuIds=[skus[0]],
    )
    c = await make_store(
        admin, "C", hours=[{"weekday": 1, "opens": "11:00", "closes": "21:00"}], allSkus=False
    )
    await make_store(admin, "D", enabled=False)
    near = {"latitude": 30.25, "longitude": 120.16}

    found = (await storefront(STORES, {"near": near, "skus": skus}))["pickupStores"]
    assert [(s["id"], s["openNow"], s["canServe"]) for s in found] == [
        (a, True, True),
        (b, False, False),
        (c, False, False),
    ]
    assert 900 < found[0]["distanceMeters"] < 1000
    assert 6000 < found[1]["distanceMeters"] < 7000
    assert found[2]["distanceMeters"] is None
    assert found[1]["missingSkuIds"] == [skus[1]]
    assert found[2]["missingSkuIds"] == skus
    assert found[1]["closedDays"] == ["2026-06-01"]
    assert found[0]["hours"][0] == {"weekday": 1, "opens": "09:00", "closes": "21:00"}
    assert found[0]["slots"] == []

    close = await storefront(STORES, {"near": near, "within": 2000, "skus": [skus[0]]})
    assert [s["id"] for s in close["pickupStores"]] == [a]
    clock.advance(timedelta(hours=1))
    later = (await storefront(STORES))["pickupStores"]
    assert [(s["id"], s["openNow"], s["distanceMeters"]) for s in later] == [
        (a, True, None),
        (b, False, None),
        (c, True, None),
    ]
    clock.advance(timedelta(hours=11))  # 22:00 in Shanghai
    assert not any(s["openNow"] for s in (await storefront(STORES))["pickupStores"])
    bad = await storefront.raw(STORES, {"near": {"latitude": 91, "longitude": 0}})
    assert bad["errors"][0]["extensions"]["field"] == "near.latitude"


# --- codes -----------------------------------------------------------------------------


def test_the_code_generator_draws_long_codes_from_its_alphabet_without_repeats() -> None:
    drawn = [codes.new_code() for _ in range(100_000)]
    assert len(set(drawn)) == len(drawn)
    assert all(len(c) == 12 and set(c) <= set(codes.ALPHABET) for c in drawn)
    assert not set("01OIL") & set(codes.ALPHABET)
    assert set("".join(drawn[:1000])) == set(codes.ALPHABET)
    assert codes.normalize(" abcd-efgh ") == "ABCDEFGH"


async def test_a_paid_pickup_order_gets_one_code_shown_only_to_its_member(
    shop: dict[str, Any], admin: GraphQLClient, tenant: TenantInfo, worker: Worker
) -> None:
    me = shop["me"]
    placed = await place(me, shop["skus"][:1], shop["a"], "o-1")
    order_id = placed["order"]["id"]
    assert placed["order"]["total"]["amount"] == 5800 + FEE
    before = (await me(MY_ORDER, {"id": order_id}))["order"]
    assert before["fulfilment"] == "pickup"
    assert before["pickup"]["status"] == "PLACED" and before["pickup"]["code"] is None
    assert before["pickup"]["storeName"] == "西湖店"

    await me(PAY, {"id": order_id, "key": "p-1"})
    await worker.run_until_idle()
    pickup = (await me(MY_ORDER, {"id": order_id}))["order"]["pickup"]
    assert pickup["status"] == "AWAITING"
    code = pickup["code"]
    assert len(code) == 12 and set(code) <= set(codes.ALPHABET)
    assert pickup["deadlineAt"] == "2026-06-08T02:00:00+00:00"
    assert pickup["handover"] is None

    await codes.on_paid(tenant, pk(order_id))  # the event delivered again
    await worker.run_until_idle()
    assert (await PickupOrder.get(order_id=pk(order_id))).code == code
    assert await Job.filter(name="pickup.deadline").count() == 1
    seen_by_staff = (await admin(ADMIN_ORDER, {"id": order_id}))["order"]["pickup"]
    assert seen_by_staff["code"] is None and seen_by_staff["status"] == "AWAITING"

    delivered = await me(
        PLACE, {"lines": lines(shop["skus"][0]), "key": "o-2", "f": "delivery", "ext": None}
    )
    other_id = delivered["placeOrder"]["order"]["id"]
    assert (await me(MY_ORDER, {"id": other_id}))["order"]["pickup"] is None


async def test_the_payment_answer_shows_the_pickup_code(
    shop: dict[str, Any], worker: Worker
) -> None:
    """The code is issued in the payment's transaction: no event needs to run first."""
    me = shop["me"]
    placed = await place(me, shop["skus"][:1], shop["a"], "o-1")
    pay = """
    mutation($id: ID!, $key: String!) { payOrder(input: {orderId: $id, idempotencyKey: $key}) {
      order { status pickup { status code deadlineAt } } errors { code } } }"""
    paid = (await me(pay, {"id": placed["order"]["id"], "key": "p-1"}))["payOrder"]
    assert paid["errors"] == [] and paid["order"]["status"] == "PAID"
    pickup = paid["order"]["pickup"]
    assert pickup["status"] == "AWAITING" and pickup["deadlineAt"] == "2026-06-08T02:00:00+00:00"
    assert len(pickup["code"]) == 12 and set(pickup["code"]) <= set(codes.ALPHABET)
    await worker.run_until_idle()  # the order-paid event finds it issued
    assert (await PickupOrder.get(order_id=pk(placed["order"]["id"]))).code == pickup["code"]
    assert await Job.filter(name="pickup.deadline").count() == 1


async def test_a_code_colliding_with_the_unique_index_is_drawn_again(
    shop: dict[str, Any], worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    me = shop["me"]
    _, taken = await paid_order(me, shop["skus"][:1], shop["a"], "o-1", worker)
    draws = iter([taken, taken, "FRESH2345678"])
    monkeypatch.setattr(codes, "new_code", lambda: next(draws))
    _, code = await paid_order(me, shop["skus"][:1], shop["a"], "o-2", worker)
    assert code == "FRESH2345678"

    monkeypatch.setattr(codes, "new_code", lambda: taken)
    placed = await place(me, shop["skus"][:1], shop["a"], "o-3")
    paid = await me(PAY, {"id": placed["order"]["id"], "key": "p-3"})
    assert paid["payOrder"] == {"order": {"status": "PAID"}, "errors": []}  # no code: still paid
    await worker.run_until_idle()
    stuck = await PickupOrder.get(order_id=pk(placed["order"]["id"]))
    assert stuck.status == "placed" and stuck.code is None
    errors = await Job.filter(name="event:yutang_order_paid").values_list("last_error", flat=True)
    assert any("no unused pickup code" in (e or "") for e in errors)


class Statements(logging.Handler):
    """Counts the SQL statements tortoise logs while attached."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if not record.getMessage().startswith(("Created connection", "Closed connection")):
            self.count += 1


async def statements_of(call: Awaitable[Any]) -> int:
    logger = logging.getLogger("tortoise.db_client")
    counter, level = Statements(), logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    try:
        await call
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
    return counter.count


async def test_order_pickup_is_batched_for_a_page_of_orders(
    shop: dict[str, Any], worker: Worker
) -> None:
    me = shop["me"]
    page = "{ myOrders(first: 50) { edges { node { pickup { code storeName } } } } }"
    await paid_order(me, shop["skus"][:1], shop["a"], "o-0", worker)
    one = await statements_of(me(page))
    for n in range(1, 8):
        await paid_order(me, shop["skus"][:1], shop["b" if n % 2 else "a"], f"o-{n}", worker)
    many = await statements_of(me(page))
    assert many == one
    orders = (await me(page))["myOrders"]["edges"]
    assert len({o["node"]["pickup"]["code"] for o in orders}) == 8


# --- verification ----------------------------------------------------------------------


async def test_a_clerk_of_the_orders_store_verifies_once_and_completes_the_order(
    shop: dict[str, Any], admin: GraphQLClient, worker: Worker
) -> None:
    order_id, code = await paid_order(shop["me"], shop["skus"][:1], shop["a"], "o-1", worker)
    done = await shop["clerk_a"](VERIFY, {"code": f" {code[:6].lower()}-{code[6:]} "})
    assert done["verifyPickup"]["errors"] == []
    assert done["verifyPickup"]["order"] == {
        "orderId": order_id,
        "number": done["verifyPickup"]["order"]["number"],
        "orderStatus": "COMPLETED",
        "status": "PICKED_UP",
        "storeId": shop["a"],
        "total": {"amount": 5800 + FEE},
        "lines": [{"quantity": 1}],
    }
    again = await shop["clerk_a"](VERIFY, {"code": code})
    assert again["verifyPickup"] == {
        "order": None,
        "errors": [
            {
                "code": "PICKUP_ALREADY_PICKED_UP",
                "field": "code",
                "message": "this order was already picked up",
            }
        ],
    }
    pickup = (await admin(ADMIN_ORDER, {"id": order_id}))["order"]
    assert pickup["status"] == "COMPLETED"
    handover = pickup["pickup"]["handover"]
    assert handover["action"] == "picked_up" and handover["role"] == "clerk"
    assert handover["actor"] == f"staff:{shop['clerk_a_row'].id}"
    assert handover["storeId"] == shop["a"] and handover["at"] == "2026-06-01T02:00:00+00:00"
    await worker.run_until_idle()
    assert await Job.filter(name="event:yutang_order_completed").count() == 0  # no listener
    assert (await Order.get(id=pk(order_id))).completed_at is not None


ORDERS = "{ orders { edges { node { id } } } }"
ORDER = "query($id: ID!) { order(id: $id) { id } }"


async def test_a_clerk_sees_and_hands_over_only_their_own_stores_orders(
    admin: GraphQLClient, shop: dict[str, Any], worker: Worker
) -> None:
    at_a, _ = await paid_order(shop["me"], shop["skus"][:1], shop["a"], "scope-a", worker)
    at_b, _ = await paid_order(shop["me"], shop["skus"][:1], shop["b"], "scope-b", worker)
    assert await Order.filter(store_id=pk(shop["a"])).count() == 1
    clerk = shop["clerk_a"]
    listed = (await clerk(ORDERS))["orders"]["edges"]
    assert [e["node"]["id"] for e in listed] == [at_a]
    assert (await clerk(ORDER, {"id": at_a}))["order"] == {"id": at_a}
    assert (await clerk(ORDER, {"id": at_b}))["order"] is None
    refused = (await clerk(FULFIL, {"o": at_b}))["fulfilOrder"]["errors"]
    assert [e["code"] for e in refused] == ["FORBIDDEN"]
    assert len((await admin(ORDERS))["orders"]["edges"]) == 2


async def test_another_stores_clerk_a_member_and_anonymous_callers_are_refused(
    shop: dict[str, Any], admin: GraphQLClient, worker: Worker, make_tenant: MakeTenant
) -> None:
    order_id, code = await paid_order(shop["me"], shop["skus"][:1], shop["a"], "o-1", worker)
    _, foreign_owner = await create_staff(
        await make_tenant("elsewhere", plugins=["pickup"]), "owner", "owner"
    )
    for caller, expected in [
        (shop["clerk_b"], "FORBIDDEN"),
        (admin.as_(shop["me"].token), "UNAUTHENTICATED"),
        (admin.as_(None), "UNAUTHENTICATED"),
        (admin.as_(foreign_owner, tenant="elsewhere"), "NOT_FOUND"),
    ]:
        body = await caller(VERIFY, {"code": code})
        assert body["verifyPickup"]["errors"][0]["code"] == expected
        looked = await caller(LOOKUP, {"code": code})
        assert looked["pickupOrderByCode"]["errors"][0]["code"] == expected
    assert (await PickupOrder.get(order_id=pk(order_id))).status == "awaiting"
    assert await PickupHandover.all().count() == 0

    wrong = await shop["clerk_a"](VERIFY, {"code": "NOSUCHCODE23"})
    assert wrong["verifyPickup"]["errors"] == [
        {"code": "NOT_FOUND", "field": "code", "message": "no pickup order has this code"}
    ]
    looked = await shop["clerk_a"](LOOKUP, {"code": code})
    assert looked["pickupOrderByCode"] == {
        "order": {"status": "AWAITING", "orderStatus": "PAID"},
        "errors": [],
    }
    owner = await admin(VERIFY, {"code": code})  # the owner belongs to no store
    assert owner["verifyPickup"]["order"]["status"] == "PICKED_UP"
    handover = (await admin(ADMIN_ORDER, {"id": order_id}))["order"]["pickup"]["handover"]
    assert handover["role"] == "owner"


HELD: dict[int, str] = {}


class TeamHold:
    """A stand-in for group buy: lines of kind ``teamhold``, held while in ``HELD``."""

    @api.hookimpl
    def yutang_activities(self) -> list[api.Activity[Any]]:
        return [HoldingActivity("teamhold", HELD)]


TEAM_LINE = {"plugin": "teamhold", "ref": "team"}


@pytest_asyncio.fixture
async def team_hold(yutang_db: Any, tenant: TenantInfo) -> dict[int, str]:
    """The ``teamhold`` plugin, registered once per session, enabled for the shop."""
    if "teamhold" not in yutang_db.registry.plugins:
        yutang_db.registry.register("teamhold", TeamHold())
    await Tenant.filter(id=tenant.id).update(
        plugins=["pickup", "teamhold"], settings_version=F("settings_version") + 1
    )
    HELD.clear()
    return HELD


REQUEST_REFUND = """
mutation($o: ID!) { requestRefund(input: {orderId: $o, idempotencyKey: "rr"}) {
  refund { id } errors { code } } }"""
DECIDE = """
mutation($r: ID!) { decideRefund(refundId: $r, approve: false) { refund { status } } }"""
FULFIL = """
mutation($o: ID!) { fulfilOrder(orderId: $o) { order { status } errors { code message } } }"""


async def test_verification_waits_for_open_refunds_and_other_plugins_holds(
    shop: dict[str, Any],
    admin: GraphQLClient,
    worker: Worker,
    team_hold: dict[int, str],
    clock: FrozenClock,
) -> None:
    me, clerk = shop["me"], shop["clerk_a"]
    order_id, code = await paid_order(me, shop["skus"][:1], shop["a"], "o-1", worker, TEAM_LINE)

    bypass = (await admin(FULFIL, {"o": order_id}))["fulfilOrder"]
    assert bypass["errors"] == [
        {
            "code": "FULFILMENT_HELD",
            "message": "a pickup order is handed over by verifying its pickup code",
        }
    ]
    refund = (await me(REQUEST_REFUND, {"o": order_id}))["requestRefund"]["refund"]
    open_refund = (await clerk(VERIFY, {"code": code}))["verifyPickup"]["errors"]
    assert open_refund == [
        {
            "code": "PICKUP_REFUND_OPEN",
            "field": "code",
            "message": "a refund request for this order is open",
        }
    ]
    await admin(DECIDE, {"r": refund["id"]})

    team_hold[pk(order_id)] = "the group-buy team has not succeeded yet"
    held = (await clerk(VERIFY, {"code": code}))["verifyPickup"]["errors"]
    assert held == [
        {
            "code": "FULFILMENT_HELD",
            "field": "orderId",
            "message": "the group-buy team has not succeeded yet",
        }
    ]
    assert (await PickupOrder.get(order_id=pk(order_id))).status == "awaiting"
    assert (await Order.get(id=pk(order_id))).status == "paid"

    clock.advance(timedelta(days=7, minutes=1))  # the deadline passes while held
    await worker.run_until_idle()
    assert (await PickupOrder.get(order_id=pk(order_id))).status == "awaiting"
    assert await Job.filter(name="pickup.deadline", status="pending").count() == 1

    del team_hold[pk(order_id)]
    done = (await clerk(VERIFY, {"code": code}))["verifyPickup"]
    assert done["errors"] == [] and done["order"]["orderStatus"] == "COMPLETED"
    clock.advance(timedelta(days=1))
    await worker.run_until_idle()  # the deadline looked at again: picked up, nothing to do
    assert (await PickupHandover.get()).action == "picked_up"


async def test_an_order_held_at_its_deadline_is_completed_once_the_hold_lifts(
    shop: dict[str, Any], worker: Worker, team_hold: dict[int, str], clock: FrozenClock
) -> None:
    order_id, _ = await paid_order(
        shop["me"], shop["skus"][:1], shop["a"], "o-1", worker, TEAM_LINE
    )
    team_hold[pk(order_id)] = "team pending"
    clock.advance(timedelta(days=7, minutes=1))
    await worker.run_until_idle()
    assert (await Order.get(id=pk(order_id))).status == "paid"
    team_hold.clear()
    clock.advance(timedelta(days=1))
    await worker.run_until_idle()
    assert (await Order.get(id=pk(order_id))).status == "completed"
    assert (await PickupHandover.get()).action == "auto_completed"


async def test_code_lookups_beyond_the_rate_limit_are_refused(
    shop: dict[str, Any], worker: Worker, clock: FrozenClock
) -> None:
    order_id, code = await paid_order(shop["me"], shop["skus"][:1], shop["a"], "o-1", worker)
    clerk = shop["clerk_a"]
    clock.advance(timedelta(seconds=20))  # 10:00:20, in the 10:00 window
    for n in range(5):  # the tenant allows 5 a minute; wrong codes count too
        query, field = (LOOKUP, "pickupOrderByCode") if n % 2 else (VERIFY, "verifyPickup")
        body = await clerk(query, {"code": f"WRONG{n}"})
        assert body[field]["errors"][0]["code"] == "NOT_FOUND"
    clock.advance(timedelta(seconds=15))
    verify = """mutation($code: String!) { verifyPickup(code: $code) {
      order { status } errors { code field message retryAfter } } }"""
    limited = (await clerk(verify, {"code": code}))["verifyPickup"]
    assert limited == {  # the window ends at 10:01:00, 25 seconds from 10:00:35
        "order": None,
        "errors": [
            {
                "code": "TOO_MANY_ATTEMPTS",
                "field": None,
                "message": "too many attempts; try again in 25 seconds",
                "retryAfter": 25,
            }
        ],
    }
    other = (await shop["clerk_b"](VERIFY, {"code": "WRONG"}))["verifyPickup"]["errors"]
    assert other[0]["code"] == "NOT_FOUND"  # each staff member has their own limit
    assert (await PickupOrder.get(order_id=pk(order_id))).status == "awaiting"

    clock.advance(timedelta(minutes=1))
    done = (await clerk(VERIFY, {"code": code}))["verifyPickup"]
    assert done["errors"] == [] and done["order"]["status"] == "PICKED_UP"


# --- the deadline ----------------------------------------------------------------------


async def test_an_order_not_picked_up_is_auto_completed_at_the_deadline_once(
    shop: dict[str, Any], admin: GraphQLClient, worker: Worker, clock: FrozenClock
) -> None:
    order_id, code = await paid_order(shop["me"], shop["skus"][:1], shop["a"], "o-1", worker)
    clock.advance(timedelta(days=7) - timedelta(seconds=1))
    await worker.run_until_idle()
    assert (await Order.get(id=pk(order_id))).status == "paid"
    clock.advance(timedelta(seconds=1))
    await worker.run_until_idle()
    order = await Order.get(id=pk(order_id))
    assert order.status == "completed" and order.completed_at == clock.current
    pickup = (await admin(ADMIN_ORDER, {"id": order_id}))["order"]["pickup"]
    assert pickup["status"] == "EXPIRED"
    assert pickup["handover"]["action"] == "auto_completed"
    assert pickup["handover"]["actor"] == "job"

    await api.schedule_job(
        order.tenant_id,
        "pickup.deadline",
        {"order_id": order.id},
        clock.current,
        dedupe_key="pickup.deadline:again",
    )
    await worker.run_until_idle()  # the job delivered twice changes nothing
    assert await PickupHandover.all().count() == 1
    assert (await Order.get(id=pk(order_id))).status == "completed"
    late = (await shop["clerk_a"](VERIFY, {"code": code}))["verifyPickup"]["errors"]
    assert late[0]["code"] == "PICKUP_NOT_AWAITING"


async def test_an_order_not_picked_up_is_auto_refunded_at_the_deadline_once(
    shop: dict[str, Any],
    admin: GraphQLClient,
    tenant: TenantInfo,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    await set_pickup_settings(tenant, on_deadline="refund", deadline_days=2)
    order_id, code = await paid_order(shop["me"], shop["skus"][:1], shop["a"], "o-1", worker)
    sku = await Sku.get(id=pk(shop["skus"][0]))
    assert sku.stock == 9
    clock.advance(timedelta(days=2))
    await worker.run_until_idle()
    order = await Order.get(id=pk(order_id))
    assert order.status == "refunded" and order.refunded_amount == 5800 + FEE
    refund = await Refund.get(order_id=order.id)
    assert refund.status == "refunded" and refund.amount == 5800 + FEE
    assert (await Sku.get(id=sku.id)).stock == 10
    pickup = (await admin(ADMIN_ORDER, {"id": order_id}))["order"]["pickup"]
    assert pickup["status"] == "REFUNDED" and pickup["handover"]["action"] == "auto_refunded"

    await api.schedule_job(
        order.tenant_id,
        "pickup.deadline",
        {"order_id": order.id},
        clock.current,
        dedupe_key="pickup.deadline:again",
    )
    await worker.run_until_idle()
    assert await Refund.all().count() == 1
    assert await PickupHandover.all().count() == 1
    late = (await shop["clerk_a"](VERIFY, {"code": code}))["verifyPickup"]["errors"]
    assert late[0]["code"] == "PICKUP_NOT_AWAITING"


# --- races (PostgreSQL) ----------------------------------------------------------------


@pytest.mark.postgres_only
async def test_two_clerks_verifying_one_code_at_once_hand_it_over_once(
    shop: dict[str, Any], admin: GraphQLClient, tenant: TenantInfo, worker: Worker
) -> None:
    second, token = await create_staff(tenant, "clerk-a2", "clerk")
    await admin(ASSIGN, {"store": shop["a"], "staff": gid("Staff", second.id)})
    clerks = [shop["clerk_a"], admin.as_(token), admin, shop["clerk_b"]]
    for n in range(5):
        order_id, code = await paid_order(shop["me"], shop["skus"][:1], shop["a"], f"o-{n}", worker)
        bodies = await asyncio.gather(*(c.raw(VERIFY, {"code": code}) for c in clerks))
        results = [b["data"]["verifyPickup"] for b in bodies]
        assert not any(b.get("errors") for b in bodies)
        won = [r for r in results[:3] if r["errors"] == []]
        lost = [r["errors"][0]["code"] for r in results[:3] if r["errors"]]
        assert len(won) == 1 and lost == ["PICKUP_ALREADY_PICKED_UP"] * 2, results
        assert results[3]["errors"][0]["code"] == "FORBIDDEN"
        assert (await Order.get(id=pk(order_id))).status == "completed"
        assert await PickupHandover.filter(order_id=pk(order_id)).count() == 1


@pytest.mark.postgres_only
async def test_a_clerk_and_the_deadline_job_at_once_end_the_order_once(
    shop: dict[str, Any], worker: Worker, clock: FrozenClock
) -> None:
    order_id, code = await paid_order(shop["me"], shop["skus"][:1], shop["a"], "o-1", worker)
    clock.advance(timedelta(days=7))
    body, _ = await asyncio.gather(
        shop["clerk_a"].raw(VERIFY, {"code": code}), worker.run_until_idle()
    )
    handover = await PickupHandover.get(order_id=pk(order_id))
    verified = body["data"]["verifyPickup"]
    assert (verified["errors"] == []) == (handover.action == "picked_up")
    assert (await Order.get(id=pk(order_id))).status == "completed"


@pytest.mark.postgres_only
async def test_ten_members_racing_for_a_slot_of_three_get_three_orders(
    admin: GraphQLClient, tenant: TenantInfo, storefront: GraphQLClient, make_product: Make
) -> None:
    skus = await skus_of(await make_product("Tea", [(5800, 100)]))
    slot = {"weekday": 1, "starts": "14:00", "ends": "16:00", "capacity": 3}
    store = await make_store(admin, "西湖店", slots=[slot])
    tokens = [
        token
        for _, token in await asyncio.gather(
            *(create_member(tenant, f"1370000{i:04d}") for i in range(10))
        )
    ]
    bodies = await asyncio.gather(
        *(
            storefront.as_(t).raw(
                PLACE,
                {"lines": lines(skus[0]), "key": f"k{i}", "ext": ext(store, "2026-06-01T14:00")},
            )
            for i, t in enumerate(tokens)
        )
    )
    results = [b["data"]["placeOrder"] for b in bodies]
    assert sum(r["order"] is not None for r in results) == 3
    assert {e["code"] for r in results for e in r["errors"]} == {"PICKUP_SLOT_FULL"}
    assert (await PickupSlotUsage.get()).taken == 3
    assert await PickupOrder.all().count() == 3
    assert (await Sku.get(id=pk(skus[0]))).stock == 97


async def test_the_migration_gives_earlier_pickup_orders_their_store(
    shop: dict[str, Any], worker: Worker
) -> None:
    """Orders placed before the core kept an order's store get it from their pickup row."""
    order_id, _ = await paid_order(shop["me"], shop["skus"][:1], shop["b"], "before", worker)
    await Order.filter(id=pk(order_id)).update(store_id=None)
    migration = importlib.import_module("yutang.plugins.pickup.migrations.0002_order_store")
    await Tortoise.get_connection("default").execute_script(migration.Migration.operations[0].sql)
    assert (await Order.get(id=pk(order_id))).store_id == pk(shop["b"])
    listed = (await shop["clerk_b"](ORDERS))["orders"]["edges"]
    assert [e["node"]["id"] for e in listed] == [order_id]
