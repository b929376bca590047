"""Money never leaks: exact apportionment, an exact pricing pipeline, exact refunds.

Pure functions get hypothesis; the database-backed run replays a few fixed seeds of
random carts, payments and partial refunds through the real GraphQL API.
"""

from __future__ import annotations

import asyncio
import math
import random
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yutang.core.catalog import ProductInput, SkuInput, save_product
from yutang.core.checkout import CoreCheckoutInput, quote_checkout
from yutang.core.contract import CheckoutContext, CheckoutLine, MemberInfo, Quote, TenantInfo
from yutang.core.errors import DomainError
from yutang.core.models import Member, Order, OrderLine, PointsEntry, Refund, Sku
from yutang.core.money import apportion
from yutang.core.plugins import PluginSet
from yutang.core.resources import Resources
from yutang.core.runtime import Runtime
from yutang.core.settings_core import CoreSettings
from yutang.core.worker import Worker
from yutang.graphql.ids import from_global, to_global
from yutang.testing import GraphQLClient, MakeTenant, create_member, create_staff

# -- apportion ---------------------------------------------------------------------------

weights_st = st.lists(st.integers(0, 10**6), min_size=1, max_size=12)
totals_st = st.integers(-(10**9), 10**9)


def _effective(weights: list[int]) -> list[int]:
    """The weights apportion really uses: all-zero weights split evenly."""
    return weights if sum(weights) else [1] * len(weights)


@settings(max_examples=300, deadline=None)
@given(totals_st, weights_st)
def test_apportion_is_exact_and_within_floor_and_ceil(total: int, weights: list[int]) -> None:
    shares = apportion(total, weights)
    assert len(shares) == len(weights)
    assert sum(shares) == total
    effective = _effective(weights)
    basis = sum(effective)
    for share, weight in zip(shares, effective, strict=True):
        exact = Fraction(total * weight, basis)
        assert math.floor(exact) <= share <= math.ceil(exact)
        if weight == 0:
            assert share == 0


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**9), weights_st)
def test_apportion_is_largest_remainder_ties_to_the_earlier_line(
    total: int, weights: list[int]
) -> None:
    shares = apportion(total, weights)
    effective = _effective(weights)
    basis = sum(effective)
    exact = [Fraction(total * w, basis) for w in effective]
    bumped = [i for i, s in enumerate(shares) if s > math.floor(exact[i])]
    kept = [i for i, s in enumerate(shares) if s == math.floor(exact[i])]
    assert len(bumped) + len(kept) == len(shares)
    for i in bumped:
        for j in kept:
            rest_i, rest_j = exact[i] - math.floor(exact[i]), exact[j] - math.floor(exact[j])
            assert rest_i > rest_j or (rest_i == rest_j and i < j)
    # a larger weight never gets a smaller share
    for i in range(len(shares)):
        for j in range(len(shares)):
            if effective[i] > effective[j]:
                assert shares[i] >= shares[j]


@settings(max_examples=300, deadline=None)
@given(totals_st, weights_st)
def test_apportion_of_a_negative_total_mirrors_the_positive(total: int, weights: list[int]) -> None:
    assert apportion(-total, weights) == [-s for s in apportion(total, weights)]


def test_apportion_fixed_cases() -> None:
    assert apportion(100, [1, 1, 1]) == [34, 33, 33]
    assert apportion(-100, [1, 1, 1]) == [-34, -33, -33]
    assert apportion(5, [0, 0, 0]) == [2, 2, 1]
    assert apportion(10, [0, 5, 0]) == [0, 10, 0]
    assert apportion(1, [1, 2]) == [0, 1]
    assert apportion(2, [1, 1, 2]) == [1, 0, 1]
    assert apportion(0, [3, 0, 7]) == [0, 0, 0]
    assert apportion(0, []) == []
    with pytest.raises(ValueError, match="no lines"):
        apportion(1, [])
    with pytest.raises(ValueError, match="must not be negative"):
        apportion(10, [5, -1])


# -- the pricing pipeline without a database ---------------------------------------------

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def make_checkout(
    hooks: PluginSet,
    core: CoreSettings,
    lines: list[tuple[int, int]],
    member: MemberInfo | None,
    wanted: int,
) -> CheckoutContext:
    """A checkout built by hand: the pipeline's whole input."""
    tenant = TenantInfo(
        id=1,
        slug="shop",
        name="shop",
        time_zone="Asia/Shanghai",
        currency="CNY",
        status="active",
        profile="default",
        settings_version=1,
        hooks=hooks,
        plugins=hooks.names,
        resources=Resources(None),
        settings={"core": core},
    )
    return CheckoutContext(
        tenant=tenant,
        member=member,
        lines=[
            CheckoutLine(
                index=i,
                sku_id=100 + i,
                product_id=10 + i,
                product_name=f"P{i}",
                category_id=None,
                specs={"size": str(i)},
                quantity=quantity,
                list_price=price,
                stock=quantity,
                weight_grams=0,
                activity=None,
            )
            for i, (price, quantity) in enumerate(lines)
        ],
        extensions={"core": CoreCheckoutInput(points=wanted)} if wanted else {},
        now=NOW,
    )


@st.composite
def carts(draw: st.DrawFn) -> dict[str, Any]:
    lines = draw(
        st.lists(
            st.tuples(
                st.one_of(st.integers(0, 3), st.integers(0, 500_000)),
                st.integers(1, 50),
            ),
            min_size=1,
            max_size=8,
        )
    )
    core = CoreSettings(
        points_per_yuan=draw(
            st.one_of(st.sampled_from([1, 3, 7, 100, 150, 1000]), st.integers(1, 10_000))
        ),
        points_max_percent=draw(st.integers(0, 100)),
    )
    member = None
    wanted = 0
    if draw(st.booleans()):
        points = draw(st.one_of(st.integers(0, 10), st.integers(0, 10**7)))
        percent = draw(st.one_of(st.none(), st.integers(1, 100)))
        member = MemberInfo(
            id=7,
            tags=[],
            points=points,
            paid_spend=0,
            level_name=None if percent is None else "金卡",
            level_discount_percent=percent,
        )
        wanted = draw(st.one_of(st.just(points), st.integers(0, points + 5), st.just(0)))
    return {"core": core, "lines": lines, "member": member, "wanted": wanted}


def price(hooks: PluginSet, cart: dict[str, Any]) -> Quote:
    checkout = make_checkout(hooks, cart["core"], cart["lines"], cart["member"], cart["wanted"])
    return asyncio.run(quote_checkout(checkout)).quote


@pytest.fixture(scope="module")
def core_hooks(yutang_runtime: Runtime) -> PluginSet:
    """The core plugin alone, as a tenant without plugins gets it."""
    return yutang_runtime.registry.plugin_set(["core"])


@settings(max_examples=300, deadline=None)
@given(carts())
def test_pipeline_prices_exactly(core_hooks: PluginSet, cart: dict[str, Any]) -> None:
    core, member, wanted = cart["core"], cart["member"], cart["wanted"]
    if member is not None and wanted > member.points:
        with pytest.raises(DomainError) as refused:
            price(core_hooks, cart)
        assert (refused.value.code, refused.value.field) == ("INSUFFICIENT_POINTS", "usePoints")
        return
    quote = price(core_hooks, cart)

    # An independent reckoning: member price, then points within rate and cap.
    percent = member.level_discount_percent if member else None
    units = [min(p, p * percent // 100) if percent is not None else p for p, _ in cart["lines"]]
    amounts = [u * q for u, (_, q) in zip(units, cart["lines"], strict=True)]
    cap = sum(amounts) * core.points_max_percent // 100
    fen = min(wanted * 100 // core.points_per_yuan, cap) if member and wanted else 0
    points = -(-fen * core.points_per_yuan // 100)

    subtotal = sum(p * q for p, q in cart["lines"])
    assert quote.subtotal == subtotal
    assert quote.fees == 0
    assert quote.total == sum(amounts) - fen
    assert quote.points_used == points
    assert quote.discount == subtotal - quote.total
    assert [ln.unit_price for ln in quote.lines] == units

    # Line amounts carry the whole total; nothing below zero; points add up.
    assert sum(ln.amount for ln in quote.lines) == quote.total - quote.fees
    for ln, before in zip(quote.lines, amounts, strict=True):
        assert 0 <= ln.amount <= before
        assert ln.discount == ln.unit_price * ln.quantity - ln.amount
        assert ln.points >= 0
        if ln.points:
            assert ln.amount < before
    assert sum(ln.points for ln in quote.lines) == quote.points_used
    if member is not None:
        assert quote.points_used <= member.points
        assert quote.points_used <= wanted
    # The member pays the fewest points worth the deduction, never more.
    if fen:
        assert points * 100 // core.points_per_yuan >= fen
        assert (points - 1) * 100 // core.points_per_yuan < fen
    # Every adjustment is spread over lines exactly.
    for adj in quote.adjustments:
        assert adj.amount < 0 and sum(adj.lines.values()) == adj.amount
    assert sum(a.amount for a in quote.adjustments) == quote.total - subtotal


@settings(max_examples=150, deadline=None)
@given(carts(), st.data())
def test_quote_hash_is_deterministic(
    core_hooks: PluginSet, cart: dict[str, Any], data: st.DataObject
) -> None:
    member = cart["member"]
    if member is not None and cart["wanted"] > member.points:
        cart = {**cart, "wanted": member.points}
    first, second = price(core_hooks, cart), price(core_hooks, cart)
    assert first == second
    assert len(first.hash) == 64 and first.hash == second.hash
    # Any change of a list price is a different quote.
    i = data.draw(st.integers(0, len(cart["lines"]) - 1))
    lines = list(cart["lines"])
    lines[i] = (lines[i][0] + 1, lines[i][1])
    assert price(core_hooks, {**cart, "lines": lines}).hash != first.hash


# -- random orders and refunds through the API ---------------------------------------------

QUOTE = """
query($input: CheckoutInput!) {
  quote(input: $input) { quote { total { amount } pointsUsed hash } errors { code field message } }
}"""
PLACE = """
mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    order { id status total { amount } pointsUsed lines { id quantity amount { amount } points } }
    errors { code field message }
  }
}"""
PAY = """
mutation($id: ID!, $key: String!) {
  payOrder(input: {orderId: $id, idempotencyKey: $key}) {
    order { status paidAmount { amount } } paymentStatus errors { code field message }
  }
}"""
FULFIL = """
mutation($id: ID!) { fulfilOrder(orderId: $id) { order { status } errors { code field message } } }
"""
REFUND = """
mutation($input: RefundRequestInput!) {
  refundOrder(input: $input) {
    refund { id status amount { amount } } errors { code field message }
  }
}"""
LEVEL = """
mutation($name: String!, $min: Int!, $pct: Int!) {
  saveMemberLevel(name: $name, minSpend: $min, discountPercent: $pct) { errors { code } }
}"""


class Ledger:
    """What the test expects the database to hold."""

    def __init__(self, tenant: TenantInfo) -> None:
        self.tenant = tenant
        self.stock: dict[int, int] = {}
        self.granted: dict[int, int] = {}

    async def check(self) -> None:
        """Every invariant, after every step."""
        tid = self.tenant.id
        stock = dict(await Sku.filter(tenant_id=tid).values_list("id", "stock"))
        assert stock == self.stock
        orders = await Order.filter(tenant_id=tid).order_by("id")
        all_lines = await OrderLine.filter(tenant_id=tid).order_by("order_id", "position")
        all_refunds = await Refund.filter(tenant_id=tid)
        for order in orders:
            lines = [ln for ln in all_lines if ln.order_id == order.id]
            assert sum(ln.amount for ln in lines) + order.fees == order.total
            assert order.status != "pending_payment"
            assert order.paid_amount == order.total
            assert 0 <= order.refunded_amount <= order.paid_amount
            full = all(ln.refunded_quantity == ln.quantity for ln in paid_lines(lines))
            if full:  # lines that cost nothing went back with the last that cost something
                assert all(ln.refunded_quantity == ln.quantity for ln in lines)
            refunded_lines = sum(ln.refunded_amount for ln in lines)
            assert order.refunded_amount == refunded_lines + (order.fees if full else 0)
            assert (order.status == "refunded") == full
            for ln in lines:
                assert 0 <= ln.refunded_quantity <= ln.quantity
                assert 0 <= ln.refunded_amount <= ln.amount
                assert 0 <= ln.refunded_points <= ln.points
                if ln.refunded_quantity == ln.quantity:
                    assert (ln.refunded_amount, ln.refunded_points) == (ln.amount, ln.points)
            refunds = [r for r in all_refunds if r.order_id == order.id]
            assert all(r.amount >= 0 for r in refunds)
            assert sum(r.amount for r in refunds) == order.refunded_amount
        all_entries = await PointsEntry.filter(tenant_id=tid).order_by("id")
        for member_id, granted in self.granted.items():
            member = await Member.get(id=member_id)
            running = 0
            for entry in all_entries:
                if entry.member_id == member_id:
                    running += entry.delta
                    assert running >= 0 and entry.balance_after == running
            assert member.points == running >= 0
            mine = {o.id for o in orders if o.member_id == member_id}
            used = sum(o.points_used for o in orders if o.id in mine)
            returned = sum(ln.refunded_points for ln in all_lines if ln.order_id in mine)
            assert member.points == granted - used + returned
            assert member.paid_spend == sum(
                o.paid_amount - o.refunded_amount for o in orders if o.id in mine
            )


async def _shop(
    rng: random.Random, make_tenant: MakeTenant, http: httpx.AsyncClient
) -> tuple[TenantInfo, GraphQLClient, list[tuple[int, GraphQLClient]], list[int], Ledger]:
    core = {
        "points_per_yuan": rng.choice([1, 7, 100, 150]),
        "points_max_percent": rng.choice([30, 50, 100]),
    }
    tenant = await make_tenant("rnd", settings={"core": core})
    _, staff_token = await create_staff(tenant, "owner", "owner")
    admin = GraphQLClient(http, "/admin/graphql", "rnd", staff_token)
    level = {"name": "银卡", "min": rng.choice([0, 5_000, 50_000]), "pct": rng.choice([85, 95, 99])}
    assert (await admin(LEVEL, level))["saveMemberLevel"]["errors"] == []
    ledger = Ledger(tenant)
    members = []
    for i in range(2):
        points = rng.choice([rng.randint(1, 500), rng.randint(1_000, 60_000)])
        row, token = await create_member(tenant, f"1390000000{i}", points=points)
        ledger.granted[row.id] = points
        members.append((row.id, GraphQLClient(http, "/graphql", "rnd", token)))
    skus = []
    for p in range(3):
        product = await save_product(
            tenant,
            ProductInput(
                name=f"P{p}",
                published=True,
                spec_names=["size"],
                skus=[
                    SkuInput(
                        price=rng.choice([1, 99, 333, rng.randint(1, 30_000)]),
                        stock=rng.randint(3, 12),
                        specs={"size": str(s)},
                    )
                    for s in range(rng.randint(1, 3))
                ],
            ),
        )
        for sku in await Sku.filter(product_id=product.id).order_by("id"):
            skus.append(sku.id)
            ledger.stock[sku.id] = sku.stock
    return tenant, admin, members, skus, ledger


def paid_lines(lines: list[OrderLine]) -> list[OrderLine]:
    """The lines whose refund decides the order's: those that cost money or points (every
    line, when none did)."""
    return [ln for ln in lines if ln.amount or ln.points] or lines


def expected_refund(lines: list[OrderLine], wanted: dict[int, int]) -> tuple[int, int]:
    """(amount, points) a refund of ``wanted`` units per line returns: proportional, with
    the last unit of a line taking exactly what is left of it."""
    amount = points = 0
    for ln in lines:
        q = wanted.get(ln.id, 0)
        if not q:
            continue
        if q == ln.quantity - ln.refunded_quantity:
            amount += ln.amount - ln.refunded_amount
            points += ln.points - ln.refunded_points
        else:
            amount += ln.amount * q // ln.quantity
            points += ln.points * q // ln.quantity
    return amount, points


@pytest.mark.parametrize("seed", [7, 1234, 20260601, 99991])
async def test_random_orders_and_refunds_keep_money_stock_and_points_exact(
    seed: int, http: httpx.AsyncClient, make_tenant: MakeTenant, worker: Worker
) -> None:
    rng = random.Random(seed)
    tenant, admin, members, skus, ledger = await _shop(rng, make_tenant, http)
    await ledger.check()

    for n in range(6):
        member_id, me = rng.choice(members)
        available = [s for s in skus if ledger.stock[s] > 0]
        if not available:
            break
        picked = rng.sample(available, rng.randint(1, min(3, len(available))))
        lines = [
            {"skuId": to_global("Sku", s), "quantity": rng.randint(1, min(4, ledger.stock[s]))}
            for s in picked
        ]
        balance = (await Member.get(id=member_id)).points
        use = rng.choice([0, rng.randint(0, balance), balance])
        quoted = (await me(QUOTE, {"input": {"lines": lines, "usePoints": use}}))["quote"]
        assert quoted["errors"] == []
        placed = await me(
            PLACE,
            {
                "input": {
                    "lines": lines,
                    "usePoints": use,
                    "idempotencyKey": f"o-{n}",
                    "quoteHash": quoted["quote"]["hash"],
                }
            },
        )
        assert placed["placeOrder"]["errors"] == []
        order = placed["placeOrder"]["order"]
        assert order["total"] == quoted["quote"]["total"]
        assert order["pointsUsed"] == quoted["quote"]["pointsUsed"] <= balance
        for s, ln in zip(picked, lines, strict=True):
            ledger.stock[s] -= ln["quantity"]
        if order["total"]["amount"] == 0:
            assert order["status"] == "PAID"  # nothing to pay: paid on placement
        else:
            paid = (await me(PAY, {"id": order["id"], "key": f"p-{n}"}))["payOrder"]
            assert paid["errors"] == [] and paid["paymentStatus"] == "CAPTURED"
            assert paid["order"] == {"status": "PAID", "paidAmount": order["total"]}
        if rng.random() < 0.3:
            fulfilled = await admin(FULFIL, {"id": order["id"]})
            assert fulfilled["fulfilOrder"] == {"order": {"status": "FULFILLED"}, "errors": []}
        await ledger.check()

    for step in range(10):
        open_orders = await Order.filter(
            tenant_id=tenant.id, status__in=["paid", "fulfilled"]
        ).order_by("id")
        if not open_orders:
            break
        order = rng.choice(open_orders)
        lines = await OrderLine.filter(order_id=order.id).order_by("position")
        left = {ln.id: ln.quantity - ln.refunded_quantity for ln in lines}
        open_lines = [ln for ln in lines if left[ln.id] > 0]
        roll = rng.random()
        if roll < 0.15:
            wanted = {ln.id: left[ln.id] for ln in open_lines}
            request: list[dict[str, Any]] = []
        elif roll < 0.25:
            ln = rng.choice(open_lines)
            too_many = [{"lineId": to_global("OrderLine", ln.id), "quantity": left[ln.id] + 1}]
            before = await Order.get(id=order.id)
            body = await admin(
                REFUND,
                {
                    "input": {
                        "orderId": to_global("Order", order.id),
                        "idempotencyKey": f"x-{step}",
                        "lines": too_many,
                    }
                },
            )
            assert body["refundOrder"] == {
                "refund": None,
                "errors": [
                    {
                        "code": "INVALID",
                        "field": "lines[0].quantity",
                        "message": f"only {left[ln.id]} left to refund",
                    }
                ],
            }
            assert (await Order.get(id=order.id)).refunded_amount == before.refunded_amount
            await ledger.check()
            continue
        else:
            chosen = rng.sample(open_lines, rng.randint(1, len(open_lines)))
            wanted = {ln.id: rng.randint(1, left[ln.id]) for ln in chosen}
            request = [
                {"lineId": to_global("OrderLine", i), "quantity": q} for i, q in wanted.items()
            ]
        amount, _ = expected_refund(lines, wanted)
        if all(wanted.get(ln.id, 0) == left[ln.id] for ln in paid_lines(lines)):
            amount += order.fees
            wanted = left  # free lines go back with the last line that cost something
        amount = min(amount, order.paid_amount - order.refunded_amount)
        refund_input = {
            "orderId": to_global("Order", order.id),
            "idempotencyKey": f"r-{step}",
            "lines": request,
        }
        body = (await admin(REFUND, {"input": refund_input}))["refundOrder"]
        assert body["errors"] == []
        assert body["refund"]["status"] == "APPROVED"
        assert body["refund"]["amount"] == {"amount": amount}
        if order.status == "paid":  # nothing shipped: the units go back on the shelf
            for ln in lines:
                ledger.stock[ln.sku_id] += wanted.get(ln.id, 0)
        await ledger.check()
        # A retry with the same key is the same refund and changes nothing.
        assert (await admin(REFUND, {"input": refund_input}))["refundOrder"] == body
        await ledger.check()
        await worker.run_until_idle()
        refund_pk = from_global(body["refund"]["id"], "Refund")[1]
        assert (await Refund.get(id=refund_pk)).status == "refunded"
    await ledger.check()
