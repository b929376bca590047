"""Races over the real app on PostgreSQL: many requests at once through the ASGI client,
each request in its own task with its own database connection (the pool has 20; the rest
queue). SQLite serializes writers in one process, so none of these could fail there."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from yutang.core import idempotency
from yutang.core.models import (
    IdempotencyRecord,
    Job,
    Member,
    Order,
    OrderLine,
    Payment,
    PointsEntry,
    Refund,
    Sku,
)
from yutang.core.worker import Worker
from yutang.graphql.ids import from_global, to_global
from yutang.testing import GraphQLClient, create_member

pytestmark = pytest.mark.postgres_only

PLACE = """
mutation($lines: [LineInput!]!, $key: String!, $points: Int! = 0) {
  placeOrder(input: {lines: $lines, idempotencyKey: $key, usePoints: $points}) {
    order { id status total { amount } pointsUsed lines { id quantity amount { amount } } }
    errors { code field message }
  }
}"""
PAY = """
mutation($id: ID!, $key: String!) {
  payOrder(input: {orderId: $id, idempotencyKey: $key}) {
    order { status } paymentStatus errors { code field message }
  }
}"""
CANCEL = """
mutation($id: ID!) {
  cancelOrder(orderId: $id) { order { status } errors { code field message } }
}"""
REFUND = """
mutation($o: ID!, $l: ID!, $q: Int!, $k: String!) {
  refundOrder(input: {orderId: $o, idempotencyKey: $k, lines: [{lineId: $l, quantity: $q}]}) {
    refund { id status amount { amount } } errors { code field message }
  }
}"""


def payload(body: dict[str, Any], field: str) -> dict[str, Any]:
    """The mutation's payload; a GraphQL-level error (an unexpected exception) fails."""
    assert not body.get("errors"), body["errors"]
    result: dict[str, Any] = body["data"][field]
    return result


def pk(global_id: str) -> int:
    return from_global(global_id)[1]


def lines_of(sku: Sku, quantity: int) -> list[dict[str, Any]]:
    return [{"skuId": to_global("Sku", sku.id), "quantity": quantity}]


async def members(tenant: Any, count: int, points: int = 0, prefix: str = "137") -> list[str]:
    """Tokens of ``count`` new members, created concurrently."""
    made = await asyncio.gather(
        *(create_member(tenant, f"{prefix}{i:08d}", points=points) for i in range(count))
    )
    return [token for _, token in made]


async def place(
    client: GraphQLClient, sku: Sku, quantity: int, key: str, points: int = 0
) -> dict[str, Any]:
    return await client(PLACE, {"lines": lines_of(sku, quantity), "key": key, "points": points})


async def test_200_buyers_for_20_units_leave_20_orders_and_no_stock(
    tenant, storefront: GraphQLClient, make_product
) -> None:
    product = await make_product("Longjing", [(5800, 20)])
    sku = await Sku.get(product_id=product.id)
    tokens = await members(tenant, 200)

    samples: list[int] = []
    racing = True

    async def watch_stock() -> None:
        while racing:
            samples.append(await Sku.filter(id=sku.id).first().values_list("stock", flat=True))
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch_stock())
    bodies = await asyncio.gather(
        *(
            storefront.as_(token).raw(
                PLACE, {"lines": lines_of(sku, 1), "key": f"buy-{i}", "points": 0}
            )
            for i, token in enumerate(tokens)
        )
    )
    racing = False
    await watcher

    results = [payload(b, "placeOrder") for b in bodies]
    winners = [r for r in results if r["order"] is not None]
    losers = [r for r in results if r["order"] is None]
    assert len(winners) == 20
    assert all(r["errors"] == [] and r["order"]["status"] == "PENDING_PAYMENT" for r in winners)
    assert len(losers) == 180
    codes = Counter(e["code"] for r in losers for e in r["errors"])
    assert sum(codes.values()) == 180, codes
    assert set(codes) == {"INSUFFICIENT_STOCK"}, codes

    assert (await Sku.get(id=sku.id)).stock == 0
    assert samples and min(samples) >= 0
    assert await Order.all().count() == 20
    assert len({o.member_id for o in await Order.all()}) == 20
    assert sum(ln.quantity for ln in await OrderLine.all()) == 20
    # A losing request wrote nothing: not even its idempotency key stays taken.
    assert await IdempotencyRecord.all().count() == 20
    assert await Job.filter(name="core.payment_timeout").count() == 20


async def test_one_idempotency_key_sent_10_times_at_once_makes_one_order(
    member, make_product
) -> None:
    row, me = member
    product = await make_product("Tea", [(10000, 50)])
    sku = await Sku.get(product_id=product.id)

    bodies = await asyncio.gather(
        *(
            me.raw(PLACE, {"lines": lines_of(sku, 2), "key": "double-tap", "points": 1000})
            for _ in range(10)
        )
    )

    results = [payload(b, "placeOrder") for b in bodies]
    assert all(r["errors"] == [] for r in results), results
    ids = {r["order"]["id"] for r in results}
    assert len(ids) == 1
    assert await Order.all().count() == 1
    order = await Order.get(id=pk(ids.pop()))
    assert order.points_used == 1000
    assert (await Sku.get(id=sku.id)).stock == 48
    assert (await Member.get(id=row.id)).points == 10_000 - 1000
    assert await PointsEntry.filter(member_id=row.id, reason="order").count() == 1
    assert await IdempotencyRecord.all().count() == 1
    assert await Job.filter(name="core.payment_timeout").count() == 1


async def lock_waiters() -> int:
    """How many transactions of this database wait for a lock right now."""
    rows = await connections.get("default").execute_query_dict(
        "SELECT count(*) AS n FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return int(rows[0]["n"])


async def until_waiting(n: int) -> None:
    """Return once ``n`` transactions wait for a lock; fail after 10 s."""
    for _ in range(1000):
        if await lock_waiters() >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(
        f"expected {n} transactions waiting for a lock, saw {await lock_waiters()}"
    )


async def assert_order_consistent(
    placed: dict[str, Any], paid: dict[str, Any], cancelled: dict[str, Any], points: int
) -> tuple[str, int | None]:
    """Check one order after a pay/cancel race; (final status, stray payment id or None)."""
    total = placed["total"]["amount"]
    order = await Order.get(id=pk(placed["id"]))
    payments = await Payment.filter(order_id=order.id)
    member = await Member.get(id=order.member_id)
    stray = None
    assert order.status in {"paid", "cancelled"}, order.status
    if order.status == "paid":
        assert paid["errors"] == [] and paid["paymentStatus"] == "CAPTURED", paid
        assert paid["order"]["status"] == "PAID"
        assert [e["code"] for e in cancelled["errors"]] in (["CONFLICT"], ["ILLEGAL_TRANSITION"])
        assert [(p.status, p.amount) for p in payments] == [("captured", total)]
        assert order.paid_amount == total and member.paid_spend == total
        assert member.points == points - placed["pointsUsed"]
    else:
        assert cancelled["errors"] == [] and cancelled["order"]["status"] == "CANCELLED"
        assert order.paid_amount == 0 and member.paid_spend == 0
        assert member.points == points
        if paid["errors"]:
            assert [e["code"] for e in paid["errors"]] == ["ILLEGAL_TRANSITION"], paid
            assert payments == []
        else:
            # The money was taken after the cancellation: it is queued to go back.
            assert paid["order"]["status"] == "CANCELLED", paid
            assert [p.status for p in payments] == ["captured"]
            stray = payments[0].id
            assert await Job.filter(
                name="core.refund_payment", dedupe_key=f"refund_payment:{stray}"
            ).exists()
    entries = await PointsEntry.filter(member_id=member.id)
    assert sum(e.delta for e in entries) == member.points
    assert all(e.balance_after >= 0 for e in entries)
    return order.status, stray


@pytest.mark.parametrize("first", ["pay", "cancel"])
async def test_pay_and_cancel_queued_on_the_order_lock_have_one_winner(
    first: str, tenant, storefront: GraphQLClient, make_product, worker: Worker
) -> None:
    """Both requests read the order as unpaid, then wait on its row lock in a known order:
    whichever comes first wins and the other must see it (not overwrite it)."""
    product = await make_product("Tea", [(10000, 10)])
    sku = await Sku.get(product_id=product.id)
    (token,) = await members(tenant, 1, points=1000)
    me = storefront.as_(token)
    placed = (await place(me, sku, 2, "o-1", points=500))["placeOrder"]["order"]
    order_id = pk(placed["id"])

    locked, release = asyncio.Event(), asyncio.Event()

    async def hold_order() -> None:
        # NO KEY UPDATE: the payment row (a foreign key to the order) can still be written,
        # so payOrder gets as far as recording the capture before it has to wait.
        async with in_transaction():
            await Order.filter(id=order_id).select_for_update(no_key=True).first()
            locked.set()
            await release.wait()

    holder = asyncio.create_task(hold_order())
    await locked.wait()
    starts = {
        "pay": lambda: me.raw(PAY, {"id": placed["id"], "key": "p-1"}),
        "cancel": lambda: me.raw(CANCEL, {"id": placed["id"]}),
    }
    second = "cancel" if first == "pay" else "pay"
    tasks = {first: asyncio.create_task(starts[first]())}
    await until_waiting(1)
    tasks[second] = asyncio.create_task(starts[second]())
    await until_waiting(2)
    release.set()
    await holder
    paid = payload(await tasks["pay"], "payOrder")
    cancelled = payload(await tasks["cancel"], "cancelOrder")

    status, stray = await assert_order_consistent(placed, paid, cancelled, 1000)
    assert status == ("paid" if first == "pay" else "cancelled")
    # A cancellation holds the order's payment lock: a payment queued behind it sees the
    # order cancelled and takes no money (before, it captured and was refunded).
    assert stray is None
    assert (await Sku.get(id=sku.id)).stock == (8 if first == "pay" else 10)


async def test_pay_racing_cancel_on_many_orders_stays_consistent(
    tenant, storefront: GraphQLClient, make_product, worker: Worker
) -> None:
    product = await make_product("Tea", [(10000, 100)])
    sku = await Sku.get(product_id=product.id)
    clients = [storefront.as_(t) for t in await members(tenant, 16, points=1000)]
    orders = []
    for i, client in enumerate(clients):
        placed = await place(client, sku, 2, f"order-{i}", points=500)
        orders.append(placed["placeOrder"]["order"])

    async def pay(i: int, delay: float) -> dict[str, Any]:
        await asyncio.sleep(delay)
        return await clients[i].raw(PAY, {"id": orders[i]["id"], "key": f"pay-{i}"})

    async def cancel(i: int, delay: float) -> dict[str, Any]:
        await asyncio.sleep(delay)
        return await clients[i].raw(CANCEL, {"id": orders[i]["id"]})

    # Half the pairs start with the payment, half with the cancellation, a few ms apart.
    calls = []
    for i in range(len(orders)):
        lag = (i // 2 % 4) * 0.003
        calls += [pay(i, 0), cancel(i, lag)] if i % 2 else [cancel(i, 0), pay(i, lag)]
    bodies = await asyncio.gather(*calls)

    stray: list[int] = []
    paid_count = 0
    for i, placed in enumerate(orders):
        first, second = bodies[2 * i], bodies[2 * i + 1]
        pay_body, cancel_body = (first, second) if i % 2 else (second, first)
        status, stray_id = await assert_order_consistent(
            placed, payload(pay_body, "payOrder"), payload(cancel_body, "cancelOrder"), 1000
        )
        paid_count += status == "paid"
        if stray_id is not None:
            stray.append(stray_id)

    assert (await Sku.get(id=sku.id)).stock == 100 - 2 * paid_count
    await worker.run_until_idle()
    if stray:
        assert {p.status for p in await Payment.filter(id__in=stray)} == {"refunded"}
    assert await Payment.filter(status="captured").count() == paid_count


async def test_concurrent_full_refunds_of_one_line_refund_it_once(
    member, admin: GraphQLClient, make_product, worker: Worker
) -> None:
    row, me = member
    product = await make_product("Tea", [(3333, 10)])
    sku = await Sku.get(product_id=product.id)
    placed = (await place(me, sku, 3, "r-1", points=1000))["placeOrder"]["order"]
    paid = await me(PAY, {"id": placed["id"], "key": "rp-1"})
    assert paid["payOrder"]["errors"] == []
    line = placed["lines"][0]
    order = await Order.get(id=pk(placed["id"]))
    assert order.paid_amount == 3 * 3333 - 1000

    bodies = await asyncio.gather(
        *(
            admin.raw(REFUND, {"o": placed["id"], "l": line["id"], "q": 3, "k": f"rf-{i}"})
            for i in range(10)
        )
    )

    results = [payload(b, "refundOrder") for b in bodies]
    won = [r for r in results if r["refund"] is not None]
    assert len(won) == 1, results
    assert won[0]["refund"]["amount"]["amount"] == order.paid_amount
    codes = Counter(e["code"] for r in results if r["refund"] is None for e in r["errors"])
    assert sum(codes.values()) == 9 and set(codes) <= {"NOT_REFUNDABLE", "INVALID"}, codes

    order = await Order.get(id=order.id)
    assert order.status == "refunded"
    assert order.refunded_amount == order.paid_amount
    assert sum(r.amount for r in await Refund.filter(order_id=order.id)) == order.paid_amount
    assert (await OrderLine.get(order_id=order.id)).refunded_quantity == 3
    assert (await Sku.get(id=sku.id)).stock == 10
    db_member = await Member.get(id=row.id)
    assert db_member.points == 10_000 and db_member.paid_spend == 0
    await worker.run_until_idle()
    assert [r.status for r in await Refund.filter(order_id=order.id)] == ["refunded"]


async def test_concurrent_partial_refunds_never_exceed_the_line(
    member, admin: GraphQLClient, make_product, worker: Worker
) -> None:
    row, me = member
    product = await make_product("Tea", [(2999, 10)])
    sku = await Sku.get(product_id=product.id)
    placed = (await place(me, sku, 5, "pr-1", points=777))["placeOrder"]["order"]
    await me(PAY, {"id": placed["id"], "key": "prp-1"})
    line = placed["lines"][0]
    order = await Order.get(id=pk(placed["id"]))

    # Six requests of 2 units for a line of 5: two fit, the rest must be refused.
    bodies = await asyncio.gather(
        *(
            admin.raw(REFUND, {"o": placed["id"], "l": line["id"], "q": 2, "k": f"part-{i}"})
            for i in range(6)
        )
    )
    results = [payload(b, "refundOrder") for b in bodies]
    won = [r for r in results if r["refund"] is not None]
    assert len(won) == 2, results
    assert all(
        [e["code"] for e in r["errors"]] == ["INVALID"] for r in results if r["refund"] is None
    ), results
    db_line = await OrderLine.get(order_id=order.id)
    assert db_line.refunded_quantity == 4
    assert db_line.refunded_amount == 2 * (db_line.amount * 2 // 5)
    assert (await Order.get(id=order.id)).refunded_amount == db_line.refunded_amount

    last = await admin(REFUND, {"o": placed["id"], "l": line["id"], "q": 1, "k": "part-last"})
    assert last["refundOrder"]["errors"] == []
    order = await Order.get(id=order.id)
    assert order.status == "refunded"
    assert order.refunded_amount == order.paid_amount
    assert sum(r.amount for r in await Refund.filter(order_id=order.id)) == order.paid_amount
    assert (await Sku.get(id=sku.id)).stock == 10
    assert (await Member.get(id=row.id)).points == 10_000
    await worker.run_until_idle()
    assert {r.status for r in await Refund.filter(order_id=order.id)} == {"refunded"}


async def test_concurrent_orders_spending_points_never_overdraw(
    tenant, storefront: GraphQLClient, make_product
) -> None:
    product = await make_product("Tea", [(10000, 50)])
    sku = await Sku.get(product_id=product.id)
    member, token = await create_member(tenant, "13600000000", points=1000)
    me = storefront.as_(token)

    # Ten orders of 300 points each against a balance of 1000: exactly three can pay.
    bodies = await asyncio.gather(
        *(
            me.raw(PLACE, {"lines": lines_of(sku, 1), "key": f"pts-{i}", "points": 300})
            for i in range(10)
        )
    )

    results = [payload(b, "placeOrder") for b in bodies]
    won = [r for r in results if r["order"] is not None]
    assert len(won) == 3, results
    assert all(r["order"]["pointsUsed"] == 300 for r in won)
    assert all(
        [e["code"] for e in r["errors"]] == ["INSUFFICIENT_POINTS"]
        for r in results
        if r["order"] is None
    ), results
    db_member = await Member.get(id=member.id)
    assert db_member.points == 100
    entries = await PointsEntry.filter(member_id=member.id).order_by("id")
    assert sum(e.delta for e in entries) == db_member.points
    assert all(e.balance_after >= 0 for e in entries)
    assert [e.delta for e in entries if e.reason == "order"] == [-300] * 3
    assert sum(o.points_used for o in await Order.filter(member_id=member.id)) == 900
    assert (await Sku.get(id=sku.id)).stock == 47


async def test_the_database_itself_refuses_negative_stock_and_points(tenant, make_product) -> None:
    """The backstop behind the conditional updates: the CHECK constraints the models and
    migration 0001 declare (``sku_stock_not_negative``, ``member_points_not_negative``)."""
    product = await make_product("Tea", [(100, 1)])
    member, _ = await create_member(tenant, "13500000000", points=10)
    with pytest.raises(IntegrityError):
        async with in_transaction():
            await Sku.filter(product_id=product.id).update(stock=-1)
    with pytest.raises(IntegrityError):
        async with in_transaction():
            await Member.filter(id=member.id).update(points=-1)
    assert (await Sku.get(product_id=product.id)).stock == 1
    assert (await Member.get(id=member.id)).points == 10


async def test_a_key_lookup_waits_for_the_transaction_claiming_it(tenant) -> None:
    """A refusal before placeOrder's transaction asks whether its key was answered: while
    the first attempt's transaction holds the claim, the answer must wait for it."""
    claimed, release = asyncio.Event(), asyncio.Event()

    async def first_attempt() -> None:
        async with in_transaction():
            await idempotency.claim(tenant, "member:1", "placeOrder", "k", {"lines": 1})
            await idempotency.remember(tenant, "member:1", "placeOrder", "k", {"order_id": 7})
            claimed.set()
            await release.wait()

    attempt = asyncio.create_task(first_attempt())
    await claimed.wait()
    lookup = asyncio.create_task(idempotency.answered(tenant, "member:1", "placeOrder", "k"))
    await asyncio.sleep(0.3)
    assert not lookup.done()
    release.set()
    await attempt
    assert await lookup is True
    assert await idempotency.answered(tenant, "member:1", "placeOrder", "other") is False
