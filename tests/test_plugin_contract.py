"""Permissions and error codes plugins declare: namespaced by the plugin, checked when the
plugin is registered, and enforced when a resolver asks for a permission or a plugin raises
one of its codes. Seckill's admin fields use declared permissions."""

from __future__ import annotations

from types import ModuleType

import msgspec
import pytest
import pytest_asyncio

from yutang import api
from yutang.core.contract import TenantInfo
from yutang.core.errors import ConfigError
from yutang.core.permissions import Grants, check
from yutang.core.plugins import PluginRegistry, PluginSet
from yutang.testing import GraphQLClient, create_staff


def plugin(
    permissions: list[api.Permission] | None = None, codes: api.ErrorCodes | None = None
) -> ModuleType:
    """A plugin module declaring ``permissions`` and ``codes``."""
    module = ModuleType("declaring_plugin")

    @api.hookimpl
    def yutang_permissions() -> list[api.Permission] | None:
        return permissions

    @api.hookimpl
    def yutang_error_codes() -> api.ErrorCodes | None:
        return codes

    module.yutang_permissions = yutang_permissions  # type: ignore[attr-defined]
    module.yutang_error_codes = yutang_error_codes  # type: ignore[attr-defined]
    return module


def test_declarations_are_recorded_per_plugin_and_for_the_process() -> None:
    registry = PluginRegistry()
    view = api.Permission("bargain.view", "see bargains", ("clerk",))
    codes = api.ErrorCodes("bargain", {"BARGAIN_ALREADY_HELPED": "one cut per friend"})
    registry.register("bargain", plugin([view], codes))
    assert registry.plugins["bargain"].permissions == (view,)
    assert registry.plugins["bargain"].error_codes == {
        "BARGAIN_ALREADY_HELPED": "one cut per friend"
    }
    assert registry.permissions == {"bargain.view": view}
    assert registry.error_codes == {"BARGAIN_ALREADY_HELPED": "one cut per friend"}


@pytest.mark.parametrize(
    ("permissions", "reason"),
    [
        ([api.Permission("seckill.view", "not ours")], "must look like bargain.what"),
        ([api.Permission("bargain", "no what")], "must look like bargain.what"),
        ([api.Permission("bargain.View", "upper case")], "must look like bargain.what"),
        ([api.Permission("bargain.view", "x", ("cashier",))], "unknown roles cashier"),
        ([api.Permission("bargain.view", "x"), api.Permission("bargain.view", "y")], "twice"),
    ],
)
def test_a_bad_permission_stops_registration(
    permissions: list[api.Permission], reason: str
) -> None:
    with pytest.raises(ConfigError, match=reason):
        PluginRegistry().register("bargain", plugin(permissions))


def test_error_codes_stay_in_the_plugins_namespace() -> None:
    with pytest.raises(ConfigError, match="must look like BARGAIN_WHAT"):
        api.ErrorCodes("bargain", {"SOLD_OUT": "a core-looking code"})
    with pytest.raises(ConfigError, match="must look like BARGAIN_WHAT"):
        api.ErrorCodes("bargain", {"BARGAIN_": "nothing after the prefix"})
    with pytest.raises(ConfigError, match="needs a meaning"):
        api.ErrorCodes("bargain", {"BARGAIN_EXPIRED": " "})
    borrowed = api.ErrorCodes("seckill", {"SECKILL_SOLD_OUT": "sold out"})
    with pytest.raises(ConfigError, match=r"must return ErrorCodes\('bargain'"):
        PluginRegistry().register("bargain", plugin(codes=borrowed))


def test_a_code_is_declared_by_one_plugin_only() -> None:
    registry = PluginRegistry()
    registry.register("bar", plugin(codes=api.ErrorCodes("bar", {"BAR_BAZ_FULL": "full"})))
    clash = api.ErrorCodes("bar_baz", {"BAR_BAZ_FULL": "full too"})
    with pytest.raises(ConfigError, match="declared by another plugin: BAR_BAZ_FULL"):
        registry.register("bar_baz", plugin(codes=clash))


def test_only_declared_codes_can_be_raised() -> None:
    codes = api.ErrorCodes("bargain", {"BARGAIN_EXPIRED": "the bargain ran out of time"})
    err = codes.error("BARGAIN_EXPIRED", "this bargain has expired", "bargainId")
    assert (err.code, err.message, err.field) == (
        "BARGAIN_EXPIRED",
        "this bargain has expired",
        "bargainId",
    )
    with pytest.raises(KeyError, match="did not declare the error code 'BARGAIN_TYPO'"):
        codes.error("BARGAIN_TYPO", "oops")


# --- seckill's admin fields require its declared permissions --------------------------------

ACTIVITIES = "{ seckillActivities { edges { node { id } } } }"
STOP = """mutation($id: ID!) {
  stopSeckillActivity(id: $id) { activity { id } errors { code field message } } }"""


@pytest_asyncio.fixture
async def tenant(make_tenant) -> TenantInfo:  # type: ignore[no-untyped-def]
    return await make_tenant("shop", plugins=["seckill"])


def test_seckill_declares_its_permissions(yutang_runtime) -> None:  # type: ignore[no-untyped-def]
    declared = yutang_runtime.registry.plugins["seckill"].permissions
    assert {p.name: p.roles for p in declared} == {
        "seckill.view": ("clerk", "manager"),
        "seckill.manage": ("manager",),
    }


@pytest.mark.parametrize(
    ("role", "stop_error"),
    [("owner", "NOT_FOUND"), ("manager", "NOT_FOUND"), ("clerk", "FORBIDDEN")],
)
async def test_staff_roles_get_what_seckill_grants_them(
    admin: GraphQLClient, tenant: TenantInfo, role: str, stop_error: str
) -> None:
    _, token = await create_staff(tenant, f"{role}-1", role)
    caller = admin.as_(token)
    assert (await caller.raw(ACTIVITIES)).get("errors") is None
    gone = api.to_global("SeckillActivity", 999_999)
    payload = (await caller(STOP, {"id": gone}))["stopSeckillActivity"]
    assert [e["code"] for e in payload["errors"]] == [stop_error]


async def test_members_and_strangers_are_not_staff(
    admin: GraphQLClient, member: tuple[object, GraphQLClient]
) -> None:
    gone = api.to_global("SeckillActivity", 999_999)
    for caller in (admin.as_(None), admin.as_(member[1].token)):
        payload = (await caller(STOP, {"id": gone}))["stopSeckillActivity"]
        assert [e["code"] for e in payload["errors"]] == ["UNAUTHENTICATED"]


async def test_an_inactive_clerks_token_stands_for_no_one(
    admin: GraphQLClient, tenant: TenantInfo
) -> None:
    row, token = await create_staff(tenant, "left", "clerk")
    row.active = False
    await row.save()
    body = await admin.as_(token).raw(ACTIVITIES)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_an_undeclared_permission_is_a_bug_not_a_pass() -> None:
    operator = Grants("operator", True, frozenset(), None)
    with pytest.raises(LookupError, match=r"nothing declares the permission 'seckill\.nuke'"):
        check({}, operator, "seckill.nuke")


def test_registration_hooks_may_take_a_subset_of_their_arguments() -> None:
    """As pluggy allows: an input schema for every operation, declared without one."""

    class Input(msgspec.Struct):
        code: str

    module = ModuleType("argless_plugin")

    @api.hookimpl
    def yutang_input_schema() -> type:
        return Input

    module.yutang_input_schema = yutang_input_schema  # type: ignore[attr-defined]
    registry = PluginRegistry()
    registry.register("argless", module)
    plugins = PluginSet(registry, frozenset({"argless"}))
    found = plugins.collect("yutang_input_schema", operation="checkout")
    assert found == [("argless", Input)]
