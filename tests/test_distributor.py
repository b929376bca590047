"""The distributor plugin over the real app: promoters, binding rules, commission per line
(fixed per unit or a percentage of what the line paid), its way pending → frozen →
available, reversals by refunds, and withdrawals that never overdraw.

The frozen clock stands at 2026-06-01 10:00 in Shanghai; the core's after-sale window is
7 days, the plugin's ``freeze_hours`` 168 (7 days) unless a test says otherwise.
"""

from __future__ import annotations

import asyncio
import importlib
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from tortoise import Tortoise

from yutang import api
from yutang.core.auth import hash_password, issue_token
from yutang.core.catalog import ProductInput, SkuInput, save_product
from yutang.core.clock import FrozenClock
from yutang.core.contract import TenantInfo
from yutang.core.errors import ConfigError
from yutang.core.models import (
    Job,
    Operator,
    Order,
    OrderLine,
    Product,
    Sku,
    Store,
    StoreStaff,
    Tenant,
)
from yutang.core.runtime import Runtime, build_runtime
from yutang.core.settings import AppSettings
from yutang.core.worker import Worker
from yutang.graphql.ids import to_global
from yutang.plugins.distributor import commission
from yutang.plugins.distributor.commission import split
from yutang.plugins.distributor.models import (
    DistributorBindingLog,
    DistributorCommission,
    DistributorEntry,
    DistributorOrder,
    DistributorPromoter,
    DistributorWithdrawal,
)
from yutang.plugins.distributor.payout import Payout
from yutang.plugins.distributor.withdrawals import PAYOUT_ASKS
from yutang.testing import GraphQLClient, MakeTenant, create_member, create_staff

Make = Callable[..., Awaitable[Product]]
BUCKETS = ("pending", "frozen", "available", "withdrawing", "withdrawn")

ME = """{ myPromoter { id status source code storeId
  balance { pending { amount } frozen { amount } available { amount } withdrawing { amount }
            withdrawn { amount } }
  team { level1 level2 } } }"""
APPLY = "mutation { applyForPromoter { promoter { id status code } errors { code field } } }"
BIND = """mutation($code: String!, $source: String! = "link") {
  bindPromoter(code: $code, source: $source) { binding { promoterId source boundAt expiresAt }
    errors { code field message } } }"""
PLACE = """mutation($lines: [LineInput!]!, $key: String!, $points: Int! = 0) {
  placeOrder(input: {lines: $lines, idempotencyKey: $key, usePoints: $points}) {
    order { id total { amount } lines { id quantity amount { amount } } }
    errors { code field message } } }"""
PAY = """mutation($id: ID!, $key: String!) {
  payOrder(input: {orderId: $id, idempotencyKey: $key}) {
    order { status } errors { code field } } }"""
FULFIL = "mutation($id: ID!) { fulfilOrder(orderId: $id) { order { status } errors { code } } }"
RECEIVE = "mutation($id: ID!) { confirmReceipt(orderId: $id) { order { status } errors { code } } }"
REFUND = """mutation($o: ID!, $l: ID!, $q: Int!, $k: String!) {
  refundOrder(input: {orderId: $o, idempotencyKey: $k, lines: [{lineId: $l, quantity: $q}]}) {
    refund { status amount { amount } } errors { code field message } } }"""
COMMISSIONS = """query($status: DistributorCommissionStatus) {
  myDistributorCommissions(status: $status) {
  edges { node { level quantity kind rate status basis { amount } amount { amount }
                 reversed { amount } } } } }"""
FREEZES = "{ myDistributorCommissions { edges { node { status unfreezeAt } } } }"
WITHDRAW = """mutation($amount: Int!, $key: String!) {
  requestDistributorWithdrawal(
    input: {amount: $amount, account: "alipay:138", idempotencyKey: $key}
  ) {
    withdrawal { id status amount { amount } fee { amount } net { amount } }
    errors { code field message } } }"""
REVIEW_WITHDRAWAL = """mutation($id: ID!, $approve: Boolean!) {
  reviewDistributorWithdrawal(withdrawalId: $id, approve: $approve) {
    withdrawal { status } errors { code field } } }"""
MARK_PAID = """mutation($id: ID!) { markDistributorWithdrawalPaid(withdrawalId: $id) {
  withdrawal { status paidAt } errors { code field } } }"""
RULE = """mutation($sku: ID!, $kind: String!, $first: Int!, $second: Int! = 0) {
  setDistributorRule(skuId: $sku, kind: $kind, first: $first, second: $second) {
    rule { kind first second } errors { code field message } } }"""


@pytest_asyncio.fixture
async def tenant(make_tenant: MakeTenant) -> TenantInfo:
    """The shop with the distributor: everybody may promote, 10% / 5% by default."""
    return await make_tenant(
        "shop",
        plugins=["distributor"],
        settings={"distributor": {"promoter_mode": "auto", "second_rate": 500}},
    )


@pytest.fixture(autouse=True)
def clock(frozen_clock: FrozenClock) -> FrozenClock:
    return frozen_clock


async def configure(runtime: Runtime, **settings: Any) -> TenantInfo:
    """Change the shop's distributor settings as an operator override would."""
    row = await Tenant.get(slug="shop")
    merged = {**row.settings, "distributor": {**row.settings.get("distributor", {}), **settings}}
    await Tenant.filter(id=row.id).update(
        settings=merged, settings_version=row.settings_version + 1
    )
    return await runtime.tenants.by_slug("shop")


class Shop:
    """Members, promoters and orders of the shop, through its GraphQL APIs."""

    def __init__(
        self, tenant: TenantInfo, storefront: GraphQLClient, admin: GraphQLClient, worker: Worker
    ) -> None:
        self.tenant, self.storefront, self.admin, self.worker = tenant, storefront, admin, worker
        self.phones = iter(range(13_800_000_100, 13_800_009_999))

    async def member(self) -> tuple[int, GraphQLClient]:
        row, token = await create_member(self.tenant, str(next(self.phones)), points=10_000)
        return row.id, self.storefront.as_(token)

    async def promoter(self, upline: str | None = None) -> tuple[GraphQLClient, str]:
        """A new active promoter (auto mode), bound to ``upline``'s code if given."""
        _, client = await self.member()
        if upline is not None:
            assert (await client(BIND, {"code": upline}))["bindPromoter"]["errors"] == []
        applied = (await client(APPLY))["applyForPromoter"]
        assert applied["errors"] == [] and applied["promoter"]["status"] == "ACTIVE"
        return client, applied["promoter"]["code"]

    async def buyer(self, code: str) -> GraphQLClient:
        _, client = await self.member()
        assert (await client(BIND, {"code": code}))["bindPromoter"]["errors"] == []
        return client

    async def buy(
        self, client: GraphQLClient, lines: list[tuple[str, int]], key: str, points: int = 0
    ) -> dict[str, Any]:
        placed = await client(
            PLACE,
            {
                "lines": [{"skuId": s, "quantity": q} for s, q in lines],
                "key": key,
                "points": points,
            },
        )
        order = placed["placeOrder"]["order"]
        assert order, placed
        paid = await client(PAY, {"id": order["id"], "key": f"pay-{key}"})
        assert paid["payOrder"]["errors"] == []
        await self.worker.run_until_idle()
        return dict(order)

    async def complete(self, client: GraphQLClient, order: dict[str, Any]) -> None:
        assert (await self.admin(FULFIL, {"id": order["id"]}))["fulfilOrder"]["errors"] == []
        assert (await client(RECEIVE, {"id": order["id"]}))["confirmReceipt"]["errors"] == []
        await self.worker.run_until_idle()

    async def refund(self, order: dict[str, Any], line: int, quantity: int, key: str) -> None:
        line_id = order["lines"][line]["id"]
        done = await self.admin(REFUND, {"o": order["id"], "l": line_id, "q": quantity, "k": key})
        assert done["refundOrder"]["errors"] == [], done
        await self.worker.run_until_idle()


@pytest_asyncio.fixture
async def shop(
    tenant: TenantInfo, storefront: GraphQLClient, admin: GraphQLClient, worker: Worker
) -> Shop:
    return Shop(tenant, storefront, admin, worker)


async def skus(make_product: Make, *prices: int) -> list[str]:
    product = await make_product("Ticket", [(p, 1000) for p in prices])
    return [to_global("Sku", s.id) for s in await Sku.filter(product_id=product.id).order_by("id")]


async def balance(client: GraphQLClient) -> dict[str, int]:
    me = (await client(ME))["myPromoter"]
    return {k: v["amount"] for k, v in me["balance"].items()}


async def assert_ledger_matches_balances() -> None:
    """Every balance column equals what the entries moved in minus what they moved out."""
    sums: Counter[tuple[int, str]] = Counter()
    for e in await DistributorEntry.all():
        if e.source:
            sums[(e.promoter_id, e.source)] -= e.amount
        if e.target:
            sums[(e.promoter_id, e.target)] += e.amount
    for p in await DistributorPromoter.all():
        assert {b: getattr(p, b) for b in BUCKETS} == {b: sums[(p.id, b)] for b in BUCKETS}


# --- promoters ----------------------------------------------------------------------------


async def test_a_tenant_without_the_plugin_sees_none_of_it(make_tenant, http) -> None:
    await make_tenant("plain")
    body = await GraphQLClient(http, "/graphql", "plain").raw("{ myPromoter { id } }")
    assert body["errors"][0]["extensions"] == {"code": "PLUGIN_DISABLED", "plugin": "distributor"}


async def test_applications_wait_for_staff_and_only_active_promoters_bind(
    shop: Shop, yutang_db: Runtime
) -> None:
    await configure(yutang_db, promoter_mode="apply")
    _, applicant = await shop.member()
    applied = (await applicant(APPLY))["applyForPromoter"]["promoter"]
    assert applied["status"] == "APPLIED"
    _, other = await shop.member()
    refused = (await other(BIND, {"code": applied["code"]}))["bindPromoter"]["errors"]
    assert refused == [{"code": "NOT_FOUND", "field": "code", "message": "promoter code not found"}]
    review = """mutation($id: ID!, $ok: Boolean!) { reviewPromoter(promoterId: $id, approve: $ok) {
      promoter { status } errors { code field } } }"""
    done = await shop.admin(review, {"id": applied["id"], "ok": True})
    assert done["reviewPromoter"]["promoter"]["status"] == "ACTIVE"
    again = await shop.admin(review, {"id": applied["id"], "ok": False})
    assert again["reviewPromoter"]["errors"] == [
        {"code": "ILLEGAL_TRANSITION", "field": "promoterId"}
    ]
    assert (await other(BIND, {"code": applied["code"]}))["bindPromoter"]["errors"] == []


async def test_spend_threshold_makes_a_promoter_after_enough_paid_orders(
    shop: Shop, yutang_db: Runtime, make_product: Make
) -> None:
    await configure(yutang_db, promoter_mode="spend", spend_threshold=10_000)
    (sku,) = await skus(make_product, 6_000)
    _, me = await shop.member()
    refused = (await me(APPLY))["applyForPromoter"]["errors"]
    assert refused == [{"code": "NOT_ELIGIBLE", "field": "memberId"}]
    await shop.buy(me, [(sku, 1)], "s1")
    assert (await me(ME))["myPromoter"] is None
    await shop.buy(me, [(sku, 1)], "s2")
    assert (await me(ME))["myPromoter"]["status"] == "ACTIVE"
    assert (await me(ME))["myPromoter"]["source"] == "spend"


async def test_auto_mode_enrols_new_members_and_their_code_binds_them(
    shop: Shop, storefront: GraphQLClient
) -> None:
    _, code = await shop.promoter()
    register = """mutation($ext: RegisterExtensionsInput) { register(phone: "13912345678",
      password: "secret-1", extensions: $ext) { token errors { code field } } }"""
    done = await storefront(register, {"ext": {"distributor": {"code": code}}})
    await shop.worker.run_until_idle()
    newcomer = storefront.as_(done["register"]["token"])
    assert (await newcomer(ME))["myPromoter"]["status"] == "ACTIVE"
    log = await DistributorBindingLog.get()
    assert log.source == "register"
    bad = await storefront(
        register.replace("13912345678", "13912345679"), {"ext": {"distributor": {"code": "X" * 17}}}
    )
    assert bad["register"]["errors"] == [
        {"code": "INVALID", "field": "extensions.distributor.code"}
    ]


async def test_staff_promote_for_their_own_store(
    shop: Shop, make_product: Make, tenant: TenantInfo
) -> None:
    (sku,) = await skus(make_product, 10_000)
    clerk, _ = await create_staff(tenant, "clerk", "clerk")
    store = await Store.create(tenant_id=tenant.id, name="West Gate")
    other = await Store.create(tenant_id=tenant.id, name="East Gate")
    await StoreStaff.create(tenant_id=tenant.id, store_id=store.id, staff_id=clerk.id)
    member_id, me = await shop.member()
    appoint = """mutation($m: ID!, $s: ID!, $st: ID!) {
      appointStaffPromoter(memberId: $m, staffId: $s, storeId: $st) {
        promoter { status source code storeId } errors { code field } } }"""
    ids = {"m": to_global("Member", member_id), "s": to_global("Staff", clerk.id)}
    wrong = await shop.admin(appoint, {**ids, "st": to_global("Store", other.id)})
    assert wrong["appointStaffPromoter"]["errors"] == [
        {"code": "DISTRIBUTOR_NOT_STORE_STAFF", "field": "storeId"}
    ]
    done = (await shop.admin(appoint, {**ids, "st": to_global("Store", store.id)}))[
        "appointStaffPromoter"
    ]["promoter"]
    assert (done["status"], done["source"], done["storeId"]) == (
        "ACTIVE",
        "staff",
        to_global("Store", store.id),
    )
    buyer = await shop.buyer(done["code"])
    await shop.buy(buyer, [(sku, 1)], "st1")
    assert (await balance(me))["pending"] == 1_000


async def test_clerks_see_promoters_but_only_owners_and_managers_change_things(
    shop: Shop, make_product: Make, tenant: TenantInfo
) -> None:
    (sku,) = await skus(make_product, 10_000)
    _, token = await create_staff(tenant, "clerk", "clerk")
    clerk = shop.admin.as_(token)
    rule = {"sku": sku, "kind": "fixed", "first": 800}
    refused = (await clerk(RULE, rule))["setDistributorRule"]
    assert [e["code"] for e in refused["errors"]] == ["FORBIDDEN"]
    nobody = {"id": to_global("DistributorWithdrawal", 999_999), "approve": True}
    review = (await clerk(REVIEW_WITHDRAWAL, nobody))["reviewDistributorWithdrawal"]
    assert [e["code"] for e in review["errors"]] == ["FORBIDDEN"]
    paid = (await clerk(MARK_PAID, {"id": nobody["id"]}))["markDistributorWithdrawalPaid"]
    assert [e["code"] for e in paid["errors"]] == ["FORBIDDEN"]
    listed = await clerk("{ distributorPromoters { edges { node { id } } } }")
    assert listed["distributorPromoters"]["edges"] == []
    done = (await shop.admin(RULE, rule))["setDistributorRule"]
    assert done["errors"] == [] and done["rule"] == {"kind": "fixed", "first": 800, "second": 0}
    review = (await shop.admin(REVIEW_WITHDRAWAL, nobody))["reviewDistributorWithdrawal"]
    assert [e["code"] for e in review["errors"]] == ["NOT_FOUND"]


# --- binding ------------------------------------------------------------------------------


async def test_nobody_binds_to_themselves_and_no_loops(shop: Shop) -> None:
    a, code_a = await shop.promoter()
    _b, code_b = await shop.promoter(upline=code_a)
    _c, code_c = await shop.promoter(upline=code_b)
    own = (await a(BIND, {"code": code_a}))["bindPromoter"]["errors"]
    assert [e["code"] for e in own] == ["DISTRIBUTOR_SELF_BINDING"]
    direct = (await a(BIND, {"code": code_b}))["bindPromoter"]["errors"]
    through = (await a(BIND, {"code": code_c}))["bindPromoter"]["errors"]
    assert [e["code"] for e in direct + through] == [
        "DISTRIBUTOR_BINDING_LOOP",
        "DISTRIBUTOR_BINDING_LOOP",
    ]
    assert (await a(ME))["myPromoter"]["team"] == {"level1": 1, "level2": 1}


async def test_first_link_wins_until_the_binding_expires(
    shop: Shop, yutang_db: Runtime, clock: FrozenClock
) -> None:
    await configure(yutang_db, bind_mode="first", binding_days=7)
    _, first = await shop.promoter()
    _, second = await shop.promoter()
    buyer = await shop.buyer(first)
    again = (await buyer(BIND, {"code": second}))["bindPromoter"]["errors"]
    assert [e["code"] for e in again] == ["DISTRIBUTOR_ALREADY_BOUND"]
    same = (await buyer(BIND, {"code": first, "source": "code"}))["bindPromoter"]
    assert same["errors"] == [] and same["binding"]["source"] == "link"
    clock.advance(timedelta(days=7))
    assert (await buyer(BIND, {"code": second}))["bindPromoter"]["errors"] == []


async def test_latest_link_wins_after_the_protection_period(
    shop: Shop, yutang_db: Runtime, clock: FrozenClock
) -> None:
    await configure(yutang_db, bind_mode="latest", protection_days=3)
    first_client, first = await shop.promoter()
    second_client, second = await shop.promoter()
    buyer = await shop.buyer(first)
    early = (await buyer(BIND, {"code": second}))["bindPromoter"]["errors"]
    assert [e["code"] for e in early] == ["DISTRIBUTOR_BINDING_PROTECTED"]
    clock.advance(timedelta(days=3))
    assert (await buyer(BIND, {"code": second}))["bindPromoter"]["errors"] == []
    assert (await first_client(ME))["myPromoter"]["team"]["level1"] == 0
    assert (await second_client(ME))["myPromoter"]["team"]["level1"] == 1
    assert [r.replaced_promoter_id is None for r in await DistributorBindingLog.all()] == [
        True,
        False,
    ]


async def test_sign_up_only_binds_at_registration_alone(
    shop: Shop, yutang_db: Runtime, storefront: GraphQLClient
) -> None:
    await configure(yutang_db, bind_mode="signup")
    promoter, code = await shop.promoter()
    _, member = await shop.member()
    later = (await member(BIND, {"code": code}))["bindPromoter"]["errors"]
    assert [e["code"] for e in later] == ["DISTRIBUTOR_BINDING_CLOSED"]
    register = """mutation($ext: RegisterExtensionsInput) { register(phone: "13912345670",
      password: "secret-1", extensions: $ext) { token errors { code } } }"""
    await storefront(register, {"ext": {"distributor": {"code": code}}})
    await shop.worker.run_until_idle()
    assert (await promoter(ME))["myPromoter"]["team"]["level1"] == 1


SIGN_UP = """mutation($phone: String!, $ext: RegisterExtensionsInput) {
  register(phone: $phone, password: "secret-1", extensions: $ext) { token errors { code } } }"""


async def sign_up_and_order(
    storefront: GraphQLClient, phone: str, code: str, sku: str
) -> tuple[GraphQLClient, dict[str, Any]]:
    """Register with ``code`` and place an order at once, no worker running in between;
    the newcomer's client and the order."""
    signed = await storefront(SIGN_UP, {"phone": phone, "ext": {"distributor": {"code": code}}})
    assert signed["register"]["errors"] == []
    newcomer = storefront.as_(signed["register"]["token"])
    placed = await newcomer(PLACE, {"lines": [{"skuId": sku, "quantity": 1}], "key": phone})
    assert placed["placeOrder"]["order"], placed
    return newcomer, placed["placeOrder"]["order"]


async def attributed_to(order: dict[str, Any]) -> int | None:
    """The level-1 promoter the order's snapshot pays, if any."""
    snap = await DistributorOrder.get_or_none(order_id=api.pk_of(order["id"], "Order", "id"))
    return snap.first_promoter_id if snap else None


async def test_an_order_placed_right_after_signing_up_with_a_code_is_attributed(
    shop: Shop, make_product: Make, storefront: GraphQLClient
) -> None:
    (tea,) = await skus(make_product, 10_000)
    leader, code = await shop.promoter()
    newcomer, order = await sign_up_and_order(storefront, "13912345671", code, tea)
    assert await attributed_to(order) == (await DistributorPromoter.get(code=code)).id
    paid = await newcomer(PAY, {"id": order["id"], "key": "pay"})
    assert paid["payOrder"]["errors"] == []
    await shop.worker.run_until_idle()
    assert (await balance(leader))["pending"] == 1_000


@pytest.mark.postgres_only
async def test_20_members_signing_up_and_ordering_at_once_are_all_attributed(
    shop: Shop, make_product: Make, storefront: GraphQLClient
) -> None:
    (tea,) = await skus(make_product, 10_000)
    _, code = await shop.promoter()
    placed = await asyncio.gather(
        *(sign_up_and_order(storefront, f"1391234{i:04d}", code, tea) for i in range(20))
    )
    promoter = (await DistributorPromoter.get(code=code)).id
    assert [await attributed_to(order) for _, order in placed] == [promoter] * 20


# --- commission ---------------------------------------------------------------------------


async def test_hot_spring_tickets_pay_8_per_adult_and_5_per_child(
    shop: Shop, make_product: Make
) -> None:
    adult, child = await skus(make_product, 12_800, 6_800)
    for sku, amount in ((adult, 800), (child, 500)):
        done = await shop.admin(RULE, {"sku": sku, "kind": "fixed", "first": amount})
        assert done["setDistributorRule"]["errors"] == []
    leader, code = await shop.promoter()
    family = await shop.buyer(code)
    await shop.buy(family, [(adult, 2), (child, 3)], "family")
    rows = (await leader(COMMISSIONS))["myDistributorCommissions"]["edges"]
    got = sorted((n["node"]["quantity"], n["node"]["amount"]["amount"]) for n in rows)
    assert got == [(2, 1_600), (3, 1_500)]
    assert (await balance(leader))["pending"] == 2 * 800 + 3 * 500


async def test_percentage_is_of_what_each_line_paid_after_discounts_without_shipping(
    shop: Shop, make_product: Make, yutang_db: Runtime
) -> None:
    tea, cup = await skus(make_product, 5_800, 3_300)
    leader, code = await shop.promoter()
    buyer = await shop.buyer(code)
    placed = await buyer(
        PLACE,
        {
            "lines": [{"skuId": tea, "quantity": 1}, {"skuId": cup, "quantity": 2}],
            "key": "p1",
            "points": 1_000,  # ¥10 off, apportioned over both lines
        },
    )
    order = placed["placeOrder"]["order"]
    paid = [ln["amount"]["amount"] for ln in order["lines"]]
    assert sum(paid) == 5_800 + 2 * 3_300 - 1_000
    # Shipping of ¥12 charged on the order: it must not earn commission.
    await Order.filter(id=(await Order.first()).id).update(
        fees=1_200, total=order["total"]["amount"] + 1_200
    )
    assert (await buyer(PAY, {"id": order["id"], "key": "pay"}))["payOrder"]["errors"] == []
    await shop.worker.run_until_idle()
    rows = (await leader(COMMISSIONS))["myDistributorCommissions"]["edges"]
    assert sorted(n["node"]["amount"]["amount"] for n in rows) == sorted(
        p * 1_000 // 10_000 for p in paid
    )
    assert split("percent", [1_000, 500], 1_000, 1) == [100, 50]
    assert split("fixed", [800, 500], 1_000, 1) == [800, 200]  # never more than it paid


async def test_fees_earn_too_when_the_merchant_says_so(
    shop: Shop, make_product: Make, yutang_db: Runtime
) -> None:
    await configure(yutang_db, include_fees=True, second_rate=0)
    (tea,) = await skus(make_product, 10_000)
    leader, code = await shop.promoter()
    buyer = await shop.buyer(code)
    placed = await buyer(PLACE, {"lines": [{"skuId": tea, "quantity": 1}], "key": "f1"})
    order = placed["placeOrder"]["order"]
    await Order.filter(id=(await Order.first()).id).update(fees=1_000, total=11_000)
    await buyer(PAY, {"id": order["id"], "key": "pay"})
    await shop.worker.run_until_idle()
    assert (await balance(leader))["pending"] == 1_100


async def test_lines_of_an_excluded_activity_earn_nothing(
    shop: Shop, make_product: Make, yutang_db: Runtime
) -> None:
    await configure(yutang_db, excluded_activities=["seckill"], second_rate=0)
    tea, cup = await skus(make_product, 10_000, 5_000)
    leader, code = await shop.promoter()
    buyer = await shop.buyer(code)
    placed = await buyer(
        PLACE,
        {"lines": [{"skuId": tea, "quantity": 1}, {"skuId": cup, "quantity": 1}], "key": "x1"},
    )
    order = placed["placeOrder"]["order"]
    # The seckill plugin priced the first line (its activity is what the rule looks at).
    await OrderLine.filter(sku_id=(await Sku.first()).id).update(activity_plugin="seckill")
    await buyer(PAY, {"id": order["id"], "key": "pay"})
    await shop.worker.run_until_idle()
    assert (await balance(leader))["pending"] == 500


async def test_two_levels_are_paid_never_three(
    shop: Shop, make_product: Make, yutang_db: Runtime
) -> None:
    (tea,) = await skus(make_product, 10_000)
    top, top_code = await shop.promoter()
    middle, middle_code = await shop.promoter(upline=top_code)
    leader, code = await shop.promoter(upline=middle_code)
    buyer = await shop.buyer(code)
    await shop.buy(buyer, [(tea, 1)], "o1")
    assert [(await balance(c))["pending"] for c in (leader, middle, top)] == [1_000, 500, 0]
    await configure(yutang_db, levels=1)
    await shop.buy(buyer, [(tea, 1)], "o2")
    assert [(await balance(c))["pending"] for c in (leader, middle, top)] == [2_000, 500, 0]
    assert {c.level for c in await DistributorCommission.all()} == {1, 2}


async def test_the_order_keeps_the_promoter_it_was_placed_with(
    shop: Shop, make_product: Make, yutang_db: Runtime, clock: FrozenClock
) -> None:
    await configure(yutang_db, bind_mode="latest", second_rate=0)
    (tea,) = await skus(make_product, 10_000)
    first, first_code = await shop.promoter()
    second, second_code = await shop.promoter()
    buyer = await shop.buyer(first_code)
    placed = await buyer(PLACE, {"lines": [{"skuId": tea, "quantity": 1}], "key": "k"})
    await buyer(BIND, {"code": second_code})
    await buyer(PAY, {"id": placed["placeOrder"]["order"]["id"], "key": "pay"})
    await shop.worker.run_until_idle()
    assert [(await balance(c))["pending"] for c in (first, second)] == [1_000, 0]


# --- the ledger: pending → frozen → available, and refunds --------------------------------


async def test_pending_when_paid_frozen_when_completed_available_after_the_window(
    shop: Shop, make_product: Make, clock: FrozenClock
) -> None:
    (tea,) = await skus(make_product, 10_000)
    leader, code = await shop.promoter()
    buyer = await shop.buyer(code)
    order = await shop.buy(buyer, [(tea, 1)], "o1")
    assert (await balance(leader))["pending"] == 1_000
    await shop.complete(buyer, order)
    assert (await balance(leader))["frozen"] == 1_000
    clock.advance(timedelta(days=7) - timedelta(seconds=1))
    await shop.worker.run_until_idle()
    assert (await balance(leader))["frozen"] == 1_000
    clock.advance(timedelta(seconds=1))
    await shop.worker.run_until_idle()
    assert await balance(leader) == {
        "pending": 0,
        "frozen": 0,
        "available": 1_000,
        "withdrawing": 0,
        "withdrawn": 0,
    }
    await commission.release(shop.tenant, {"order_id": (await Order.first()).id})
    assert (await balance(leader))["available"] == 1_000
    await assert_ledger_matches_balances()


async def test_a_two_hour_freeze_releases_commission_at_exactly_two_hours(
    shop: Shop, make_product: Make, yutang_db: Runtime, clock: FrozenClock
) -> None:
    """Same-day services (a ticket used the day it is bought) freeze for hours, not days."""
    await configure(yutang_db, freeze_hours=2)
    (tea,) = await skus(make_product, 10_000)
    leader, code = await shop.promoter()
    buyer = await shop.buyer(code)
    order = await shop.buy(buyer, [(tea, 1)], "o1")
    await shop.complete(buyer, order)  # at 02:00 UTC
    rows = (await leader(FREEZES))["myDistributorCommissions"]["edges"]
    assert [r["node"] for r in rows] == [
        {"status": "FROZEN", "unfreezeAt": "2026-06-01T04:00:00+00:00"}
    ]
    clock.advance(timedelta(hours=1, minutes=59, seconds=59))
    await shop.worker.run_until_idle()
    assert (await balance(leader))["frozen"] == 1_000
    clock.advance(timedelta(seconds=1))
    await shop.worker.run_until_idle()
    assert [(await balance(leader))[b] for b in ("frozen", "available")] == [0, 1_000]
    await assert_ledger_matches_balances()


async def test_a_zero_hour_freeze_makes_commission_available_on_completion(
    shop: Shop, make_product: Make, yutang_db: Runtime
) -> None:
    await configure(yutang_db, freeze_hours=0)
    (tea,) = await skus(make_product, 10_000)
    leader, code = await shop.promoter()
    buyer = await shop.buyer(code)
    order = await shop.buy(buyer, [(tea, 1)], "o1")
    await shop.complete(buyer, order)
    assert [(await balance(leader))[b] for b in ("frozen", "available")] == [0, 1_000]
    await assert_ledger_matches_balances()


async def test_a_virtual_ticket_reaches_an_available_commission_without_shipping(
    shop: Shop, yutang_db: Runtime
) -> None:
    """Goods that ship nothing complete once paid, so commission follows as for parcels."""
    await configure(yutang_db, freeze_hours=0)
    product = await save_product(
        shop.tenant,
        ProductInput(
            name="Hot spring", published=True, virtual=True, skus=[SkuInput(price=10_000, stock=50)]
        ),
    )
    ticket = to_global("Sku", (await Sku.get(product_id=product.id)).id)
    leader, code = await shop.promoter()
    buyer = await shop.buyer(code)
    order = await shop.buy(buyer, [(ticket, 1)], "o1")
    assert (await Order.get(id=api.pk_of(order["id"], "Order"))).status == "completed"
    assert [(await balance(leader))[b] for b in ("pending", "frozen", "available")] == [
        0,
        0,
        1_000,
    ]
    await assert_ledger_matches_balances()


async def test_the_release_job_moves_commission_once_when_its_worker_dies(
    shop: Shop, make_product: Make, clock: FrozenClock, yutang_db: Runtime, monkeypatch: Any
) -> None:
    (tea, cup) = await skus(make_product, 10_000, 5_000)
    leader, code = await shop.promoter()
    buyer = await shop.buyer(code)
    order = await shop.buy(buyer, [(tea, 1), (cup, 1)], "o1")
    await shop.complete(buyer, order)
    clock.advance(timedelta(days=7))
    job = await Job.get(name=commission.RELEASE_JOB)

    # A worker crashes in the middle of the job: its transaction rolls back entirely.
    real_post = commission.post
    calls = 0

    async def crash_on_second(*args: Any, **kwargs: Any) -> bool:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("killed")
        return await real_post(*args, **kwargs)

    monkeypatch.setattr(commission, "post", crash_on_second)
    await shop.worker.run_until_idle()
    crashed = await Job.get(id=job.id)
    assert (crashed.status, crashed.attempts, calls) == ("pending", 1, 2)
    assert (await balance(leader))["available"] == 0
    monkeypatch.setattr(commission, "post", real_post)

    # Another worker claims the retry, then dies without a word: its lease must expire.
    clock.advance(timedelta(seconds=2))
    dead = Worker(yutang_db)
    assert await dead.claim() == [job.id]
    restarted = Worker(yutang_db)
    assert await restarted.run_until_idle() == 0
    clock.advance(timedelta(seconds=61))
    assert await restarted.run_until_idle() == 1
    await dead.run_job(job.id)  # the dead worker waking up finds the job is not its own
    assert (await balance(leader))["available"] == 1_500
    releases = await DistributorEntry.filter(kind="release").count()
    assert releases == 2
    await assert_ledger_matches_balances()


async def test_a_partial_refund_reverses_exactly_those_lines(
    shop: Shop, make_product: Make
) -> None:
    tea, cup = await skus(make_product, 10_000, 3_000)
    top, top_code = await shop.promoter()
    leader, code = await shop.promoter(upline=top_code)
    buyer = await shop.buyer(code)
    order = await shop.buy(buyer, [(tea, 2), (cup, 1)], "o1")
    assert [(await balance(c))["pending"] for c in (leader, top)] == [2_300, 1_150]
    await shop.refund(order, 0, 1, "r1")
    assert [(await balance(c))["pending"] for c in (leader, top)] == [1_300, 650]
    tea_sku = (await Sku.get(price=10_000)).id
    reversed_by_line = {
        (c.sku_id == tea_sku, c.level): c.reversed_amount for c in await DistributorCommission.all()
    }
    assert reversed_by_line == {(True, 1): 1_000, (True, 2): 500, (False, 1): 0, (False, 2): 0}
    await shop.refund(order, 0, 1, "r2")
    assert [(await balance(c))["pending"] for c in (leader, top)] == [300, 150]
    statuses = {(c.sku_id == tea_sku, c.status) for c in await DistributorCommission.all()}
    assert statuses == {(True, "reversed"), (False, "pending")}
    await assert_ledger_matches_balances()


async def test_a_refund_after_availability_makes_the_balance_negative_then_netted(
    shop: Shop, make_product: Make, yutang_db: Runtime, clock: FrozenClock
) -> None:
    await configure(yutang_db, freeze_hours=24, second_rate=0, withdraw_min=100)
    (tea,) = await skus(make_product, 10_000)
    leader, code = await shop.promoter()
    buyer = await shop.buyer(code)
    order = await shop.buy(buyer, [(tea, 1)], "o1")
    await shop.complete(buyer, order)
    clock.advance(timedelta(days=1))
    await shop.worker.run_until_idle()
    assert (await balance(leader))["available"] == 1_000
    asked = (await leader(WITHDRAW, {"amount": 1_000, "key": "w1"}))["requestDistributorWithdrawal"]
    wid = asked["withdrawal"]["id"]
    await shop.admin(REVIEW_WITHDRAWAL, {"id": wid, "approve": True})
    await shop.worker.run_until_idle()  # no payout provider: staff pay offline
    paid = await shop.admin(MARK_PAID, {"id": wid})
    assert paid["markDistributorWithdrawalPaid"]["withdrawal"]["status"] == "PAID"

    await shop.refund(order, 0, 1, "late")  # still inside the core's 7-day window
    assert await balance(leader) == {
        "pending": 0,
        "frozen": 0,
        "available": -1_000,
        "withdrawing": 0,
        "withdrawn": 1_000,
    }
    refused = await leader(WITHDRAW, {"amount": 100, "key": "w2"})
    assert (
        refused["requestDistributorWithdrawal"]["errors"][0]["code"]
        == "DISTRIBUTOR_INSUFFICIENT_BALANCE"
    )

    second = await shop.buy(buyer, [(tea, 3)], "o2")
    await shop.complete(buyer, second)
    clock.advance(timedelta(days=1))
    await shop.worker.run_until_idle()
    assert (await balance(leader))["available"] == 3_000 - 1_000
    kinds = Counter(e.kind for e in await DistributorEntry.all())
    assert kinds == {"earn": 2, "freeze": 2, "release": 2, "reverse": 1, "withdraw": 1, "payout": 1}
    await assert_ledger_matches_balances()


async def test_a_redelivered_refund_event_reverses_once(shop: Shop, make_product: Make) -> None:
    (tea,) = await skus(make_product, 10_000)
    leader, code = await shop.promoter()
    buyer = await shop.buyer(code)
    order = await shop.buy(buyer, [(tea, 2)], "o1")
    await shop.refund(order, 0, 1, "r1")
    line = (await OrderLine.first()).id
    order_id = (await Order.first()).id
    refund_id = 1
    lines = [{"line_id": line, "quantity": 1, "amount": 10_000, "points": 0}]
    await commission.reverse(shop.tenant, order_id, refund_id, lines)
    assert (await balance(leader))["pending"] == 1_000
    await assert_ledger_matches_balances()


# --- withdrawals and the ranking ----------------------------------------------------------


async def available_commission(
    shop: Shop, make_product: Make, clock: FrozenClock, amount_yuan: int
) -> GraphQLClient:
    (tea,) = await skus(make_product, amount_yuan * 1_000)  # 10% of it is amount_yuan ¥
    leader, code = await shop.promoter()
    buyer = await shop.buyer(code)
    order = await shop.buy(buyer, [(tea, 1)], "o1")
    await shop.complete(buyer, order)
    clock.advance(timedelta(days=7))
    await shop.worker.run_until_idle()
    return leader


async def test_withdrawals_reserve_the_balance_and_staff_review_them(
    shop: Shop, make_product: Make, clock: FrozenClock, yutang_db: Runtime
) -> None:
    await configure(yutang_db, withdraw_min=500, withdraw_fee_rate=100)
    leader = await available_commission(shop, make_product, clock, 50)
    small = (await leader(WITHDRAW, {"amount": 499, "key": "w0"}))["requestDistributorWithdrawal"]
    assert small["errors"] == [{"code": "INVALID", "field": "amount", "message": "at least 500"}]
    _, plain = await shop.member()
    nobody = (await plain(WITHDRAW, {"amount": 500, "key": "w0"}))["requestDistributorWithdrawal"]
    assert nobody == {
        "withdrawal": None,
        "errors": [
            {
                "code": "DISTRIBUTOR_NOT_A_PROMOTER",
                "field": "amount",
                "message": "only promoters withdraw",
            }
        ],
    }
    first = (await leader(WITHDRAW, {"amount": 3_000, "key": "w1"}))["requestDistributorWithdrawal"]
    again = (await leader(WITHDRAW, {"amount": 3_000, "key": "w1"}))["requestDistributorWithdrawal"]
    assert first["withdrawal"] == again["withdrawal"]
    other = (await leader(WITHDRAW, {"amount": 1_000, "key": "w1"}))["requestDistributorWithdrawal"]
    assert other == {
        "withdrawal": None,
        "errors": [
            {
                "code": "IDEMPOTENCY_KEY_REUSED",
                "field": "idempotencyKey",
                "message": "this idempotency key was used for a different withdrawal",
            }
        ],
    }
    assert (first["withdrawal"]["fee"]["amount"], first["withdrawal"]["net"]["amount"]) == (
        30,
        2_970,
    )
    assert (await balance(leader))["available"] == 2_000
    assert (await balance(leader))["withdrawing"] == 3_000
    too_much = (await leader(WITHDRAW, {"amount": 2_001, "key": "w2"}))[
        "requestDistributorWithdrawal"
    ]
    assert too_much["errors"][0]["field"] == "amount"
    rejected = await shop.admin(
        REVIEW_WITHDRAWAL, {"id": first["withdrawal"]["id"], "approve": False}
    )
    assert rejected["reviewDistributorWithdrawal"]["withdrawal"]["status"] == "REJECTED"
    assert (await balance(leader))["available"] == 5_000
    late = await shop.admin(MARK_PAID, {"id": first["withdrawal"]["id"]})
    assert late["markDistributorWithdrawalPaid"]["errors"] == [
        {"code": "ILLEGAL_TRANSITION", "field": "withdrawalId"}
    ]
    await assert_ledger_matches_balances()


class FlakyPayouts:
    """A payout provider whose first transfer is not confirmed yet."""

    def __init__(self) -> None:
        self.calls: list[Payout] = []

    @api.hookimpl
    def yutang_distributor_payout(self, payout: Payout) -> bool:
        self.calls.append(payout)
        return len(self.calls) > 1


async def test_an_approved_withdrawal_is_paid_through_the_provider_with_retries(
    shop: Shop, make_product: Make, clock: FrozenClock, yutang_db: Runtime
) -> None:
    await configure(yutang_db, withdraw_fee_rate=100)
    leader = await available_commission(shop, make_product, clock, 50)
    asked = (await leader(WITHDRAW, {"amount": 5_000, "key": "w1"}))["requestDistributorWithdrawal"]
    await shop.admin(REVIEW_WITHDRAWAL, {"id": asked["withdrawal"]["id"], "approve": True})
    provider = FlakyPayouts()
    runtime = build_runtime(yutang_db.settings, extra_plugins=[("payouts", provider)])
    await Tenant.filter(slug="shop").update(plugins=["distributor", "payouts"], settings_version=99)
    worker = Worker(runtime)
    await worker.run_until_idle()
    assert (await DistributorWithdrawal.get()).status == "approved"
    clock.advance(PAYOUT_ASKS[0] - timedelta(seconds=1))
    await worker.run_until_idle()  # asked again only once the first ask's wait is over
    assert len(provider.calls) == 1
    clock.advance(timedelta(seconds=1))
    await worker.run_until_idle()
    row = await DistributorWithdrawal.get()
    assert (row.status, row.payout_reference) == ("paid", provider.calls[0].reference)
    assert [(c.amount, c.reference) for c in provider.calls] == 2 * [(4_950, row.payout_reference)]
    promoter = await DistributorPromoter.get()
    assert (promoter.available, promoter.withdrawing, promoter.withdrawn) == (0, 0, 5_000)
    await assert_ledger_matches_balances()


@pytest.mark.postgres_only
async def test_two_withdrawals_of_the_whole_balance_at_once_one_succeeds(
    shop: Shop, make_product: Make, clock: FrozenClock
) -> None:
    leader = await available_commission(shop, make_product, clock, 50)
    results = await asyncio.gather(
        *(leader(WITHDRAW, {"amount": 5_000, "key": f"race-{i}"}) for i in range(10))
    )
    outcomes = [r["requestDistributorWithdrawal"] for r in results]
    assert len([o for o in outcomes if o["withdrawal"]]) == 1
    assert {e["code"] for o in outcomes for e in o["errors"]} == {
        "DISTRIBUTOR_INSUFFICIENT_BALANCE"
    }
    assert (await balance(leader))["available"] == 0
    await assert_ledger_matches_balances()


async def test_the_ranking_orders_promoters_by_net_sales_in_the_period(
    shop: Shop, make_product: Make, clock: FrozenClock
) -> None:
    (tea,) = await skus(make_product, 10_000)
    _, big = await shop.promoter()
    _, small = await shop.promoter()
    big_buyer, small_buyer = await shop.buyer(big), await shop.buyer(small)
    order = await shop.buy(big_buyer, [(tea, 3)], "b1")
    await shop.buy(small_buyer, [(tea, 2)], "s1")
    await shop.refund(order, 0, 2, "r1")
    await shop.buy(big_buyer, [(tea, 2)], "b2")
    ranking = """query($since: DateTime!, $until: DateTime!) {
      distributorRanking(since: $since, until: $until) {
        promoter { code } sales { amount } orders commission { amount } } }"""
    now = clock.current
    got = (
        await shop.admin(
            ranking,
            {
                "since": (now - timedelta(days=1)).isoformat(),
                "until": (now + timedelta(days=1)).isoformat(),
            },
        )
    )["distributorRanking"]
    assert [(r["promoter"]["code"], r["sales"]["amount"], r["orders"]) for r in got] == [
        (big, 30_000, 2),
        (small, 20_000, 1),
    ]
    assert got[0]["commission"]["amount"] == 3_000


# --- settings from before the freeze was in hours -----------------------------------------


async def test_an_old_freeze_days_key_is_refused_naming_freeze_hours(
    tmp_path: Path, shop: Shop
) -> None:
    """At start-up and from an operator alike: advice, not a bare unknown field."""
    path = tmp_path / "plugins.toml"
    path.write_text(
        '[profiles.local-services]\nplugins = ["distributor"]\n\n'
        "[profiles.local-services.settings.distributor]\nfreeze_days = 1\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        build_runtime(AppSettings(plugins_file=str(path)))
    assert str(caught.value) == (
        f"{path} [profiles.local-services.settings.distributor].freeze_days: "
        "no longer accepted, use freeze_hours (days × 24)"
    )
    op = await Operator.create(username="platform", password_hash=hash_password("op-secret"))
    operator = shop.admin.as_(await issue_token("operator", op.id, None))
    update = """mutation($settings: JSON) { updateTenant(slug: "shop", settings: $settings) {
      errors { code field message } } }"""
    body = await operator(update, {"settings": {"distributor": {"freeze_days": 1}}})
    assert body["updateTenant"]["errors"] == [
        {
            "code": "INVALID",
            "field": "settings.distributor",
            "message": "settings.distributor.freeze_days: no longer accepted, "
            "use freeze_hours (days × 24)",
        }
    ]


async def test_the_migration_turns_stored_freeze_days_into_hours(yutang_db: Runtime) -> None:
    """Operators' overrides in the database, rewritten by the plugin's data migration (and
    back, rounded up to whole days, by its downgrade)."""
    migration = importlib.import_module("yutang.plugins.distributor.migrations.0002_freeze_hours")
    old = {"distributor": {"freeze_days": 3, "first_rate": 500}}
    await Tenant.create(slug="shop", name="shop", plugins=["distributor"], settings=old)
    await Tenant.create(slug="tickets", name="tickets", settings={"distributor": {"levels": 1}})
    await migration.freeze_days_to_hours(Tortoise.apps, None)
    rows = {t.slug: (t.settings, t.settings_version) for t in await Tenant.all()}
    assert rows == {
        "shop": ({"distributor": {"first_rate": 500, "freeze_hours": 72}}, 2),
        "tickets": ({"distributor": {"levels": 1}}, 1),
    }
    assert (await yutang_db.tenants.by_slug("shop")).settings["distributor"].freeze_hours == 72
    await Tenant.filter(slug="tickets").update(settings={"distributor": {"freeze_hours": 2}})
    await migration.freeze_hours_to_days(Tortoise.apps, None)
    back = {t.slug: t.settings for t in await Tenant.all()}
    assert back == {
        "shop": {"distributor": {"first_rate": 500, "freeze_days": 3}},
        "tickets": {"distributor": {"freeze_days": 1}},
    }
