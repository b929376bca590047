"""The deposit-presale plugin over the real app: creating one, the storefront's view, a
deposit and a balance as instalments of one order, forfeiture with and without the
refund policy, a cancelled presale's wind-up, the limits, and 50 members racing for 20
units.

The frozen clock stands at 2026-06-01 10:00 in the tenants' zone (Asia/Shanghai): inside
the deposit window (06-01 to 06-03); the balance window is 06-05 to 06-06.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from yutang import api
from yutang.core.clock import FrozenClock
from yutang.core.contract import TenantInfo
from yutang.core.models import Job, Member, Order, Product, Refund, Sku
from yutang.core.worker import Worker
from yutang.graphql.ids import from_global, to_global
from yutang.plugins.presale.activities import WIND_UP
from yutang.plugins.presale.models import PresaleActivity, PresaleOrder
from yutang.testing import GraphQLClient, MakeTenant, create_member

WINDOWS = {
    "depositStartsAt": "2026-06-01T00:00:00+08:00",
    "depositEndsAt": "2026-06-03T00:00:00+08:00",
    "balanceStartsAt": "2026-06-05T00:00:00+08:00",
    "balanceEndsAt": "2026-06-06T00:00:00+08:00",
}
TO_BALANCE = timedelta(days=3, hours=15)  # 06-05 01:00
PAST_BALANCE = timedelta(days=5)  # 06-06 10:00
PRESALE_FIELDS = """id name phase deposit { amount } deduction { amount } price { amount }
  balance { amount } depositStartsAt balanceStartsAt balanceEndsAt stock stockLeft
  memberLimit refundForfeited serverTime"""
CREATE = f"""mutation($input: PresaleInput!) {{ createPresale(input: $input) {{
  presale {{ presale {{ {PRESALE_FIELDS} }} counts {{ deposits balances forfeited }} }}
  errors {{ code field message }} }} }}"""
CANCEL = """mutation($id: ID!) { cancelPresale(id: $id) {
  presale { presale { phase } } errors { code field } } }"""
ADMIN_LIST = """{ presales { edges { node { cancelledAt presale { id stockLeft }
  counts { deposits balances forfeited } } } } }"""
PRODUCT = f"""{{ products {{ edges {{ node {{ name presales {{ {PRESALE_FIELDS} }} }} }} }} }}"""
QUOTE = """query($input: CheckoutInput!) { quote(input: $input) {
  quote { total { amount } pointsUsed instalments { label amount { amount } opensAt dueAt } }
  errors { code field message } } }"""
PLACE = """mutation($lines: [LineInput!]!, $key: String!, $points: Int! = 0) {
  placeOrder(input: {lines: $lines, idempotencyKey: $key, usePoints: $points}) {
    order { id status total { amount } pointsUsed paymentDeadline }
    errors { code field message } } }"""
PAY = """mutation($id: ID!, $key: String!) { payOrder(input: {orderId: $id, idempotencyKey: $key}) {
  order { status paidAmount { amount } } errors { code field message } } }"""
ORDER = """query($id: ID!) { order(id: $id) { status paidAmount { amount } paymentDeadline
  instalments { position label amount { amount } opensAt dueAt status } } }"""
MINE = """{ myPresaleOrders { edges { node { orderId quantity deposit { amount }
  balance { amount } status presale { phase } } } } }"""


def listed(data: dict[str, Any], name: str) -> list[Any]:
    """The nodes of the connection ``name`` in ``data``."""
    return [edge["node"] for edge in data[name]["edges"]]


REQUEST_REFUND = """mutation($input: RefundRequestInput!) { requestRefund(input: $input) {
  refund { status } errors { code field message } } }"""
FULFIL = (
    """mutation($o: ID!) { fulfilOrder(orderId: $o) { order { status } errors { code field } } }"""
)

Make = Callable[..., Awaitable[Product]]


@pytest_asyncio.fixture
async def tenant(make_tenant: MakeTenant) -> TenantInfo:
    """The shop, with presale enabled."""
    return await make_tenant("shop", plugins=["presale"])


@pytest.fixture(autouse=True)
def clock(frozen_clock: FrozenClock) -> FrozenClock:
    return frozen_clock


async def a_sku(make_product: Make, stock: int = 100) -> Sku:
    product = await make_product("Tea", [(60000, stock)])
    return await Sku.get(product_id=product.id)


async def create(admin: GraphQLClient, sku: Sku, **extra: Any) -> dict[str, Any]:
    """createPresale: ¥10 counting as ¥100 off ¥500, 20 units, 2 a member by default."""
    inp = {
        "name": "新品预售",
        "skuId": to_global("Sku", sku.id),
        "deposit": 1000,
        "deduction": 10000,
        "price": 50000,
        "stock": 20,
        "memberLimit": 2,
        **WINDOWS,
    }
    result: dict[str, Any] = (await admin(CREATE, {"input": {**inp, **extra}}))["createPresale"]
    return result


async def presale(admin: GraphQLClient, sku: Sku, **extra: Any) -> dict[str, Any]:
    payload = await create(admin, sku, **extra)
    assert payload["errors"] == [], payload["errors"]
    result: dict[str, Any] = payload["presale"]["presale"]
    return result


def line(sku: Sku, sale: dict[str, Any], quantity: int = 1) -> dict[str, Any]:
    return {
        "skuId": to_global("Sku", sku.id),
        "quantity": quantity,
        "activity": {"plugin": "presale", "ref": sale["id"]},
    }


async def buyer(tenant: TenantInfo, storefront: GraphQLClient, n: int) -> GraphQLClient:
    _, token = await create_member(tenant, f"1380000{n:04d}", points=5000)
    return storefront.as_(token)


async def place(
    client: GraphQLClient, lines: list[dict[str, Any]], key: str, points: int = 0
) -> dict[str, Any]:
    result: dict[str, Any] = (await client(PLACE, {"lines": lines, "key": key, "points": points}))[
        "placeOrder"
    ]
    return result


async def placed(client: GraphQLClient, lines: list[dict[str, Any]], key: str = "k") -> str:
    result = await place(client, lines, key)
    assert result["errors"] == [], result
    order_id: str = result["order"]["id"]
    return order_id


async def pay(client: GraphQLClient, order_id: str, key: str) -> dict[str, Any]:
    result: dict[str, Any] = (await client(PAY, {"id": order_id, "key": key}))["payOrder"]
    return result


async def deposit_paid(client: GraphQLClient, sku: Sku, sale: dict[str, Any], q: int = 1) -> str:
    order_id = await placed(client, [line(sku, sale, q)], f"dep-{q}")
    paid = await pay(client, order_id, f"pay-dep-{order_id}")
    assert paid["order"]["status"] == "DEPOSIT_PAID", paid
    return order_id


def errors(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


# --- creating a presale --------------------------------------------------------------------


async def test_admin_creates_a_presale_and_bad_input_names_the_field(
    admin: GraphQLClient, make_product: Make
) -> None:
    sku = await a_sku(make_product)
    sale = await presale(admin, sku)
    assert (sale["phase"], sale["balance"]["amount"], sale["stockLeft"]) == ("DEPOSIT", 40000, 20)
    refused = {
        "input.deduction": {"deduction": 500},
        "input.price": {"price": 70000},
        "input.balanceStartsAt": {"balanceStartsAt": "2026-06-02T00:00:00+08:00"},
        "input.depositEndsAt": {"depositEndsAt": "2026-06-01T00:00:00+08:00"},
        "input.skuId": {"skuId": to_global("Sku", sku.id + 999)},
        "input.stock": {"stock": 0},
    }
    for field, change in refused.items():
        payload = await create(admin, sku, **change)
        assert [e["field"] for e in payload["errors"]] == [field], (change, payload)
    assert await PresaleActivity.all().count() == 1


async def test_the_product_shows_its_presale_with_the_server_time(
    admin: GraphQLClient, storefront: GraphQLClient, make_product: Make, clock: FrozenClock
) -> None:
    sale = await presale(admin, await a_sku(make_product))
    [node] = (await storefront(PRODUCT))["products"]["edges"]
    [shown] = node["node"]["presales"]
    assert shown == sale
    assert shown["serverTime"] == clock().isoformat()
    assert (shown["deposit"]["amount"], shown["deduction"]["amount"]) == (1000, 10000)


# --- deposit, balance -----------------------------------------------------------------------


async def test_a_deposit_then_a_balance_pay_one_order_that_then_ships(
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Make,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    sku = await a_sku(make_product)
    sale = await presale(admin, sku)
    me = await buyer(tenant, storefront, 1)
    quoted = await me(QUOTE, {"input": {"lines": [line(sku, sale, 2)], "usePoints": 1000}})
    quote = quoted["quote"]["quote"]
    assert (quote["total"]["amount"], quote["pointsUsed"]) == (82000, 0)  # no points on it
    [deposit, balance] = quote["instalments"]
    assert (deposit["label"], deposit["amount"]["amount"], deposit["dueAt"]) == ("定金", 2000, None)
    assert (balance["label"], balance["amount"]["amount"]) == ("尾款", 80000)
    assert balance["opensAt"] == "2026-06-04T16:00:00+00:00"

    result = await place(me, [line(sku, sale, 2)], "k", points=1000)
    assert result["errors"] == [] and result["order"]["pointsUsed"] == 0
    order_id = result["order"]["id"]
    assert (await Sku.get(id=sku.id)).stock == 98
    paid = await pay(me, order_id, "p1")
    assert paid["order"] == {"status": "DEPOSIT_PAID", "paidAmount": {"amount": 2000}}
    early = await pay(me, order_id, "p2")
    assert errors(early) == [("INSTALMENT_NOT_OPEN", "orderId")]
    asked = {"orderId": order_id, "idempotencyKey": "r"}
    refund = (await me(REQUEST_REFUND, {"input": asked}))["requestRefund"]
    assert errors(refund) == [("PRESALE_DEPOSIT_KEPT", "orderId")]
    assert await Refund.all().count() == 0
    shipping = (await admin(FULFIL, {"o": order_id}))["fulfilOrder"]
    assert errors(shipping) == [("ILLEGAL_TRANSITION", "orderId")]
    await worker.run_until_idle()

    clock.advance(TO_BALANCE)
    await worker.run_until_idle()
    paid = await pay(me, order_id, "p3")
    assert paid["order"] == {"status": "PAID", "paidAmount": {"amount": 82000}}
    got = (await me(ORDER, {"id": order_id}))["order"]
    assert [(i["amount"]["amount"], i["status"]) for i in got["instalments"]] == [
        (2000, "PAID"),
        (80000, "PAID"),
    ]
    assert (await Sku.get(id=sku.id)).stock == 98  # the balance found its unit
    assert (await admin(FULFIL, {"o": order_id}))["fulfilOrder"]["order"]["status"] == "FULFILLED"
    await worker.run_until_idle()
    [mine] = listed(await me(MINE), "myPresaleOrders")
    assert (mine["status"], mine["deposit"]["amount"], mine["balance"]["amount"]) == (
        "BALANCE_PAID",
        2000,
        80000,
    )
    [node] = (await admin(ADMIN_LIST))["presales"]["edges"]
    assert node["node"]["counts"] == {"deposits": 1, "balances": 1, "forfeited": 0}


async def test_an_unpaid_deposit_times_out_and_gives_its_units_back(
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Make,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    sku = await a_sku(make_product)
    sale = await presale(admin, sku, memberLimit=1)
    me = await buyer(tenant, storefront, 1)
    order_id = await placed(me, [line(sku, sale)])
    again = await place(me, [line(sku, sale)], "again")
    assert errors(again) == [("LIMIT_REACHED", "lines[0].quantity")]
    clock.advance(timedelta(hours=1))
    await worker.run_until_idle()
    assert (await Order.get(id=from_global(order_id)[1])).status == "cancelled"
    assert (await PresaleActivity.get()).reserved == 0
    assert (await Sku.get(id=sku.id)).stock == 100
    assert (await place(me, [line(sku, sale)], "third"))["errors"] == []


# --- forfeiture -------------------------------------------------------------------------------


@pytest.mark.parametrize("refund_forfeited", [False, True])
async def test_a_balance_unpaid_in_its_window_forfeits_the_deposit_unless_policy_returns_it(
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Make,
    worker: Worker,
    clock: FrozenClock,
    refund_forfeited: bool,
) -> None:
    sku = await a_sku(make_product)
    sale = await presale(admin, sku, refundForfeited=refund_forfeited)
    me = await buyer(tenant, storefront, 1)
    order_id = await deposit_paid(me, sku, sale, 2)
    clock.advance(PAST_BALANCE)
    await worker.run_until_idle()
    order = await Order.get(id=from_global(order_id)[1])
    assert (await Sku.get(id=sku.id)).stock == 100
    assert errors(await pay(me, order_id, "late")) == [("ILLEGAL_TRANSITION", "orderId")]
    [node] = (await admin(ADMIN_LIST))["presales"]["edges"]
    assert node["node"]["counts"] == {"deposits": 1, "balances": 0, "forfeited": 1}
    assert node["node"]["presale"]["stockLeft"] == 20
    refunds = await Refund.all()
    if refund_forfeited:
        assert order.status == "refunded" and [r.amount for r in refunds] == [2000]
        assert refunds[0].status == "refunded"
    else:
        assert order.status == "forfeited" and refunds == []
        assert order.paid_amount == 2000 and order.refunded_amount == 0
    [mine] = listed(await me(MINE), "myPresaleOrders")
    assert mine["status"] == ("REFUNDED" if refund_forfeited else "FORFEITED")


# --- cancelling a presale ----------------------------------------------------------------------


async def test_a_cancelled_presale_cancels_unpaid_orders_and_refunds_unpaid_balances(
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Make,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    sku = await a_sku(make_product)
    sale = await presale(admin, sku)
    first, second, third = [await buyer(tenant, storefront, n) for n in (1, 2, 3)]
    unpaid = await placed(first, [line(sku, sale)])
    deposit_only = await deposit_paid(second, sku, sale)
    in_full = await deposit_paid(third, sku, sale)
    clock.advance(TO_BALANCE)
    assert (await pay(third, in_full, "balance"))["order"]["status"] == "PAID"
    cancelled = (await admin(CANCEL, {"id": sale["id"]}))["cancelPresale"]
    assert cancelled == {"presale": {"presale": {"phase": "CANCELLED"}}, "errors": []}
    await worker.run_until_idle()
    status = {o: (await Order.get(id=from_global(o)[1])).status for o in (unpaid, deposit_only)}
    assert status == {unpaid: "cancelled", deposit_only: "refunded"}
    assert (await Order.get(id=from_global(in_full)[1])).status == "paid"
    [refund] = await Refund.all()
    assert (refund.amount, refund.status) == (1000, "refunded")
    assert (await Sku.get(id=sku.id)).stock == 99
    refused = await place(await buyer(tenant, storefront, 4), [line(sku, sale)], "late")
    assert errors(refused) == [("NOT_OPEN", "lines[0].activity")]


async def test_cancelling_twice_succeeds_and_winds_up_once(
    admin: GraphQLClient,
    make_product: Make,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sku = await a_sku(make_product)
    sale = await presale(admin, sku)
    scheduled: list[str] = []
    schedule = api.schedule_job

    async def counting(tenant_id: int | None, name: str, *args: Any, **kwargs: Any) -> None:
        scheduled.append(name)
        await schedule(tenant_id, name, *args, **kwargs)

    monkeypatch.setattr(api, "schedule_job", counting)
    done = {"presale": {"presale": {"phase": "CANCELLED"}}, "errors": []}
    assert (await admin(CANCEL, {"id": sale["id"]}))["cancelPresale"] == done
    [first] = (await admin(ADMIN_LIST))["presales"]["edges"]
    clock.advance(timedelta(minutes=5))
    assert (await admin(CANCEL, {"id": sale["id"]}))["cancelPresale"] == done
    [again] = (await admin(ADMIN_LIST))["presales"]["edges"]
    assert again["node"]["cancelledAt"] == first["node"]["cancelledAt"] is not None
    assert scheduled == [WIND_UP]
    assert await Job.filter(name=WIND_UP).count() == 1


# --- the one-line rule, the window ------------------------------------------------------------


async def test_a_presale_line_goes_alone_and_only_in_its_deposit_window(
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Make,
    clock: FrozenClock,
) -> None:
    sku = await a_sku(make_product)
    other = await a_sku(make_product)
    sale = await presale(admin, sku)
    me = await buyer(tenant, storefront, 1)
    plain = {"skuId": to_global("Sku", other.id), "quantity": 1}
    assert errors(await place(me, [line(sku, sale), plain], "two")) == [("ORDER_ALONE", "lines[1]")]
    assert errors(await place(me, [line(sku, sale, 3)], "three")) == [
        ("LIMIT_EXCEEDED", "lines[0].quantity")
    ]
    clock.advance(timedelta(days=2))
    assert errors(await place(me, [line(sku, sale)], "late")) == [("NOT_OPEN", "lines[0].activity")]
    assert await Order.all().count() == 0


async def test_the_database_refuses_more_units_than_the_stock(
    admin: GraphQLClient, make_product: Make
) -> None:
    await presale(admin, await a_sku(make_product))
    for reserved in (21, -1):
        with pytest.raises(IntegrityError):
            async with in_transaction():
                await PresaleActivity.all().update(reserved=reserved)


# --- the race ------------------------------------------------------------------------------------


async def test_50_members_paying_deposits_at_once_for_20_units_make_exactly_20(
    admin: GraphQLClient,
    storefront: GraphQLClient,
    tenant: TenantInfo,
    make_product: Make,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    sku = await a_sku(make_product)
    sale = await presale(admin, sku, memberLimit=1)
    members = [await buyer(tenant, storefront, n) for n in range(50)]

    async def order_and_pay(client: GraphQLClient, n: int) -> str | None:
        result = await place(client, [line(sku, sale)], f"race-{n}")
        if result["order"] is None:
            assert errors(result) == [("SOLD_OUT", "lines[0]")], result
            return None
        paid = await pay(client, result["order"]["id"], f"pay-{n}")
        assert paid["order"]["status"] == "DEPOSIT_PAID", paid
        order_id: str = result["order"]["id"]
        return order_id

    outcomes = await asyncio.gather(*(order_and_pay(c, n) for n, c in enumerate(members)))
    won = [(c, o) for c, o in zip(members, outcomes, strict=True) if o is not None]
    assert len(won) == 20
    assert (await PresaleActivity.get()).reserved == 20
    assert (await Sku.get(id=sku.id)).stock == 80
    clock.advance(TO_BALANCE)
    balances = await asyncio.gather(*(pay(c, o, f"balance-{o}") for c, o in won))
    assert {b["order"]["status"] for b in balances} == {"PAID"}
    assert (await Sku.get(id=sku.id)).stock == 80
    await worker.run_until_idle()
    assert await PresaleOrder.filter(status="balance_paid").count() == 20
    spend = sum(m.paid_spend for m in await Member.all())
    assert spend == 20 * 41000
