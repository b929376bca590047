"""What an activity may do to the lines and orders it owns: close its lines to later price
stages, cancel its own unpaid orders, and refuse a member's refund request by policy."""

from __future__ import annotations

from typing import Any

import pytest_asyncio
from tortoise.expressions import F

from yutang import api
from yutang.core.models import Order, Refund, Sku, Tenant
from yutang.core.runtime import Runtime
from yutang.graphql.ids import to_global
from yutang.testing import GraphQLClient

CODES = api.ErrorCodes("deposits", {"DEPOSITS_FORFEITED": "a forfeited deposit is kept"})

QUOTE = """query($input: CheckoutInput!) { quote(input: $input) {
  quote { total { amount } pointsUsed lines { amount { amount } points } }
  errors { code field } } }"""
PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id status total { amount } } errors { code field message } } }"""
PAY = """mutation($id: ID!, $key: String!) {
  payOrder(input: {orderId: $id, idempotencyKey: $key}) { order { status } errors { code } } }"""
REQUEST_REFUND = """mutation($o: ID!, $k: String!) {
  requestRefund(input: {orderId: $o, idempotencyKey: $k}) {
    refund { id } errors { code field } } }"""
REFUND_NOW = """mutation($o: ID!, $k: String!) {
  refundOrder(input: {orderId: $o, idempotencyKey: $k}) { refund { status } errors { code } } }"""


class Deposit(api.Activity[None]):
    """Kind ``deposits``: a line at half its list price that no points may pay for."""

    kind = "deposits"

    async def resolve(self, checkout: api.CheckoutContext, lines: list[api.CheckoutLine]) -> None:
        return None

    def price(self, draft: api.Draft, claim: None) -> None:
        for ln in draft.lines:
            if ln.line.activity is not None and ln.line.activity.plugin == self.kind:
                closed = frozenset({api.Stage.POINTS})
                draft.set_activity_price(ln, ln.unit_price // 2, "定金", closed=closed)

    async def reserve(self, checkout: api.CheckoutContext, claim: None, order_id: int) -> None:
        return None

    async def release(
        self, tenant: api.TenantInfo, order_id: int, lines: list[api.ReleasedLine], reason: str
    ) -> None:
        return None


class Deposits:
    """Owns the kind, and keeps paid deposits: its orders' refund requests are refused."""

    def __init__(self) -> None:
        self.activity = Deposit()

    @api.hookimpl
    def yutang_activities(self) -> list[api.Activity[Any]]:
        return [self.activity]

    @api.hookimpl
    def yutang_error_codes(self) -> api.ErrorCodes:
        return CODES

    @api.hookimpl
    def yutang_refund_policy(self, lines: list[api.ReleasedLine]) -> None:
        if any(ln.activity is not None and ln.activity.plugin == "deposits" for ln in lines):
            raise CODES.error("DEPOSITS_FORFEITED", "a paid deposit is not refunded", "orderId")


@pytest_asyncio.fixture
async def deposits(yutang_db: Runtime, tenant: api.TenantInfo) -> Deposits:
    """The ``deposits`` plugin, registered once per session, enabled for the shop."""
    if "deposits" not in yutang_db.registry.plugins:
        yutang_db.registry.register("deposits", Deposits())
    await Tenant.filter(id=tenant.id).update(
        plugins=["deposits"], settings_version=F("settings_version") + 1
    )
    plugin: Deposits = yutang_db.registry.plugins["deposits"].module  # type: ignore[assignment]
    return plugin


async def sku_id(make_product: Any, name: str = "Tea", price: int = 10_000) -> str:
    product = await make_product(name, [(price, 10)])
    return to_global("Sku", (await Sku.get(product_id=product.id)).id)


def line(sku: str, activity: bool = True) -> dict[str, Any]:
    extra = {"activity": {"plugin": "deposits", "ref": "d"}} if activity else {}
    return {"skuId": sku, "quantity": 1, **extra}


async def test_points_pay_for_open_lines_only(
    member: tuple[Any, GraphQLClient], make_product: Any, deposits: Deposits
) -> None:
    _, me = member
    deposit, tea = await sku_id(make_product, "Deposit"), await sku_id(make_product, "Cup")
    alone = await me(QUOTE, {"input": {"lines": [line(deposit)], "usePoints": 1000}})
    assert alone["quote"]["errors"] == []
    assert alone["quote"]["quote"]["pointsUsed"] == 0
    assert alone["quote"]["quote"]["total"]["amount"] == 5_000
    lines = [line(deposit), line(tea, False)]
    both = await me(QUOTE, {"input": {"lines": lines, "usePoints": 1000}})
    priced = both["quote"]["quote"]
    assert priced["pointsUsed"] == 1000
    assert [ln["points"] for ln in priced["lines"]] == [0, 1000]
    assert priced["lines"][0]["amount"]["amount"] == 5_000


async def test_an_activity_cancels_its_own_unpaid_order_only(
    member: tuple[Any, GraphQLClient],
    make_product: Any,
    deposits: Deposits,
    tenant: api.TenantInfo,
    yutang_db: Runtime,
) -> None:
    _, me = member
    deposit, tea = await sku_id(make_product, "Deposit"), await sku_id(make_product, "Cup")
    mine = await me(PLACE, {"input": {"lines": [line(deposit)], "idempotencyKey": "a"}})
    other = await me(PLACE, {"input": {"lines": [line(tea, False)], "idempotencyKey": "b"}})
    mine_id = api.pk_of(mine["placeOrder"]["order"]["id"], "Order")
    other_id = api.pk_of(other["placeOrder"]["order"]["id"], "Order")
    info = await yutang_db.tenants.by_id(tenant.id)  # as it is now, deposits enabled

    refused = await _refused(api.cancel_order(info, other_id, by=deposits.activity, reason="x"))
    assert refused == ("FORBIDDEN", "orderId")
    impostor = Deposit()  # the same kind, but not the object the plugin registered
    assert await _refused(api.cancel_order(info, mine_id, by=impostor, reason="x"))
    assert (await Order.get(id=mine_id)).status == "pending_payment"

    await api.cancel_order(info, mine_id, by=deposits.activity, reason="window closed")
    assert (await Order.get(id=mine_id)).status == "cancelled"
    assert (await Order.get(id=other_id)).status == "pending_payment"
    again = await _refused(api.cancel_order(info, mine_id, by=deposits.activity, reason="x"))
    assert again is not None and again[0] == "ILLEGAL_TRANSITION"


async def test_a_refund_policy_refuses_members_but_not_staff(
    member: tuple[Any, GraphQLClient],
    admin: GraphQLClient,
    make_product: Any,
    deposits: Deposits,
) -> None:
    _, me = member
    deposit, tea = await sku_id(make_product, "Deposit"), await sku_id(make_product, "Cup")
    paid = []
    for key, ln in (("a", line(deposit)), ("b", line(tea, False))):
        placed = (await me(PLACE, {"input": {"lines": [ln], "idempotencyKey": key}}))["placeOrder"]
        order_id = placed["order"]["id"]
        assert (await me(PAY, {"id": order_id, "key": key}))["payOrder"]["errors"] == []
        paid.append(placed["order"]["id"])
    kept, free = paid
    refused = (await me(REQUEST_REFUND, {"o": kept, "k": "r1"}))["requestRefund"]
    assert refused == {
        "refund": None,
        "errors": [{"code": "DEPOSITS_FORFEITED", "field": "orderId"}],
    }
    assert await Refund.all().count() == 0
    allowed = (await me(REQUEST_REFUND, {"o": free, "k": "r2"}))["requestRefund"]
    assert allowed["errors"] == [] and await Refund.all().count() == 1
    staff = (await admin(REFUND_NOW, {"o": kept, "k": "s1"}))["refundOrder"]
    assert staff["errors"] == []


async def _refused(call: Any) -> tuple[str, str | None] | None:
    """The code and field ``call`` was refused with, None if it went through."""
    try:
        await call
    except api.DomainError as err:
        return err.code, err.field
    return None
