"""Staff search over HTTP through the real app: orders by number, member phone, status,
placing time and store, with the member on each order for those who may see members;
members by phone, nickname and level; a store-bound role finds only its stores' orders;
filters that cannot be are refused naming the argument.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec

from yutang.core.clock import FrozenClock
from yutang.core.contract import TenantInfo
from yutang.core.models import Member, MemberLevel, Order, Sku, Store, StoreStaff
from yutang.core.orders import PlaceOrderInput, place_order
from yutang.graphql.ids import to_global
from yutang.testing import GraphQLClient, create_member, create_staff

ORDERS = """query($number: String, $phone: String, $status: OrderStatus, $from: DateTime,
  $to: DateTime, $store: ID, $first: Int = 20, $after: String) {
  orders(number: $number, memberPhone: $phone, status: $status, createdFrom: $from,
         createdTo: $to, storeId: $store, first: $first, after: $after) {
    edges { node { number status member { phone nickname } } }
    pageInfo { hasNextPage endCursor } } }"""
NUMBERS = """query($phone: String, $store: ID) {
  orders(memberPhone: $phone, storeId: $store) { edges { node { number } } } }"""
MEMBERS = """query($phone: String, $nickname: String, $level: String, $first: Int = 20) {
  members(phone: $phone, nickname: $nickname, level: $level, first: $first) {
    edges { node { phone nickname level } } pageInfo { hasNextPage } } }"""


async def order_for(tenant: TenantInfo, member: Member, sku: Sku, key: str) -> Order:
    data = msgspec.convert(
        {"lines": [{"skuId": sku.id, "quantity": 1}], "idempotencyKey": key}, PlaceOrderInput
    )
    return await place_order(tenant, member.id, data)


def numbers(data: dict[str, Any]) -> list[str]:
    return [e["node"]["number"] for e in data["orders"]["edges"]]


async def test_staff_find_orders_by_number_phone_status_time_and_store(
    admin: GraphQLClient,
    tenant: TenantInfo,
    make_product: Any,
    frozen_clock: FrozenClock,
) -> None:
    sku = await Sku.get(product_id=(await make_product("Tea", [(3000, 50)])).id)
    ann, _ = await create_member(tenant, "13900000001")
    await Member.filter(id=ann.id).update(nickname="Ann")
    bob, _ = await create_member(tenant, "13900000002")
    first = await order_for(tenant, ann, sku, "a-1")
    second = await order_for(tenant, bob, sku, "b-1")
    third = await order_for(tenant, ann, sku, "a-2")
    day_one = frozen_clock.current
    for days, order in enumerate((first, second, third)):  # placed a day apart
        await Order.filter(id=order.id).update(created_at=day_one + timedelta(days=days))
    store = await Store.create(tenant_id=tenant.id, name="西湖店")
    await Order.filter(id=third.id).update(store_id=store.id, status="paid")

    everything = await admin(ORDERS)
    assert numbers(everything) == [third.number, second.number, first.number]
    node = everything["orders"]["edges"][0]["node"]
    assert node["member"] == {"phone": "13900000001", "nickname": "Ann"}

    assert numbers(await admin(ORDERS, {"number": f" {second.number} "})) == [second.number]
    assert numbers(await admin(ORDERS, {"phone": "13900000001"})) == [third.number, first.number]
    assert numbers(await admin(ORDERS, {"phone": "13700000000"})) == []
    assert numbers(await admin(ORDERS, {"status": "PAID"})) == [third.number]
    assert numbers(await admin(ORDERS, {"store": to_global("Store", store.id)})) == [third.number]
    day_two = day_one + timedelta(days=1)
    between = {"from": day_two.isoformat(), "to": (day_two + timedelta(days=1)).isoformat()}
    assert numbers(await admin(ORDERS, between)) == [second.number]
    assert numbers(await admin(ORDERS, {"from": day_two.isoformat()})) == [
        third.number,
        second.number,
    ]
    both = {"phone": "13900000001", "from": day_two.isoformat(), "status": "PENDING_PAYMENT"}
    assert numbers(await admin(ORDERS, both)) == []

    page = (await admin(ORDERS, {"phone": "13900000001", "first": 1}))["orders"]
    assert [e["node"]["number"] for e in page["edges"]] == [third.number]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await admin(ORDERS, {"phone": "13900000001", "after": page["pageInfo"]["endCursor"]})
    assert numbers(rest) == [first.number]

    for variables, field in (
        ({"from": day_two.isoformat(), "to": day_two.isoformat()}, "createdTo"),
        ({"number": "n" * 40}, "number"),
        ({"store": to_global("Product", 1)}, "storeId"),
    ):
        body = await admin.raw(ORDERS, variables)
        [error] = body["errors"]
        assert error["extensions"] == {"code": "INVALID", "field": field}, variables


async def test_a_store_bound_role_finds_its_stores_orders_without_their_members(
    http: Any, admin: GraphQLClient, tenant: TenantInfo, make_product: Any
) -> None:
    sku = await Sku.get(product_id=(await make_product("Tea", [(3000, 50)])).id)
    ann, _ = await create_member(tenant, "13900000001")
    here = await Store.create(tenant_id=tenant.id, name="here")
    there = await Store.create(tenant_id=tenant.id, name="there")
    mine = await order_for(tenant, ann, sku, "1")
    theirs = await order_for(tenant, ann, sku, "2")
    await order_for(tenant, ann, sku, "3")  # delivered: of no store
    await Order.filter(id=mine.id).update(store_id=here.id)
    await Order.filter(id=theirs.id).update(store_id=there.id)
    clerk, token = await create_staff(tenant, "clerk", "clerk")
    await StoreStaff.create(tenant_id=tenant.id, store_id=here.id, staff_id=clerk.id)
    desk = admin.as_(token)

    assert numbers(await desk(NUMBERS, {"phone": "13900000001"})) == [mine.number]
    other_store = {"store": to_global("Store", there.id)}
    assert numbers(await desk(NUMBERS, other_store)) == []
    assert numbers(await admin(NUMBERS, other_store)) == [theirs.number]
    # A clerk may not see members: the order answers, its member is refused.
    body = await desk.raw(ORDERS)
    [edge] = body["data"]["orders"]["edges"]
    assert edge["node"]["number"] == mine.number and edge["node"]["member"] is None
    [error] = body["errors"]
    assert error["path"] == ["orders", "edges", 0, "node", "member"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    members = await desk.raw(MEMBERS)
    assert members["data"] is None and members["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_staff_find_members_by_phone_nickname_and_level(
    admin: GraphQLClient, tenant: TenantInfo
) -> None:
    for name, spend, percent in (("银卡", 200_000, 95), ("金卡", 1_000_000, 90)):
        await MemberLevel.create(
            tenant_id=tenant.id, name=name, min_spend=spend, discount_percent=percent
        )
    people = [
        ("13900000001", "小鱼儿", 0),
        ("13900000002", "Big Fish", 250_000),
        ("13900000003", "fishbone", 1_200_000),
        ("13900000004", "100%_tea", 999_999),
    ]
    for phone, nickname, spend in people:
        row, _ = await create_member(tenant, phone)
        await Member.filter(id=row.id).update(nickname=nickname, paid_spend=spend)

    def phones(data: dict[str, Any]) -> list[str]:
        return [e["node"]["phone"] for e in data["members"]["edges"]]

    found = await admin(MEMBERS, {"phone": "13900000002"})
    assert found["members"]["edges"] == [
        {"node": {"phone": "13900000002", "nickname": "Big Fish", "level": "银卡"}}
    ]
    assert phones(await admin(MEMBERS, {"nickname": "FISH"})) == ["13900000002", "13900000003"]
    assert phones(await admin(MEMBERS, {"nickname": "鱼"})) == ["13900000001"]
    assert phones(await admin(MEMBERS, {"nickname": "%_"})) == ["13900000004"]
    assert phones(await admin(MEMBERS, {"level": "银卡"})) == ["13900000002", "13900000004"]
    assert phones(await admin(MEMBERS, {"level": "金卡"})) == ["13900000003"]
    assert phones(await admin(MEMBERS, {"level": "金卡", "nickname": "big"})) == []
    page = (await admin(MEMBERS, {"nickname": "fish", "first": 1}))["members"]
    assert page["pageInfo"]["hasNextPage"] is True
    body = await admin.raw(MEMBERS, {"level": "钻石卡"})
    assert body["errors"][0]["extensions"] == {"code": "INVALID", "field": "level"}
