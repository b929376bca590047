"""Contract tests of every hook and every owned object's method, through the real core.

Two instances of :class:`tests.hooks_plugin.HooksPlugin` are registered once per session:
``hooks`` first, then ``zhooks``, so pluggy calls ``zhooks`` first while ``hooks`` sorts
first by name. Both are enabled for the shop. For each kind of hook the tests pin who
wins when both answer and what a raise does: registration (ConfigError), in-transaction
(the operation rolls back, the plugin's own write included, and the caller gets the code
and field), event after commit (the job is retried, other plugins' handlers are not) and
the query hook.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from hooks_plugin import (
    CheckoutIn,
    HookActivity,
    HookMethod,
    HookReward,
    HooksPlugin,
    HooksSettings,
    RegisterIn,
)
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from yutang import api
from yutang.core import builtin, hookspecs
from yutang.core.clock import FrozenClock
from yutang.core.config import validate_settings
from yutang.core.db import apps_config
from yutang.core.demo import load_demo
from yutang.core.errors import ConfigError
from yutang.core.models import Job, Member, Order, OrderLine, Payment, Refund, Sku, Store, Tenant
from yutang.core.plugin_inputs import OPERATIONS
from yutang.core.plugins import PluginRegistry
from yutang.core.runtime import Runtime
from yutang.core.worker import Worker
from yutang.graphql.ids import to_global
from yutang.graphql.schema import build_schema
from yutang.testing import GraphQLClient, MakeTenant, app_with, client_of, create_staff

Make = Callable[..., Awaitable[Any]]
Plugins = tuple[HooksPlugin, HooksPlugin]
STAGE = api.Stage

QUOTE = """query($input: CheckoutInput!) { quote(input: $input) {
  quote { total { amount } fees { amount } lines { unitPrice { amount } }
          adjustments { source label kind amount { amount } } }
  errors { code field message } } }"""
PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
  order { id status lines { id } } errors { code field message } } }"""
PAY = """mutation($id: ID!, $key: String!, $provider: String!) {
  payOrder(input: {orderId: $id, idempotencyKey: $key, provider: $provider}) {
    order { status } clientData errors { code field message } } }"""
CANCEL = """mutation($id: ID!) { cancelOrder(orderId: $id) {
  order { status } errors { code field message } } }"""
FULFIL = """mutation($id: ID!) { fulfilOrder(orderId: $id) {
  order { status } errors { code field message } } }"""
CONFIRM = """mutation($id: ID!) { confirmReceipt(orderId: $id) { errors { code } } }"""
REQUEST_REFUND = """mutation($input: RefundRequestInput!) { requestRefund(input: $input) {
  refund { status } errors { code field message } } }"""
REFUND = """mutation($input: RefundRequestInput!) { refundOrder(input: $input) {
  refund { status amount { amount } } errors { code field message } } }"""
REGISTER = """
mutation($phone: String!, $referrer: ID, $ext: RegisterExtensionsInput, $code: String) {
  register(phone: $phone, password: "secret-pass-1", referrerId: $referrer,
           extensions: $ext, code: $code) {
    token member { id } errors { code field message } } }"""
SEND_CODE = """mutation($phone: String!) {
  requestVerificationCode(phone: $phone, purpose: REGISTER) { sent errors { code field } } }"""
ACT = {"plugin": "hooksact", "ref": "r1"}


def names(text: str) -> list[str]:
    return text.split()


def covers(*names: str) -> Callable[[Any], Any]:
    """Mark a test as the contract test of hooks or owned methods (``activity.hold``)."""

    def mark(test: Any) -> Any:
        test.covers = names
        return test

    return mark


@pytest.fixture(autouse=True)
def clock(frozen_clock: FrozenClock) -> FrozenClock:
    return frozen_clock


@pytest_asyncio.fixture
async def plugins(yutang_db: Runtime) -> Plugins:
    """``hooks`` and ``zhooks``, registered once per session, reset for each test."""
    registry = yutang_db.registry
    if "hooks" not in registry.plugins:
        steps = ((STAGE.PROMOTION, 50), (STAGE.COUPON, 1))
        registry.register("hooks", HooksPlugin("hooks", specs=True, steps=steps))
        steps = ((STAGE.PROMOTION, 10), (STAGE.PROMOTION, 50))
        registry.register("zhooks", HooksPlugin("zhooks", steps=steps))
    hooks, zhooks = (registry.plugins[n].module for n in ("hooks", "zhooks"))
    assert isinstance(hooks, HooksPlugin) and isinstance(zhooks, HooksPlugin)
    hooks.reset()
    zhooks.reset()
    return hooks, zhooks


@pytest_asyncio.fixture
async def tenant(make_tenant: MakeTenant, plugins: Plugins) -> api.TenantInfo:
    return await make_tenant("shop", plugins=["hooks", "zhooks"])


@pytest_asyncio.fixture
async def me(member: tuple[Member, GraphQLClient]) -> GraphQLClient:
    return member[1]


async def sku_of(make_product: Make, price: int = 1000, stock: int = 10) -> str:
    sku = await Sku.get(product_id=(await make_product("Tea", [(price, stock)])).id)
    return to_global("Sku", sku.id)


def line(sku: str, quantity: int = 1, activity: dict[str, str] | None = None) -> dict[str, Any]:
    return {"skuId": sku, "quantity": quantity, **({"activity": activity} if activity else {})}


async def place(me: GraphQLClient, *lines: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {"lines": list(lines), "idempotencyKey": "k1", **extra}
    result: dict[str, Any] = (await me(PLACE, {"input": body}))["placeOrder"]
    return result


async def placed(me: GraphQLClient, *lines: dict[str, Any], **extra: Any) -> tuple[str, int]:
    result = await place(me, *lines, **extra)
    assert result["errors"] == [], result
    return result["order"]["id"], api.pk_of(result["order"]["id"], "Order")


async def pay(me: GraphQLClient, order: str, provider: str = "dev") -> dict[str, Any]:
    variables = {"id": order, "key": f"pay-{order}-{provider}", "provider": provider}
    result: dict[str, Any] = (await me(PAY, variables))["payOrder"]
    return result


def errors(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def nothing_written(plugin: HooksPlugin, sku: str, stock: int = 10) -> None:
    """No order, the stock untouched, no job (the plugin's marker and events included)."""
    assert await Order.all().count() == 0
    assert (await Sku.get(id=api.pk_of(sku, "Sku"))).stock == stock
    assert await Job.filter(name=f"{plugin.name}.job").count() == 0
    assert await Job.filter(name__startswith="event:").count() == 0


def fresh(*named: tuple[str, HooksPlugin]) -> PluginRegistry:
    registry = PluginRegistry()
    registry.register("core", builtin)
    for name, plugin in named:
        registry.register(name, plugin)
    return registry


# --- the guard -----------------------------------------------------------------------------

HOOKS = sorted(n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), "yutang_spec"))
OWNED = {
    "activity": (api.Activity, HookActivity),
    "method": (api.FulfilmentMethod, HookMethod),
    "reward": (api.RewardKind, HookReward),
}


def owned_methods() -> list[str]:
    found = []
    for prefix, (protocol, _) in OWNED.items():
        names = [n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_")]
        found += [f"{prefix}.{n}" for n in names if n not in ("kind", "name")]
    return sorted(found)


def test_the_plugin_implements_every_hook_and_every_owned_method() -> None:
    registry = fresh(("hooks", HooksPlugin("hooks", specs=True)))
    assert len(HOOKS) == 34  # the spec module was read
    assert set(HOOKS) <= set(registry.plugins["hooks"].hooks)
    assert "activity.claim_payment" in owned_methods() and "method.paid" in owned_methods()
    for prefix, (protocol, ours) in OWNED.items():
        for name in (m.split(".")[1] for m in owned_methods() if m.startswith(prefix)):
            assert getattr(ours, name) is not getattr(protocol, name), f"{prefix}.{name}"


def test_every_hook_and_owned_method_has_a_contract_test() -> None:
    tested = {name for test in globals().values() for name in getattr(test, "covers", ())}
    assert tested == set(HOOKS) | set(owned_methods())


# --- registration --------------------------------------------------------------------------

REGISTERED = names(
    "yutang_add_hookspecs yutang_models yutang_settings_schema yutang_permissions "
    "yutang_error_codes yutang_activities yutang_fulfilment_methods "
    "yutang_reward_kinds yutang_jobs yutang_payment_providers yutang_verification_providers"
)


@covers(*REGISTERED)
def test_registration_hooks_are_read_once_when_the_plugin_registers() -> None:
    plugin = HooksPlugin("hooks", specs=True, models="hooks_models.models")
    registry = fresh(("hooks", plugin))
    read = Counter(plugin.order())
    assert read.pop("yutang_input_schema") == len(OPERATIONS)  # once per operation
    assert set(read.values()) == {1} and len(read) == 11
    assert plugin.seen("yutang_add_hookspecs") == [{"plugin_manager": registry.pm}]
    assert registry.pm.hook.yutang_hooks_answer.spec is not None
    info = registry.plugins["hooks"]
    assert info.models == "hooks_models.models" and info.settings_schema is HooksSettings
    assert {op: i.struct for op, i in info.inputs.items()} == {
        "checkout": CheckoutIn,
        "register": RegisterIn,
    }
    assert apps_config(registry)["hooks"]["migrations"] == "hooks_models.migrations"
    assert registry.permissions["hooks.manage"].roles == ("manager",)
    assert registry.error_codes == {"HOOKS_VETO": "a test veto", "HOOKS_REFUSED": "a test refusal"}
    assert registry.owner("yutang_activities", "hooksact").obj is plugin.activity  # type: ignore[union-attr]
    assert registry.owner("yutang_fulfilment_methods", "hooksship").obj is plugin.method  # type: ignore[union-attr]
    assert registry.owner("yutang_reward_kinds", "hooksgift").obj is plugin.reward  # type: ignore[union-attr]
    with pytest.raises(KeyError):
        plugin.codes.error("HOOKS_UNDECLARED", "no")


@pytest.mark.parametrize(
    ("hook", "key"), [("yutang_fulfilment_methods", "method"), ("yutang_reward_kinds", "reward")]
)
def test_two_plugins_cannot_own_one_method_or_reward_kind(hook: str, key: str) -> None:
    registry = fresh(("first", HooksPlugin("first", **{key: "twin"})))
    with pytest.raises(ConfigError, match=f"'twin' of {hook} is registered by plugin 'first'"):
        registry.register("second", HooksPlugin("second", **{key: "twin"}))


def test_two_plugins_cannot_declare_one_error_code() -> None:
    registry = fresh(("hooks", HooksPlugin("hooks", codes={"HOOKS_Z_FULL": "full"})))
    with pytest.raises(ConfigError, match="declared by another plugin: HOOKS_Z_FULL"):
        registry.register("hooks_z", HooksPlugin("hooks_z", codes={"HOOKS_Z_FULL": "full"}))


@pytest.mark.parametrize("hook", REGISTERED)
def test_a_registration_hook_that_raises_is_a_config_error_naming_the_plugin(hook: str) -> None:
    registry = fresh()
    with pytest.raises(ConfigError, match="'hooks'"):
        registry.register("hooks", HooksPlugin("hooks", raising={hook: RuntimeError("boom")}))


async def test_a_plugin_refused_at_registration_runs_no_hook() -> None:
    registry = fresh(("first", HooksPlugin("first", method="twin")))
    refused = HooksPlugin("second", method="twin")
    with pytest.raises(ConfigError):
        registry.register("second", refused)
    await registry.plugin_set(["first"]).call("yutang_order_placed", event=None, tenant=None)
    assert refused.seen("yutang_order_placed") == []


@covers("yutang_add_hookspecs")
async def test_a_plugins_own_hook_is_answered_by_the_first_in_call_order(
    tenant: api.TenantInfo, plugins: Plugins
) -> None:
    hooks, zhooks = plugins
    assert await api.first_answer(tenant, "yutang_hooks_answer", tenant=tenant) is None
    hooks.answer = "hooks"
    assert await api.first_answer(tenant, "yutang_hooks_answer", tenant=tenant) == "hooks"
    zhooks.answer = "zhooks"  # registered last, called first
    assert await api.first_answer(tenant, "yutang_hooks_answer", tenant=tenant) == "zhooks"
    assert len(hooks.seen("yutang_hooks_answer")) == 2  # not asked once zhooks answered


@covers("yutang_settings_schema")
async def test_the_settings_schema_validates_the_tenants_settings(
    make_tenant: MakeTenant, plugins: Plugins, yutang_db: Runtime
) -> None:
    shop = await make_tenant("set", plugins=["hooks"], settings={"hooks": {"off": 123}})
    assert shop.setting("hooks", HooksSettings) == HooksSettings(off=123)
    with pytest.raises(ConfigError, match=r"settings\.hooks\.off: Expected `int`"):
        validate_settings(yutang_db.registry, "hooks", {"off": "many"}, "settings.hooks")
    with pytest.raises(ConfigError, match="unknown field `of`"):
        validate_settings(yutang_db.registry, "hooks", {"of": 1}, "settings.hooks")


@covers("yutang_input_schema")
async def test_the_input_schema_validates_checkout_extensions_naming_the_field(
    storefront: GraphQLClient, make_product: Make, plugins: Plugins
) -> None:
    hooks = plugins[0]
    sku = await sku_of(make_product)
    # GraphQL refuses what the input type cannot hold; the Struct, what it alone bounds
    mistyped = {"lines": [line(sku)], "extensions": {"hooks": {"note": 5}}}
    [error] = (await storefront.raw(QUOTE, {"input": mistyped}))["errors"]
    assert "at .extensions.hooks.note: String cannot represent" in error["message"]
    bad = {"lines": [line(sku)], "extensions": {"hooks": {"note": "x" * 21}}}
    refused = (await storefront(QUOTE, {"input": bad}))["quote"]
    assert errors(refused) == [("INVALID", "extensions.hooks.note")]
    assert hooks.seen("yutang_validate_checkout") == []
    good = {"lines": [line(sku)], "extensions": {"hooks": {"note": "gift wrap"}}}
    assert (await storefront(QUOTE, {"input": good}))["quote"]["errors"] == []
    [seen] = hooks.seen("yutang_validate_checkout")
    assert seen["checkout"].input("hooks") == CheckoutIn(note="gift wrap")
    assert seen["checkout"].input("zhooks") is None


@covers("yutang_graphql_storefront")
async def test_the_storefront_contribution_is_served_to_tenants_enabling_the_plugin(
    storefront: GraphQLClient, make_tenant: MakeTenant
) -> None:
    pings = await storefront("{ hooksPing zhooksPing }")
    assert pings == {"hooksPing": "hooks:shop", "zhooksPing": "zhooks:shop"}
    await make_tenant("bare")
    body = await storefront.as_(tenant="bare").raw("{ hooksPing }")
    assert "hooksPing" in body["errors"][0]["message"]
    twins = fresh(*((n, HooksPlugin(n, field="ping")) for n in ("one", "two")))
    with pytest.raises(ConfigError, match=r"Query\.ping, already added by 'two'"):
        build_schema("storefront", twins.plugin_set(["one", "two"]))


@covers("yutang_graphql_admin", "yutang_permissions")
async def test_the_admin_contribution_asks_for_the_declared_permission(
    admin: GraphQLClient, tenant: api.TenantInfo
) -> None:
    ping = {"hooksAdminPing": "staff:hooks.manage"}
    assert await admin("{ hooksAdminPing }") == ping
    _, manager = await create_staff(tenant, "manager", "manager")
    assert await admin.as_(manager)("{ hooksAdminPing }") == ping
    _, clerk = await create_staff(tenant, "clerk", "clerk")
    body = await admin.as_(clerk).raw("{ hooksAdminPing }")
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@covers("yutang_price_steps")
async def test_price_steps_run_by_stage_then_priority_then_plugin_name(
    make_tenant: MakeTenant, plugins: Plugins, http: httpx.AsyncClient, make_product: Make
) -> None:
    """Pluggy calls zhooks first; the order is nonetheless stage, priority, then name."""
    settings = {"hooks": {"off": 100}, "zhooks": {"off": 10}}
    shop = await make_tenant("steps", plugins=["hooks", "zhooks"], settings=settings)
    sku = await Sku.get(product_id=(await make_product("Tea", [(1000, 10)], on=shop)).id)
    client = GraphQLClient(http, "/graphql", "steps")
    body = {"lines": [line(to_global("Sku", sku.id))]}
    quote = (await client(QUOTE, {"input": body}))["quote"]["quote"]
    assert [(a["source"], a["label"]) for a in quote["adjustments"]] == [
        ("zhooks", "zhooks PROMOTION 10"),
        ("hooks", "hooks PROMOTION 50"),
        ("zhooks", "zhooks PROMOTION 50"),
        ("hooks", "hooks COUPON 1"),
    ]
    assert quote["total"]["amount"] == 1000 - 100 - 10 - 10 - 100


@covers("yutang_price_steps")
async def test_a_price_step_that_raises_refuses_the_quote_and_writes_no_order(
    me: GraphQLClient, make_product: Make, plugins: Plugins
) -> None:
    hooks = plugins[0]
    hooks.raising["step"] = hooks.codes.error("HOOKS_VETO", "no promotion", "lines[0]")
    sku = await sku_of(make_product)
    quote = (await me(QUOTE, {"input": {"lines": [line(sku)]}}))["quote"]
    assert errors(quote) == [("HOOKS_VETO", "lines[0]")] and quote["quote"] is None
    assert errors(await place(me, line(sku))) == [("HOOKS_VETO", "lines[0]")]
    await nothing_written(hooks, sku)


@covers("yutang_jobs")
async def test_a_job_runs_with_its_tenant_and_payload_and_is_retried_when_it_raises(
    tenant: api.TenantInfo, plugins: Plugins, worker: Worker, clock: FrozenClock
) -> None:
    hooks, _ = plugins
    hooks.raising["job"] = RuntimeError("busy")
    async with in_transaction():
        await api.schedule_job(tenant.id, "hooks.job", {"n": 1}, api.now())
    await worker.run_until_idle()
    job = await Job.get(name="hooks.job")
    assert (job.status, job.attempts, job.last_error) == ("pending", 1, "RuntimeError('busy')")
    del hooks.raising["job"]
    clock.advance(timedelta(seconds=2))
    await worker.run_until_idle()
    assert (await Job.get(id=job.id)).status == "done"
    ran = [(c["tenant"].id, c["payload"]) for c in hooks.seen("job")]
    assert ran == [(tenant.id, {"n": 1})] * 2


@covers("yutang_payment_providers", "activity.claim_payment")
@pytest.mark.parametrize("claimed", [True, False])
async def test_a_late_capture_is_claimed_by_the_activity_or_refunded_in_full(
    me: GraphQLClient,
    make_product: Make,
    plugins: Plugins,
    http: httpx.AsyncClient,
    worker: Worker,
    claimed: bool,
) -> None:
    hooks, zhooks = plugins
    hooks.capture, hooks.claim = False, claimed
    order, order_id = await placed(me, line(await sku_of(make_product), 1, ACT))
    started = await pay(me, order, "hookspay")
    assert started["order"]["status"] == "PENDING_PAYMENT"
    [created] = hooks.seen("payment.create")
    assert created == {"reference": started["clientData"]["reference"], "amount": 900}
    assert (await me(CANCEL, {"id": order}))["cancelOrder"]["errors"] == []
    body = json.dumps({"reference": created["reference"], "amount": 900}).encode()
    response = await http.post("/payments/shop/hookspay/callback", content=body)
    assert response.json() == {"status": "ok"}
    assert hooks.seen("payment.verify_callback") == [{"body": body}]
    asked = {"order_id": order_id, "payment_id": (await Payment.get()).id}
    assert hooks.seen("activity.claim_payment") == [asked]
    assert zhooks.seen("activity.claim_payment") == []
    await worker.run_until_idle()
    payment = await Payment.get()
    if claimed:
        assert (payment.status, payment.claimed_by) == ("captured", "plugin")
        assert hooks.seen("payment.refund") == []
    else:
        assert payment.status == "refunded"
        assert [c["amount"] for c in hooks.seen("payment.refund")] == [900]


@covers("yutang_payment_providers")
async def test_an_approved_refund_goes_back_through_the_provider_until_it_confirms(
    me: GraphQLClient,
    admin: GraphQLClient,
    make_product: Make,
    plugins: Plugins,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    hooks, _ = plugins
    order, _ = await placed(me, line(await sku_of(make_product), 2))
    assert (await pay(me, order, "hookspay"))["order"]["status"] == "PAID"
    hooks.refunded = False
    refund = await admin(REFUND, {"input": {"orderId": order, "idempotencyKey": "r"}})
    assert refund["refundOrder"]["errors"] == []
    await worker.run_until_idle()
    [asked] = hooks.seen("payment.refund")
    assert asked["amount"] == 2000 and asked["refund_ref"] == f"R{(await Refund.get()).id}"
    assert (await Refund.get()).status == "approved"
    hooks.refunded = True
    clock.advance(timedelta(seconds=30))
    await worker.run_until_idle()  # asked again after a minute, not at once
    assert (await Refund.get()).status == "approved"
    clock.advance(timedelta(seconds=31))
    await worker.run_until_idle()
    assert (await Refund.get()).status == "refunded" and len(hooks.seen("payment.refund")) == 2


@covers("yutang_verification_providers")
async def test_the_tenants_verification_provider_sends_the_code(
    make_tenant: MakeTenant, plugins: Plugins, http: httpx.AsyncClient
) -> None:
    hooks, zhooks = plugins
    core = {"register_requires_code": True, "verification_provider": "hookssms"}
    await make_tenant("codes", plugins=["hooks", "zhooks"], settings={"core": core})
    client = GraphQLClient(http, "/graphql", "codes")
    sent = await client(SEND_CODE, {"phone": "13800000001"})
    assert sent["requestVerificationCode"] == {"sent": True, "errors": []}
    [send] = hooks.seen("verification.send")
    assert (send["phone"], send["purpose"]) == ("13800000001", "register")
    assert zhooks.seen("verification.send") == []
    done = await client(REGISTER, {"phone": "13800000001", "code": send["code"]})
    assert done["register"]["errors"] == [] and done["register"]["token"]
    hooks.raising["verification.send"] = api.DomainError("HOOKS_REFUSED", "no sms", "phone")
    refused = await client(SEND_CODE, {"phone": "13800000002"})
    assert errors(refused["requestVerificationCode"]) == [("HOOKS_REFUSED", "phone")]


# --- in-transaction (may veto) -----------------------------------------------------------------


@covers("yutang_validate_checkout")
async def test_of_two_vetoes_the_first_in_call_order_is_reported(
    storefront: GraphQLClient, make_product: Make, plugins: Plugins
) -> None:
    hooks, zhooks = plugins
    sku = await sku_of(make_product)
    ok = (await storefront(QUOTE, {"input": {"lines": [line(sku, 2)]}}))["quote"]
    assert ok["errors"] == []
    lines = hooks.seen("yutang_validate_checkout")[0]["checkout"].lines
    assert [(ln.sku_id, ln.quantity) for ln in lines] == [(api.pk_of(sku, "Sku"), 2)]
    hooks.raising["yutang_validate_checkout"] = hooks.codes.error("HOOKS_VETO", "h", "lines[0]")
    zhooks.raising["yutang_validate_checkout"] = zhooks.codes.error(
        "ZHOOKS_VETO", "too many", "lines[0].quantity"
    )
    vetoed = (await storefront(QUOTE, {"input": {"lines": [line(sku, 2)]}}))["quote"]
    assert vetoed["errors"] == [
        {"code": "ZHOOKS_VETO", "field": "lines[0].quantity", "message": "too many"}
    ]
    assert len(hooks.seen("yutang_validate_checkout")) == 1  # not asked after the veto


IN_PLACE_ORDER = names(
    "yutang_validate_checkout yutang_reserve activity.resolve activity.reserve "
    "method.resolve method.reserve"
)


@covers(*IN_PLACE_ORDER)
@pytest.mark.parametrize("what", IN_PLACE_ORDER)
async def test_a_raise_in_place_order_rolls_everything_back(
    me: GraphQLClient, make_product: Make, plugins: Plugins, what: str
) -> None:
    hooks, _ = plugins
    hooks.raising[what] = hooks.codes.error("HOOKS_VETO", "refused", "lines[0].activity")
    sku = await sku_of(make_product)
    result = await place(me, line(sku, 2, ACT), fulfilment="hooksship")
    assert result["errors"] == [
        {"code": "HOOKS_VETO", "field": "lines[0].activity", "message": "refused"}
    ]
    assert len(hooks.seen(what)) == 1
    await nothing_written(hooks, sku)
    del hooks.raising[what]  # the key was not used up: the same request now places
    assert (await place(me, line(sku, 2, ACT), fulfilment="hooksship"))["errors"] == []


@covers("yutang_reserve", "activity.reserve", "method.reserve")
async def test_reserve_gets_what_its_own_steps_kept_after_the_owned_objects_reserved(
    me: GraphQLClient, make_product: Make, plugins: Plugins
) -> None:
    hooks, zhooks = plugins
    hooks.keep = {"earned": 5}
    _, order_id = await placed(me, line(await sku_of(make_product), 1, ACT), fulfilment="hooksship")
    assert hooks.seen("yutang_reserve") == [{"order_id": order_id, "state": {"earned": 5}}]
    assert zhooks.seen("yutang_reserve") == [{"order_id": order_id, "state": None}]
    reserving = [n for n in hooks.order() if n.endswith("reserve")]
    assert reserving == ["activity.reserve", "method.reserve", "yutang_reserve"]
    assert hooks.seen("activity.reserve")[0]["claim"] is hooks.claims[-1]
    assert hooks.seen("method.reserve")[0]["choice"] == hooks.choices[-1]


@covers("yutang_release", "activity.release", "method.release", "yutang_order_cancelled")
async def test_a_cancel_releases_through_every_part_even_after_the_plugin_was_disabled(
    me: GraphQLClient, tenant: api.TenantInfo, make_product: Make, plugins: Plugins, worker: Worker
) -> None:
    hooks, zhooks = plugins
    sku = await sku_of(make_product)
    order, order_id = await placed(me, line(sku, 2, ACT), line(sku), fulfilment="hooksship")
    await Tenant.filter(id=tenant.id).update(plugins=[], settings_version=F("settings_version") + 1)
    assert (await me(CANCEL, {"id": order}))["cancelOrder"]["order"] == {"status": "CANCELLED"}
    [released] = hooks.seen("yutang_release")
    assert released["reason"] == "cancelled" and released["order_id"] == order_id
    assert [(ln.quantity, ln.activity) for ln in released["lines"]] == [
        (2, api.ActivityRef("hooksact", "r1")),
        (1, None),
    ]
    [mine] = hooks.seen("activity.release")
    assert [ln.quantity for ln in mine["lines"]] == [2] and mine["reason"] == "cancelled"
    assert hooks.seen("method.release")[0]["lines"] == released["lines"]
    assert zhooks.seen("activity.release") == [] and zhooks.seen("method.release") == []
    assert len(zhooks.seen("yutang_release")) == 1  # took part too
    await worker.run_until_idle()
    [event] = hooks.seen("yutang_order_cancelled")
    assert (event["event"].order_id, event["event"].data) == (order_id, {"reason": "member"})


@covers("yutang_release", "activity.release", "method.release")
@pytest.mark.parametrize("what", ["yutang_release", "activity.release", "method.release"])
async def test_a_release_that_raises_rolls_the_cancel_back(
    me: GraphQLClient, make_product: Make, plugins: Plugins, what: str
) -> None:
    hooks, _ = plugins
    sku = await sku_of(make_product)
    order, order_id = await placed(me, line(sku, 2, ACT), fulfilment="hooksship")
    hooks.raising[what] = hooks.codes.error("HOOKS_REFUSED", "keep it", "orderId")
    assert errors((await me(CANCEL, {"id": order}))["cancelOrder"]) == [
        ("HOOKS_REFUSED", "orderId")
    ]
    assert (await Order.get(id=order_id)).status == "pending_payment"
    assert (await Sku.get(id=api.pk_of(sku, "Sku"))).stock == 8
    assert await Job.filter(name="hooks.job").count() == 0
    assert await Job.filter(name="event:yutang_order_cancelled").count() == 0


@covers("yutang_release", "yutang_order_refunded")
async def test_a_refund_releases_the_units_going_back_and_the_event_carries_them(
    me: GraphQLClient, admin: GraphQLClient, make_product: Make, plugins: Plugins, worker: Worker
) -> None:
    hooks, _ = plugins
    sku = await sku_of(make_product)
    order, order_id = await placed(me, line(sku, 2))
    await pay(me, order)
    [tea] = await OrderLine.filter(order_id=order_id)
    back = {
        "orderId": order,
        "idempotencyKey": "r1",
        "lines": [{"lineId": to_global("OrderLine", tea.id), "quantity": 1}],
    }
    assert (await admin(REFUND, {"input": back}))["refundOrder"]["errors"] == []
    [released] = hooks.seen("yutang_release")
    assert released["reason"] == "refunded"
    assert [(ln.line_id, ln.quantity) for ln in released["lines"]] == [(tea.id, 1)]
    assert hooks.seen("yutang_refund_policy") == []  # staff are not asked
    await worker.run_until_idle()
    [event] = hooks.seen("yutang_order_refunded")
    refund = await Refund.get()
    assert event["event"].data == {
        "refund_id": refund.id,
        "amount": 1000,
        "lines": [{"line_id": tea.id, "quantity": 1, "amount": 1000, "points": 0}],
        "full": False,
    }


@covers("yutang_refund_policy")
async def test_the_refund_policy_refuses_a_members_request_with_its_code(
    me: GraphQLClient, make_product: Make, plugins: Plugins
) -> None:
    hooks, zhooks = plugins
    order, order_id = await placed(me, line(await sku_of(make_product), 1, ACT))
    await pay(me, order)
    ask = {"orderId": order, "idempotencyKey": "q1", "reason": "late"}
    zhooks.raising["yutang_refund_policy"] = zhooks.codes.error(
        "ZHOOKS_REFUSED", "final", "orderId"
    )
    refused = (await me(REQUEST_REFUND, {"input": ask}))["requestRefund"]
    assert errors(refused) == [("ZHOOKS_REFUSED", "orderId")]
    assert await Refund.all().count() == 0 and await Job.filter(name="zhooks.job").count() == 0
    del zhooks.raising["yutang_refund_policy"]
    opened = (await me(REQUEST_REFUND, {"input": {**ask, "idempotencyKey": "q2"}}))["requestRefund"]
    assert opened == {"refund": {"status": "OPEN"}, "errors": []}
    [asked] = hooks.seen("yutang_refund_policy")
    assert asked["order_id"] == order_id and asked["reason"] == "late"
    assert [(ln.quantity, ln.activity) for ln in asked["lines"]] == [
        (1, api.ActivityRef("hooksact", "r1"))
    ]


@covers("yutang_accept_member", "yutang_member_registered", "yutang_member_referred")
async def test_accept_member_runs_in_the_registration_and_the_events_follow(
    storefront: GraphQLClient, plugins: Plugins, worker: Worker, member: tuple[Member, Any]
) -> None:
    hooks, zhooks = plugins
    referrer = to_global("Member", member[0].id)
    ext = {"hooks": {"invite": "abc"}}
    zhooks.raising["yutang_accept_member"] = zhooks.codes.error("ZHOOKS_REFUSED", "no", "phone")
    refused = await storefront(REGISTER, {"phone": "13800000009", "referrer": referrer, "ext": ext})
    assert errors(refused["register"]) == [("ZHOOKS_REFUSED", "phone")]
    assert refused["register"]["token"] is None
    assert not await Member.exists(phone="13800000009")
    assert await Job.filter(name__startswith="event:").count() == 0
    assert await Job.filter(name="zhooks.job").count() == 0
    del zhooks.raising["yutang_accept_member"]
    done = await storefront(REGISTER, {"phone": "13800000009", "referrer": referrer, "ext": ext})
    new_id = api.pk_of(done["register"]["member"]["id"], "Member")
    assert hooks.seen("yutang_accept_member")[-1] == {
        "member_id": new_id,
        "extensions": {"hooks": RegisterIn(invite="abc")},
    }
    assert hooks.seen("yutang_member_registered") == []  # after commit, from the worker
    await worker.run_until_idle()
    [registered] = hooks.seen("yutang_member_registered")
    assert registered["event"].member_id == new_id
    assert registered["event"].data == {"extensions": {"hooks": {"invite": "abc"}}}
    [referred] = zhooks.seen("yutang_member_referred")
    assert referred["event"].data == {"referrer_id": member[0].id}


@covers("reward.grant", "reward.revoke")
async def test_a_reward_goes_to_its_kinds_owner_in_the_callers_transaction(
    tenant: api.TenantInfo, make_tenant: MakeTenant, plugins: Plugins, member: tuple[Member, Any]
) -> None:
    hooks, zhooks = plugins
    member_id = member[0].id
    reward = api.Reward(kind="hooksgift", amount=3, reference="order:1")
    async with in_transaction():
        await api.grant_reward(tenant, member_id, reward)
        await api.revoke_reward(tenant, member_id, reward)
    assert hooks.order() == ["reward.grant", "reward.revoke"] and zhooks.order() == []
    assert hooks.seen("reward.grant") == [{"member_id": member_id, "reward": reward}]
    hooks.raising["reward.grant"] = hooks.codes.error("HOOKS_REFUSED", "no", None)
    with pytest.raises(api.DomainError, match="no"):
        async with in_transaction():
            await api.change_points(tenant, member_id, 7, "test", "before-grant")
            await api.grant_reward(tenant, member_id, reward)
    assert (await Member.get(id=member_id)).points == 10_000
    assert await Job.filter(name="hooks.job").count() == 0
    bare = await make_tenant("bare")
    with pytest.raises(api.DomainError) as missing:
        await api.grant_reward(bare, member_id, reward)
    assert missing.value.code == "NO_REWARD_PROVIDER"
    await api.revoke_reward(bare, member_id, reward)  # nothing to take back
    assert len(hooks.seen("reward.revoke")) == 1


# --- line activity -------------------------------------------------------------------------


@covers("activity.resolve", "activity.price", "activity.payment_deadline")
async def test_an_activity_resolves_only_its_lines_and_its_claim_travels(
    me: GraphQLClient, make_product: Make, plugins: Plugins, clock: FrozenClock
) -> None:
    hooks, zhooks = plugins
    hooks.deadline = timedelta(minutes=5)
    plain, sale = await sku_of(make_product), await sku_of(make_product)
    body = {"lines": [line(plain), line(sale, 1, ACT)]}
    quote = (await me(QUOTE, {"input": body}))["quote"]["quote"]
    assert [ln["unitPrice"]["amount"] for ln in quote["lines"]] == [1000, 900]
    [resolved] = hooks.seen("activity.resolve")
    assert [ln.index for ln in resolved["lines"]] == [1]
    assert hooks.seen("activity.price")[0]["claim"] is hooks.claims[0]
    assert zhooks.seen("activity.resolve") == []
    _, order_id = await placed(me, *body["lines"])
    assert hooks.seen("activity.payment_deadline")[0]["claim"] is hooks.claims[-1]
    assert (await Order.get(id=order_id)).payment_deadline == clock() + timedelta(minutes=5)
    hooks.deadline = timedelta(hours=2)  # later than the core's 30 minutes: not taken
    _, later = await placed(me, *body["lines"], idempotencyKey="k2")
    assert (await Order.get(id=later)).payment_deadline == clock() + timedelta(minutes=30)


@covers("activity.admit")
async def test_admit_refuses_an_order_before_its_transaction(
    me: GraphQLClient, make_product: Make, plugins: Plugins
) -> None:
    hooks, _ = plugins
    sku = await sku_of(make_product)
    hooks.raising["activity.admit"] = hooks.codes.error("HOOKS_VETO", "sold out", "lines[1]")
    result = await place(me, line(sku), line(sku, 3, ACT))
    assert errors(result) == [("HOOKS_VETO", "lines[1]")]
    [admitted] = hooks.seen("activity.admit")
    assert list(admitted["lines"]) == [1] and admitted["lines"][1].quantity == 3
    assert hooks.seen("activity.resolve") == []  # no transaction was opened
    await nothing_written(hooks, sku)


@covers("activity.accept_payment", "method.paid")
@pytest.mark.parametrize("what", [None, "activity.accept_payment", "method.paid"])
async def test_accept_payment_and_paid_run_in_the_payments_transaction(
    me: GraphQLClient, make_product: Make, plugins: Plugins, what: str | None, clock: FrozenClock
) -> None:
    hooks, zhooks = plugins
    order, order_id = await placed(
        me, line(await sku_of(make_product), 1, ACT), fulfilment="hooksship"
    )
    if what is None:
        assert (await pay(me, order))["order"] == {"status": "PAID"}
        assert hooks.seen("activity.accept_payment") == [{"order_id": order_id, "paid_at": clock()}]
        assert hooks.seen("method.paid") == [{"order_id": order_id}]
        assert zhooks.seen("activity.accept_payment") == zhooks.seen("method.paid") == []
        return
    hooks.raising[what] = hooks.codes.error("HOOKS_REFUSED", "not now", "orderId")
    assert errors(await pay(me, order)) == [("HOOKS_REFUSED", "orderId")]
    assert (await Order.get(id=order_id)).status == "pending_payment"
    assert (await Payment.get()).status == "pending"
    assert await Job.filter(name="event:yutang_order_paid").count() == 0
    assert await Job.filter(name="hooks.job").count() == 0


@covers("activity.hold", "method.hold")
async def test_the_activitys_and_the_methods_holds_refuse_fulfilment(
    me: GraphQLClient,
    admin: GraphQLClient,
    tenant: api.TenantInfo,
    make_product: Make,
    plugins: Plugins,
) -> None:
    hooks, zhooks = plugins
    order, order_id = await placed(
        me, line(await sku_of(make_product), 1, ACT), fulfilment="hooksship"
    )
    await pay(me, order)
    hooks.activity_hold, hooks.method_hold = "team not full", "at the locker"
    held = (await admin(FULFIL, {"id": order}))["fulfilOrder"]
    assert held["errors"] == [
        {"code": "FULFILMENT_HELD", "field": "orderId", "message": "team not full; at the locker"}
    ]
    assert hooks.seen("activity.hold") == hooks.seen("method.hold") == [{"order_id": order_id}]
    assert zhooks.seen("activity.hold") == zhooks.seen("method.hold") == []
    hooks.activity_hold = None
    with pytest.raises(api.DomainError, match=r"^at the locker$"):
        await api.fulfil_order(tenant, order_id)
    await api.fulfil_order(tenant, order_id, by=hooks.method)  # its own hold does not apply
    assert (await Order.get(id=order_id)).status == "fulfilled"
    assert len(hooks.seen("method.hold")) == 2


# --- fulfilment method -------------------------------------------------------------------------


@covers("method.resolve", "method.fee", "method.needs_address", "method.store_of")
async def test_the_chosen_method_resolves_charges_its_fee_and_decides_on_the_address(
    me: GraphQLClient, make_product: Make, plugins: Plugins
) -> None:
    hooks, zhooks = plugins
    hooks.fee = 300
    sku = await sku_of(make_product)
    body = {"lines": [line(sku)], "fulfilment": "hooksship"}
    quote = (await me(QUOTE, {"input": body}))["quote"]["quote"]
    assert quote["fees"]["amount"] == 300 and quote["total"]["amount"] == 1300
    assert [(a["source"], a["kind"]) for a in quote["adjustments"]] == [("hooks", "fee:hooks")]
    assert hooks.seen("method.fee") == [{"choice": hooks.choices[0]}]
    assert zhooks.seen("method.resolve") == []
    hooks.needs_address = True
    assert errors(await place(me, line(sku), fulfilment="hooksship")) == [
        ("ADDRESS_REQUIRED", "address")
    ]
    assert hooks.seen("method.needs_address")[-1] == {"choice": hooks.choices[-1]}
    hooks.needs_address = False
    _, order_id = await placed(me, line(sku), fulfilment="hooksship")
    order = await Order.get(id=order_id)
    assert (order.fulfilment, order.address, order.fees) == ("hooksship", None, 300)
    assert order.store_id is None  # the shop's own order
    store = await Store.create(tenant_id=order.tenant_id, name="东门店")
    hooks.store = store.id
    _, order_id = await placed(me, line(sku), fulfilment="hooksship", idempotencyKey="k2")
    assert (await Order.get(id=order_id)).store_id == store.id  # its staff act on it
    assert hooks.seen("method.store_of")[-1] == {"choice": hooks.choices[-1]}


# --- query ---------------------------------------------------------------------------------

PRODUCTS = "{ products(first: 5) { edges { node { name } } } }"


@covers("yutang_next_price_change")
async def test_a_cached_response_ends_at_the_earliest_next_price_change(
    yutang_db: Runtime, tenant: api.TenantInfo, plugins: Plugins, clock: FrozenClock
) -> None:
    hooks, zhooks = plugins
    hooks.next_change = clock() + timedelta(seconds=50)
    zhooks.next_change = clock() + timedelta(seconds=20)
    app = app_with(yutang_db, response_cache=True, response_cache_ttl=86400.0)
    try:
        async with client_of(app) as http:

            async def hit() -> bool:
                response = await http.get(
                    "/graphql", params={"query": PRODUCTS}, headers={"X-Tenant": "shop"}
                )
                assert response.status_code == 200, response.text
                return response.headers.get("x-yutang-cache") == "hit"

            assert not await hit()
            assert [c["now"] for c in hooks.seen("yutang_next_price_change")] == [clock()]
            assert hooks.seen("yutang_next_price_change")[0]["tenant"].id == tenant.id
            clock.advance(timedelta(seconds=19, milliseconds=999))
            assert await hit()
            clock.advance(timedelta(milliseconds=1))
            assert not await hit()
            zhooks.raising["yutang_next_price_change"] = RuntimeError("no schedule")
            clock.advance(timedelta(seconds=60))
            failed = await http.get(
                "/graphql", params={"query": PRODUCTS}, headers={"X-Tenant": "shop"}
            )
            assert failed.status_code == 500 and "no schedule" in failed.text  # a bug's answer
            del zhooks.raising["yutang_next_price_change"]
            assert not await hit()  # nothing was cached by the failed request
    finally:
        await app.state.response_cache.aclose()


# --- set-up ----------------------------------------------------------------------------------


@covers("yutang_demo_data")
async def test_the_demo_hands_each_plugin_the_catalogue_and_logs_what_it_made(
    yutang_db: Runtime, make_tenant: MakeTenant, plugins: Plugins, clock: FrozenClock
) -> None:
    hooks, _ = plugins
    await make_tenant("demo", plugins=["hooks", "zhooks"])
    said: list[str] = []
    await load_demo(yutang_db, "demo", said.append)
    [call] = hooks.seen("yutang_demo_data")
    shop: api.DemoShop = call["shop"]
    assert call["tenant"].slug == "demo" and shop.now == clock()
    assert shop.plugins == ("hooks", "zhooks") and len(shop.store_ids) == 1
    assert len(shop.skus) == await Sku.all().count()
    # Each plugin has a product of its own, and says what it made.
    mine, theirs = shop.skus_for("hooks"), shop.skus_for("zhooks")
    assert {s.product_id for s in mine}.isdisjoint({s.product_id for s in theirs})
    assert f"hooks: {len(mine)} SKU(s) of its own" in said
    assert f"zhooks: {len(theirs)} SKU(s) of its own" in said
    # Loaded once: a second start leaves the demo as it is.
    await load_demo(yutang_db, "demo", said.append)
    assert len(hooks.seen("yutang_demo_data")) == 1


# --- payment plans ---------------------------------------------------------------------------

PLAN_QUOTE = """query($input: CheckoutInput!) { quote(input: $input) {
  quote { total { amount } instalments { label amount { amount } opensAt dueAt } }
  errors { code field message } } }"""
ORDER_PLAN = """query($id: ID!) { order(id: $id) { status paidAmount { amount } paymentDeadline
  instalments { position label amount { amount } status paidAt } } }"""
PLAN_EVENTS = names("yutang_instalment_paid yutang_instalment_opened yutang_order_forfeited")


async def paid_deposit(me: GraphQLClient, sku: str, plugins: Plugins) -> tuple[str, int]:
    """An order of 2 units at 900 (1800) whose activity asks 200 now, the rest in a day."""
    plugins[0].deposit = 200
    order, order_id = await placed(me, line(sku, 2, ACT))
    paid = await pay(me, order, "hookspay")
    assert paid["order"] and paid["order"]["status"] == "DEPOSIT_PAID", paid
    return order, order_id


@covers("activity.payment_plan", "yutang_instalment_paid", "yutang_instalment_opened")
async def test_a_payment_plan_is_quoted_paid_in_its_windows_and_refunded_per_payment(
    me: GraphQLClient,
    admin: GraphQLClient,
    member: tuple[Member, Any],
    make_product: Make,
    plugins: Plugins,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    hooks, zhooks = plugins
    hooks.deposit = 200
    sku = await sku_of(make_product)
    quoted = await me(PLAN_QUOTE, {"input": {"lines": [line(sku, 2, ACT)]}})
    [deposit, balance] = quoted["quote"]["quote"]["instalments"]
    assert hooks.seen("activity.payment_plan") == [{"claim": [0], "total": 1800}]
    assert (deposit["amount"]["amount"], deposit["opensAt"], deposit["dueAt"]) == (200, None, None)
    assert balance["amount"]["amount"] == 1600
    assert balance["opensAt"] == (clock() + timedelta(days=1)).isoformat()

    order, order_id = await paid_deposit(me, sku, plugins)
    assert [c["amount"] for c in hooks.seen("payment.create")] == [200]
    assert (await Sku.get(id=api.pk_of(sku, "Sku"))).stock == 8  # stock taken once, for the plan
    early = await pay(me, order, "dev")
    assert errors(early) == [("INSTALMENT_NOT_OPEN", "orderId")]
    await worker.run_until_idle()
    [event] = hooks.seen("yutang_instalment_paid")
    assert event["event"].data["amount"] == 200 and event["event"].data["next"]["amount"] == 1600
    assert hooks.seen("activity.accept_payment") == [] and hooks.seen("yutang_order_paid") == []

    clock.advance(timedelta(days=1, minutes=1))
    await worker.run_until_idle()
    [opened] = hooks.seen("yutang_instalment_opened")
    assert opened["event"].order_id == order_id and opened["event"].data["position"] == 1
    assert len(zhooks.seen("yutang_instalment_opened")) == 1
    assert (await pay(me, order, "dev"))["order"]["status"] == "PAID"
    got = (await me(ORDER_PLAN, {"id": order}))["order"]
    assert got["paidAmount"]["amount"] == 1800
    assert [(i["amount"]["amount"], i["status"]) for i in got["instalments"]] == [
        (200, "PAID"),
        (1600, "PAID"),
    ]
    assert (await Member.get(id=member[0].id)).paid_spend == 1800
    await worker.run_until_idle()
    assert [c["event"].data for c in hooks.seen("yutang_order_paid")] == [{"amount": 1800}]
    assert len(hooks.seen("activity.accept_payment")) == 1

    refunded = await admin(REFUND, {"input": {"orderId": order, "idempotencyKey": "r"}})
    assert refunded["refundOrder"]["refund"]["amount"]["amount"] == 1800
    await worker.run_until_idle()
    refund = await Refund.get()
    assert [p["amount"] for p in refund.parts] == [1600, 200]  # the latest payment first
    [deposit_back] = hooks.seen("payment.refund")  # the balance went back through dev
    assert (deposit_back["amount"], deposit_back["refund_ref"]) == (200, f"R{refund.id}-1")
    assert refund.status == "refunded"


@covers("yutang_order_forfeited")
async def test_an_instalment_unpaid_in_its_window_forfeits_the_order_and_keeps_the_deposit(
    me: GraphQLClient,
    admin: GraphQLClient,
    make_product: Make,
    plugins: Plugins,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    hooks, _ = plugins
    sku = await sku_of(make_product)
    order, order_id = await paid_deposit(me, sku, plugins)
    refund_all = {"input": {"orderId": order, "idempotencyKey": "m"}}
    partly = {
        "input": {
            "orderId": order,
            "idempotencyKey": "p",
            "lines": [
                {"lineId": to_global("OrderLine", (await OrderLine.get()).id), "quantity": 1}
            ],
        }
    }
    assert errors((await admin(REFUND, partly))["refundOrder"]) == [("INVALID", "lines")]
    clock.advance(timedelta(days=2, minutes=1))
    await worker.run_until_idle()
    got = (await me(ORDER_PLAN, {"id": order}))["order"]
    assert got["status"] == "FORFEITED" and got["paidAmount"]["amount"] == 200
    assert [i["status"] for i in got["instalments"]] == ["PAID", "FORFEITED"]
    assert (await Sku.get(id=api.pk_of(sku, "Sku"))).stock == 10
    [released] = hooks.seen("activity.release")
    assert released["reason"] == "forfeited" and released["order_id"] == order_id
    [event] = hooks.seen("yutang_order_forfeited")
    assert event["event"].data == {"kept": 200}
    assert errors(await pay(me, order, "dev")) == [("ILLEGAL_TRANSITION", "orderId")]
    refunded = await admin(REFUND, refund_all)
    assert refunded["refundOrder"]["refund"]["amount"]["amount"] == 200
    assert (await Order.get(id=order_id)).status == "refunded"
    assert len(hooks.seen("activity.release")) == 1  # the forfeit already gave the stock back
    await worker.run_until_idle()
    assert [c["amount"] for c in hooks.seen("payment.refund")] == [200]


async def test_each_instalment_has_one_open_payment_attempt_at_a_time(
    me: GraphQLClient, make_product: Make, plugins: Plugins, http: httpx.AsyncClient
) -> None:
    hooks, _ = plugins
    hooks.deposit, hooks.capture = 200, False
    order, order_id = await placed(me, line(await sku_of(make_product), 2, ACT))
    first = await pay(me, order, "hookspay")
    again = await me(PAY, {"id": order, "key": "again", "provider": "hookspay"})
    assert again["payOrder"]["clientData"] == first["clientData"]  # the open attempt back
    [deposit] = await Payment.filter(order_id=order_id)
    assert (deposit.instalment, deposit.amount, deposit.status) == (0, 200, "pending")
    body = json.dumps({"reference": deposit.reference, "amount": 200}).encode()
    assert (await http.post("/payments/shop/hookspay/callback", content=body)).status_code == 200
    assert (await Order.get(id=order_id)).status == "deposit_paid"
    assert errors(await pay(me, order, "dev")) == [("INSTALMENT_NOT_OPEN", "orderId")]
    assert await Payment.filter(order_id=order_id).count() == 1


async def test_a_plan_of_three_is_paid_part_by_part_and_refunded_latest_first(
    me: GraphQLClient,
    admin: GraphQLClient,
    make_product: Make,
    plugins: Plugins,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    plugins[0].middle = 300
    order, order_id = await paid_deposit(me, await sku_of(make_product), plugins)
    clock.advance(timedelta(days=1, minutes=1))
    middle = (await me(PAY, {"id": order, "key": "middle", "provider": "dev"}))["payOrder"]
    assert middle["order"]["status"] == "DEPOSIT_PAID", middle
    got = (await me(ORDER_PLAN, {"id": order}))["order"]
    assert got["paidAmount"]["amount"] == 500
    assert got["paymentDeadline"] == (clock() + timedelta(days=2, minutes=-1)).isoformat()
    assert [i["status"] for i in got["instalments"]] == ["PAID", "PAID", "PENDING"]
    clock.advance(timedelta(days=1, minutes=1))
    last = (await me(PAY, {"id": order, "key": "last", "provider": "dev"}))["payOrder"]
    assert last["order"]["status"] == "PAID"
    assert (await Order.get(id=order_id)).paid_amount == 1800
    await admin(REFUND, {"input": {"orderId": order, "idempotencyKey": "r"}})
    assert [p["amount"] for p in (await Refund.get()).parts] == [1300, 300, 200]


async def test_a_forfeited_order_refunded_later_returns_its_points_once_and_only_the_deposit(
    me: GraphQLClient,
    admin: GraphQLClient,
    member: tuple[Member, Any],
    make_product: Make,
    plugins: Plugins,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    plugins[0].deposit = 200
    order, order_id = await placed(me, line(await sku_of(make_product), 2, ACT), usePoints=100)
    assert (await Order.get(id=order_id)).points_used == 100
    assert (await Member.get(id=member[0].id)).points == 9_900
    assert (await pay(me, order, "dev"))["order"]["status"] == "DEPOSIT_PAID"
    clock.advance(timedelta(days=2, minutes=1))
    await worker.run_until_idle()
    assert (await Order.get(id=order_id)).status == "forfeited"
    assert (await Member.get(id=member[0].id)).points == 10_000
    refunded = await admin(REFUND, {"input": {"orderId": order, "idempotencyKey": "r"}})
    assert refunded["refundOrder"]["refund"]["amount"]["amount"] == 200
    assert (await Member.get(id=member[0].id)).points == 10_000
    assert sum(ln.refunded_amount for ln in await OrderLine.filter(order_id=order_id)) == 200


async def test_a_balance_confirmed_after_the_forfeit_is_refunded_in_full(
    me: GraphQLClient,
    make_product: Make,
    plugins: Plugins,
    http: httpx.AsyncClient,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    hooks, _ = plugins
    order, order_id = await paid_deposit(me, await sku_of(make_product), plugins)
    clock.advance(timedelta(days=1, minutes=1))
    hooks.capture = False
    started = await me(PAY, {"id": order, "key": "balance", "provider": "hookspay"})
    assert started["payOrder"]["order"]["status"] == "DEPOSIT_PAID"
    clock.advance(timedelta(days=1))
    await worker.run_until_idle()
    assert (await Order.get(id=order_id)).status == "forfeited"
    balance = await Payment.get(order_id=order_id, instalment=1)
    body = json.dumps({"reference": balance.reference, "amount": 1600}).encode()
    assert (await http.post("/payments/shop/hookspay/callback", content=body)).status_code == 200
    await worker.run_until_idle()
    balance = await Payment.get(id=balance.id)
    assert (balance.status, balance.claimed_by) == ("refunded", "core")
    assert [c["amount"] for c in hooks.seen("payment.refund")] == [1600]
    order_row = await Order.get(id=order_id)
    assert (order_row.status, order_row.paid_amount) == ("forfeited", 200)


async def test_a_plugin_refund_may_insist_on_the_orders_status(
    me: GraphQLClient, tenant: api.TenantInfo, make_product: Make, plugins: Plugins
) -> None:
    order, order_id = await placed(me, line(await sku_of(make_product), 2))
    assert (await pay(me, order, "dev"))["order"]["status"] == "PAID"
    with pytest.raises(api.DomainError) as refused:
        await api.refund_order(
            tenant, order_id, actor="plugin:hooks", idempotency_key="k", if_status=("deposit_paid",)
        )
    assert (refused.value.code, refused.value.field) == ("ILLEGAL_TRANSITION", "orderId")
    assert await Refund.all().count() == 0


async def test_a_plan_whose_deposit_goes_unpaid_is_cancelled_like_any_order(
    me: GraphQLClient, make_product: Make, plugins: Plugins, worker: Worker, clock: FrozenClock
) -> None:
    plugins[0].deposit = 200
    sku = await sku_of(make_product)
    order, _ = await placed(me, line(sku, 2, ACT))
    clock.advance(timedelta(hours=1))
    await worker.run_until_idle()
    got = (await me(ORDER_PLAN, {"id": order}))["order"]
    assert got["status"] == "CANCELLED"
    assert [i["status"] for i in got["instalments"]] == ["CANCELLED", "CANCELLED"]
    assert (await Sku.get(id=api.pk_of(sku, "Sku"))).stock == 10


@pytest.mark.parametrize(
    ("deposit", "window", "problem"),
    [
        (0, (1, 2), "does not split the total"),
        (1800, (1, 2), "does not split the total"),
        (-5, (1, 2), "does not split the total"),
        (200, (2, 1), "leaves a later instalment without a window"),
    ],
)
async def test_a_plan_that_breaks_the_rules_is_the_plugins_bug(
    me: GraphQLClient,
    make_product: Make,
    plugins: Plugins,
    deposit: int,
    window: tuple[int, int],
    problem: str,
) -> None:
    plugins[0].deposit = deposit
    plugins[0].balance_window = (timedelta(days=window[0]), timedelta(days=window[1]))
    sku = await sku_of(make_product)
    with pytest.raises(AssertionError, match=f"activity 'hooksact': the payment plan {problem}"):
        await me(PLAN_QUOTE, {"input": {"lines": [line(sku, 2, ACT)]}})


async def test_a_plan_whose_second_window_closes_before_the_deposit_is_due_is_refused(
    me: GraphQLClient, make_product: Make, plugins: Plugins
) -> None:
    plugins[0].deposit = 200
    plugins[0].balance_window = (timedelta(minutes=1), timedelta(minutes=10))
    sku = await sku_of(make_product)
    with pytest.raises(AssertionError, match="second window closes before the first is due"):
        await place(me, line(sku, 2, ACT))
    assert await Order.all().count() == 0


# --- events after commit -------------------------------------------------------------------

ORDER_EVENTS = names(
    "yutang_order_placed yutang_order_paid yutang_order_fulfilled "
    "yutang_order_completed yutang_after_sale_closed"
)


@covers(*ORDER_EVENTS)
async def test_order_events_reach_each_plugin_once_after_commit(
    me: GraphQLClient,
    admin: GraphQLClient,
    member: tuple[Member, Any],
    tenant: api.TenantInfo,
    make_product: Make,
    plugins: Plugins,
    worker: Worker,
    clock: FrozenClock,
) -> None:
    hooks = plugins[0]
    order, order_id = await placed(me, line(await sku_of(make_product)), fulfilment="hooksship")
    await pay(me, order)
    assert (await admin(FULFIL, {"id": order}))["fulfilOrder"]["errors"] == []
    assert (await me(CONFIRM, {"id": order}))["confirmReceipt"]["errors"] == []
    assert [n for n in hooks.order() if n in ORDER_EVENTS] == []  # nothing before the worker
    clock.advance(timedelta(days=8))
    await worker.run_until_idle()
    for plugin in plugins:
        delivered = [(n, kw["event"]) for n, kw in plugin.calls if n in ORDER_EVENTS]
        assert [n for n, _ in delivered] == ORDER_EVENTS
        for name, event in delivered:
            assert (event.name, event.order_id, event.member_id) == (name, order_id, member[0].id)
            assert event.tenant_id == tenant.id
        assert delivered[1][1].data == {"amount": 1000}
    ids = [kw["event"].id for p in plugins for n, kw in p.calls if n in ORDER_EVENTS]
    assert len(set(ids)) == 10  # one delivery per recipient
    await worker.run_until_idle()
    assert len([n for n in hooks.order() if n in ORDER_EVENTS]) == 5


@covers("yutang_order_placed")
async def test_a_raising_handler_is_retried_alone(
    me: GraphQLClient, make_product: Make, plugins: Plugins, worker: Worker, clock: FrozenClock
) -> None:
    hooks, zhooks = plugins
    hooks.raising["yutang_order_placed"] = RuntimeError("down")
    await placed(me, line(await sku_of(make_product)))
    await worker.run_until_idle()
    assert len(zhooks.seen("yutang_order_placed")) == 1
    assert len(hooks.seen("yutang_order_placed")) == 1
    jobs = await Job.filter(name="event:yutang_order_placed")
    [failed] = [j for j in jobs if j.plugins == ["hooks"]]
    assert (failed.status, failed.attempts) == ("pending", 1)
    del hooks.raising["yutang_order_placed"]
    clock.advance(timedelta(seconds=2))
    await worker.run_until_idle()
    first, second = hooks.seen("yutang_order_placed")
    assert first["event"].id == second["event"].id == failed.id  # the same delivery again
    assert len(zhooks.seen("yutang_order_placed")) == 1  # not re-run
    assert (await Job.get(id=failed.id)).status == "done"
