"""Refunds read back: on the order, by node, in the admin list; open requests hold units."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

import pytest
from tortoise import Tortoise

from yutang.core.contract import TenantInfo
from yutang.core.models import Member, Order, OrderLine, Refund, Sku, Store, StoreStaff
from yutang.core.worker import Worker
from yutang.graphql.ids import from_global, to_global
from yutang.testing import GraphQLClient, create_member, create_staff

PLACE = """mutation($sku: ID!, $q: Int!, $key: String!) {
  placeOrder(input: {lines: [{skuId: $sku, quantity: $q}], idempotencyKey: $key}) {
    order { id lines { id quantity amount { amount } } } errors { code field } } }"""
PAY = """mutation($id: ID!, $key: String!) {
  payOrder(input: {orderId: $id, idempotencyKey: $key}) { paymentStatus errors { code } } }"""
REQUEST = """mutation($input: RefundRequestInput!) { requestRefund(input: $input) {
  refund { id status amount { amount } reason lines { lineId quantity amount { amount } }
           requestedBy { kind id plugin } decidedAt order { id } }
  errors { code field message } } }"""
REFUND = """mutation($input: RefundRequestInput!) { refundOrder(input: $input) {
  refund { id status amount { amount } requestedBy { kind id } } errors { code field } } }"""
DECIDE = """mutation($id: ID!, $approve: Boolean!) {
  decideRefund(refundId: $id, approve: $approve) {
    refund { id status decidedAt } errors { code field } } }"""
REFUND_FIELDS = """id status amount { amount } reason createdAt decidedAt refundedAt
  lines { lineId quantity amount { amount } points } requestedBy { kind id plugin }"""
PAYMENT_FIELDS = """id provider status amount { amount } instalment capturedAmount { amount }
  refundedAmount { amount } createdAt capturedAt"""
MY_ORDER = f"""query($id: ID!) {{ order(id: $id) {{
  refunds {{ {REFUND_FIELDS} }} payments {{ {PAYMENT_FIELDS} }} }} }}"""
NODE = """query($id: ID!) { node(id: $id) { id ... on Refund { status order { id } } } }"""
ADMIN_REFUNDS = """query($status: RefundStatus, $order: ID, $first: Int = 20, $after: String) {
  refunds(status: $status, orderId: $order, first: $first, after: $after) {
    edges { node { id status order { id number } } } pageInfo { hasNextPage endCursor } } }"""


def pk(global_id: str) -> int:
    return from_global(global_id)[1]


async def paid_order(me: GraphQLClient, sku: Sku, quantity: int, key: str) -> dict[str, Any]:
    """A placed and paid order of ``quantity`` units of ``sku``."""
    placed = await me(PLACE, {"sku": to_global("Sku", sku.id), "q": quantity, "key": key})
    order: dict[str, Any] = placed["placeOrder"]["order"]
    assert (await me(PAY, {"id": order["id"], "key": f"pay-{key}"}))["payOrder"]["errors"] == []
    return order


def ask(order: dict[str, Any], key: str, quantity: int | None = None) -> dict[str, Any]:
    """A refund input for ``quantity`` units of the order's line (all left when None)."""
    data: dict[str, Any] = {"orderId": order["id"], "idempotencyKey": key, "reason": "broken"}
    if quantity is not None:
        data["lines"] = [{"lineId": order["lines"][0]["id"], "quantity": quantity}]
    return {"input": data}


async def test_a_refund_reads_back_on_the_order_by_node_and_in_the_admin_list(
    member: tuple[Member, GraphQLClient],
    admin: GraphQLClient,
    tenant: TenantInfo,
    make_product: Any,
    worker: Worker,
) -> None:
    row, me = member
    sku = await Sku.get(product_id=(await make_product("Tea", [(3000, 10)])).id)
    order = await paid_order(me, sku, 3, "o-1")
    line = order["lines"][0]

    asked = (await me(REQUEST, ask(order, "q-1", 1)))["requestRefund"]
    assert asked["errors"] == []
    refund = asked["refund"]
    assert refund["status"] == "OPEN" and refund["decidedAt"] is None
    assert refund["requestedBy"] == {
        "kind": "MEMBER",
        "id": to_global("Member", row.id),
        "plugin": None,
    }
    assert refund["lines"] == [{"lineId": line["id"], "quantity": 1, "amount": {"amount": 3000}}]
    assert refund["order"] == {"id": order["id"]} and refund["reason"] == "broken"

    mine = (await me(MY_ORDER, {"id": order["id"]}))["order"]
    [listed] = mine["refunds"]
    assert (listed["id"], listed["status"], listed["amount"]) == (
        refund["id"],
        "OPEN",
        {"amount": 3000},
    )
    [payment] = mine["payments"]
    assert payment["provider"] == "dev" and payment["status"] == "CAPTURED"
    assert payment["amount"] == payment["capturedAmount"] == {"amount": 9000}
    assert payment["instalment"] is None and payment["refundedAmount"] == {"amount": 0}
    assert payment["capturedAt"] is not None

    assert (await me(NODE, {"id": refund["id"]}))["node"] == {
        "id": refund["id"],
        "status": "OPEN",
        "order": {"id": order["id"]},
    }
    _, other = await create_member(tenant, "13900000077")
    assert (await me.as_(other)(NODE, {"id": refund["id"]}))["node"] is None
    assert (await me.as_(None)(NODE, {"id": refund["id"]}))["node"] is None

    listed_admin = (await admin(ADMIN_REFUNDS, {"status": "OPEN"}))["refunds"]["edges"]
    assert [e["node"]["id"] for e in listed_admin] == [refund["id"]]
    assert listed_admin[0]["node"]["order"]["id"] == order["id"]
    assert (await admin(ADMIN_REFUNDS, {"status": "APPROVED"}))["refunds"]["edges"] == []

    decided = (await admin(DECIDE, {"id": refund["id"], "approve": True}))["decideRefund"]
    assert decided["errors"] == [] and decided["refund"]["status"] == "APPROVED"
    assert decided["refund"]["decidedAt"] is not None
    await worker.run_until_idle()
    mine = (await me(MY_ORDER, {"id": order["id"]}))["order"]
    assert mine["refunds"][0]["status"] == "REFUNDED" and mine["refunds"][0]["refundedAt"]
    assert mine["payments"][0]["refundedAmount"] == {"amount": 3000}


async def test_the_admin_list_pages_newest_first_and_filters_by_order(
    member: tuple[Member, GraphQLClient], admin: GraphQLClient, make_product: Any
) -> None:
    _, me = member
    sku = await Sku.get(product_id=(await make_product("Tea", [(1000, 20)])).id)
    first, second = await paid_order(me, sku, 2, "a"), await paid_order(me, sku, 2, "b")
    ids = []
    for order, key in ((first, "1"), (second, "2"), (first, "3")):
        made = (await admin(REFUND, ask(order, key, 1)))["refundOrder"]
        assert made["errors"] == [] and made["refund"]["requestedBy"]["kind"] == "STAFF"
        ids.append(made["refund"]["id"])

    page = (await admin(ADMIN_REFUNDS, {"first": 2}))["refunds"]
    assert [e["node"]["id"] for e in page["edges"]] == [ids[2], ids[1]]
    assert page["pageInfo"]["hasNextPage"]
    rest = (await admin(ADMIN_REFUNDS, {"after": page["pageInfo"]["endCursor"]}))["refunds"]
    assert [e["node"]["id"] for e in rest["edges"]] == [ids[0]]
    of_first = (await admin(ADMIN_REFUNDS, {"order": first["id"]}))["refunds"]["edges"]
    assert [e["node"]["id"] for e in of_first] == [ids[2], ids[0]]
    bad = await admin.raw(ADMIN_REFUNDS, {"order": to_global("Sku", 1)})
    assert bad["errors"][0]["extensions"]["code"] == "INVALID"


async def test_a_clerk_lists_only_refunds_of_their_stores_orders(
    member: tuple[Member, GraphQLClient],
    admin: GraphQLClient,
    tenant: TenantInfo,
    make_product: Any,
) -> None:
    _, me = member
    sku = await Sku.get(product_id=(await make_product("Tea", [(1000, 20)])).id)
    mine, theirs, delivery = [await paid_order(me, sku, 1, k) for k in ("m", "t", "d")]
    here = await Store.create(tenant_id=tenant.id, name="Here")
    there = await Store.create(tenant_id=tenant.id, name="There")
    await Order.filter(id=pk(mine["id"])).update(store_id=here.id)
    await Order.filter(id=pk(theirs["id"])).update(store_id=there.id)
    for order in (mine, theirs, delivery):
        assert (await me(REQUEST, ask(order, order["id"])))["requestRefund"]["errors"] == []
    clerk, token = await create_staff(tenant, "clerk", "clerk")
    await StoreStaff.create(tenant_id=tenant.id, store_id=here.id, staff_id=clerk.id)

    seen = (await admin.as_(token)(ADMIN_REFUNDS))["refunds"]["edges"]
    assert [e["node"]["order"]["id"] for e in seen] == [mine["id"]]
    other = await admin.as_(token)(ADMIN_REFUNDS, {"order": theirs["id"]})
    assert other["refunds"]["edges"] == []
    everything = (await admin(ADMIN_REFUNDS))["refunds"]["edges"]
    assert len(everything) == 3
    through_order = await admin.as_(token)(
        "query($id: ID!) { order(id: $id) { refunds { status } } }", {"id": mine["id"]}
    )
    assert through_order["order"]["refunds"] == [{"status": "OPEN"}]


async def test_a_second_request_for_units_already_asked_for_is_refused_and_writes_nothing(
    member: tuple[Member, GraphQLClient], admin: GraphQLClient, make_product: Any
) -> None:
    _, me = member
    sku = await Sku.get(product_id=(await make_product("Tea", [(1000, 10)])).id)
    order = await paid_order(me, sku, 2, "o")
    first = (await me(REQUEST, ask(order, "q1", 1)))["requestRefund"]
    assert first["errors"] == []

    again = (await me(REQUEST, ask(order, "q2", 2)))["requestRefund"]
    assert [(e["code"], e["field"]) for e in again["errors"]] == [
        ("NOT_REFUNDABLE", "lines[0].quantity")
    ]
    staff = (await admin(REFUND, ask(order, "s1", 2)))["refundOrder"]
    assert [(e["code"], e["field"]) for e in staff["errors"]] == [
        ("NOT_REFUNDABLE", "lines[0].quantity")
    ]
    assert await Refund.filter(order_id=pk(order["id"])).count() == 1
    assert (await OrderLine.get(order_id=pk(order["id"]))).refunded_quantity == 0

    rest = (await me(REQUEST, ask(order, "q3")))["requestRefund"]  # what is not held
    assert rest["errors"] == [] and rest["refund"]["lines"][0]["quantity"] == 1
    nothing = (await me(REQUEST, ask(order, "q4")))["requestRefund"]
    assert [(e["code"], e["field"]) for e in nothing["errors"]] == [("NOT_REFUNDABLE", "lines")]

    rejected = await admin(DECIDE, {"id": first["refund"]["id"], "approve": False})
    assert rejected["decideRefund"]["refund"]["status"] == "REJECTED"
    assert rejected["decideRefund"]["refund"]["decidedAt"] is not None
    freed = (await me(REQUEST, ask(order, "q5", 1)))["requestRefund"]
    assert freed["errors"] == [] and freed["refund"]["status"] == "OPEN"
    twice = await admin(DECIDE, {"id": first["refund"]["id"], "approve": True})
    assert [e["code"] for e in twice["decideRefund"]["errors"]] == ["ILLEGAL_TRANSITION"]


async def test_a_staff_refund_of_everything_left_approves_the_open_requests_first(
    member: tuple[Member, GraphQLClient], admin: GraphQLClient, make_product: Any
) -> None:
    _, me = member
    sku = await Sku.get(product_id=(await make_product("Tea", [(1000, 10)])).id)
    order = await paid_order(me, sku, 3, "o")
    asked = (await me(REQUEST, ask(order, "q", 1)))["requestRefund"]["refund"]

    done = (await admin(REFUND, ask(order, "all")))["refundOrder"]
    assert done["errors"] == [] and done["refund"]["amount"] == {"amount": 2000}
    statuses = {r.id: r.status for r in await Refund.filter(order_id=pk(order["id"]))}
    assert statuses == {pk(asked["id"]): "approved", pk(done["refund"]["id"]): "approved"}
    row = await Order.get(id=pk(order["id"]))
    assert row.status == "refunded" and row.refunded_amount == row.paid_amount == 3000

    whole = await paid_order(me, sku, 2, "w")
    held = (await me(REQUEST, ask(whole, "qw")))["requestRefund"]["refund"]
    answered = (await admin(REFUND, ask(whole, "all-w")))["refundOrder"]
    assert answered["errors"] == [] and answered["refund"]["id"] == held["id"]
    assert answered["refund"]["requestedBy"]["kind"] == "MEMBER"
    assert await Refund.filter(order_id=pk(whole["id"])).count() == 1
    assert (await Order.get(id=pk(whole["id"]))).status == "refunded"


@pytest.mark.postgres_only
async def test_two_requests_racing_for_the_last_unit_leave_one_open(
    member: tuple[Member, GraphQLClient], admin: GraphQLClient, make_product: Any
) -> None:
    _, me = member
    sku = await Sku.get(product_id=(await make_product("Tea", [(1000, 10)])).id)
    order = await paid_order(me, sku, 2, "o")
    assert (await admin(REFUND, ask(order, "s", 1)))["refundOrder"]["errors"] == []

    for attempt in range(5):
        bodies = await asyncio.gather(
            me.raw(REQUEST, ask(order, f"a{attempt}", 1)),
            me.raw(REQUEST, ask(order, f"b{attempt}", 1)),
            admin.raw(REFUND, ask(order, f"c{attempt}", 1)),
        )
        results = [
            b["data"]["requestRefund" if i < 2 else "refundOrder"] for i, b in enumerate(bodies)
        ]
        won = [r for r in results if r["refund"] is not None]
        assert len(won) == 1, results
        # a loser meets the unit held, or (after staff took it) the order refunded
        fields = {"lines[0].quantity"} | (
            {"orderId"} if won[0]["refund"]["status"] != "OPEN" else set()
        )
        assert all(
            [e["code"] for e in r["errors"]] == ["NOT_REFUNDABLE"]
            and {e["field"] for e in r["errors"]} <= fields
            for r in results
            if r["refund"] is None
        ), results
        line = await OrderLine.get(order_id=pk(order["id"]))
        held = sum(
            p["quantity"]
            for r in await Refund.filter(order_id=line.order_id, status="open")
            for p in r.lines
        )
        assert line.refunded_quantity + held == line.quantity
        if won[0]["refund"]["status"] != "OPEN":
            return  # staff took the last unit: the order is refunded
        decided = await admin(DECIDE, {"id": won[0]["refund"]["id"], "approve": False})
        assert decided["decideRefund"]["errors"] == []


async def test_the_migration_credits_earlier_open_requests_to_their_member(
    member: tuple[Member, GraphQLClient], admin: GraphQLClient, make_product: Any
) -> None:
    """Requests made before who asked was kept: an open one was its order's member's."""
    row, me = member
    sku = await Sku.get(product_id=(await make_product("Tea", [(1000, 10)])).id)
    order = await paid_order(me, sku, 2, "o")
    assert (await me(REQUEST, ask(order, "q", 1)))["requestRefund"]["errors"] == []
    assert (await admin(REFUND, ask(order, "s", 1)))["refundOrder"]["errors"] == []
    await Refund.all().update(requested_by="")
    migration = importlib.import_module("yutang.migrations.0009_refund_requests")
    await Tortoise.get_connection("default").execute_script(migration.Migration.operations[-1].sql)
    by_status = {r.status: r.requested_by for r in await Refund.all()}
    assert by_status == {"open": f"member:{row.id}", "approved": ""}
