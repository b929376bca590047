"""The plugin contract, exercised with the example plugin (a real ``yutang.plugins`` entry
point): pricing at the promotion stage, line validation, events after commit, GraphQL
contributions, typed checkout input, per-tenant enablement, ``plugins.toml`` validation and
settings overrides by platform operators.

The example plugin takes ``percent_off``% (default 10) off lines of products with "TEA" in
their name, plus ``extensions.example.extra_off``; refuses more than ``max_quantity``
(default 5) units per line; appends the order id to ``PAID_EVENTS`` on ``order_paid``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yutang_example_plugin as example
from tortoise.expressions import F

from yutang.app import create_app
from yutang.core.auth import hash_password, issue_token
from yutang.core.catalog import ProductInput, SkuInput, save_product
from yutang.core.config import load_plugins_file
from yutang.core.contract import TenantInfo
from yutang.core.errors import ConfigError
from yutang.core.models import IdempotencyRecord, Job, Operator, Order, OrderLine, Sku, Tenant
from yutang.core.runtime import Runtime, build_runtime
from yutang.core.settings import AppSettings
from yutang.core.worker import Worker
from yutang.graphql.ids import from_global, to_global
from yutang.testing import GraphQLClient, create_member, create_staff

QUOTE = """
query($lines: [LineInput!]!, $ext: CheckoutExtensionsInput) {
  quote(input: {lines: $lines, extensions: $ext}) {
    quote {
      subtotal { amount } discount { amount } total { amount } hash
      lines { index amount { amount } discount { amount } }
      adjustments { source stage label kind amount { amount } lines { line amount { amount } } }
    }
    errors { code field message }
  }
}"""
PLACE = """
mutation($lines: [LineInput!]!, $key: String!, $hash: String, $ext: CheckoutExtensionsInput) {
  placeOrder(input: {lines: $lines, idempotencyKey: $key, quoteHash: $hash, extensions: $ext}) {
    order { id status total { amount } lines { amount { amount } }
            quote { adjustments { source label amount { amount } } } }
    errors { code field message }
  }
}"""
PAY = """
mutation($id: ID!, $key: String!) {
  payOrder(input: {orderId: $id, idempotencyKey: $key}) {
    order { status } paymentStatus errors { code field message }
  }
}"""
UPDATE_TENANT = """
mutation($slug: String!, $plugins: [String!], $settings: JSON, $status: TenantStatus) {
  updateTenant(slug: $slug, plugins: $plugins, settings: $settings, status: $status) {
    tenant { slug profile status plugins settings settingsVersion }
    errors { code field message }
  }
}"""
CREATE_TENANT = """
mutation($slug: String!, $profile: String!) {
  createTenant(slug: $slug, name: "Tea House", profile: $profile) {
    tenant { slug name profile status plugins settings settingsVersion }
    errors { code field message }
  }
}"""
CORE_DEFAULTS = {
    "payment_timeout_minutes": 30,
    "auto_complete_days": 10,
    "after_sale_days": 7,
    "points_per_yuan": 100,
    "points_max_percent": 50,
    "register_requires_code": False,
    "password_reset_by_code": True,
    "verification_provider": "dev",
    "code_minutes": 10,
    "code_attempts": 5,
}
# Longjing Tea 1001 × 1, Oolong Tea 999 × 2, Cup 500 × 1: the tea lines weigh 1001 and 1998.
CART = [(0, 1), (1, 2), (2, 1)]


@pytest.fixture(autouse=True)
def paid_events() -> list[int]:
    """The example plugin's record of delivered ``order_paid`` events, emptied per test."""
    example.PAID_EVENTS.clear()
    return example.PAID_EVENTS


@pytest.fixture
async def tenant(make_tenant) -> TenantInfo:
    """The tenant ``shop`` with the example plugin enabled through its database row."""
    return await make_tenant("shop", plugins=["example"])


@pytest.fixture
async def skus(make_product) -> list[str]:
    """Global SKU ids of Longjing Tea (¥10.01), Oolong Tea (¥9.99) and a Cup (¥5.00)."""
    ids = []
    for name, price in (("Longjing Tea", 1001), ("Oolong Tea", 999), ("Cup", 500)):
        product = await make_product(name, [(price, 10)])
        ids.append(to_global("Sku", (await Sku.get(product_id=product.id)).id))
    return ids


@pytest.fixture
async def operator(http, tenant) -> GraphQLClient:
    """A platform operator on the admin API (any active tenant's header will do)."""
    op = await Operator.create(username="platform", password_hash=hash_password("op-secret"))
    return GraphQLClient(
        http, "/admin/graphql", tenant.slug, await issue_token("operator", op.id, None)
    )


def cart(skus: list[str], items: list[tuple[int, int]] = CART) -> list[dict[str, Any]]:
    return [{"skuId": skus[i], "quantity": q} for i, q in items]


def tea_quote(total_off: int, shares: tuple[int, int], label: str) -> dict[str, Any]:
    """The expected quote of CART when the tea lines get ``total_off`` split as ``shares``."""
    return {
        "subtotal": {"amount": 3499},
        "discount": {"amount": total_off},
        "total": {"amount": 3499 - total_off},
        "lines": [
            {"index": 0, "amount": {"amount": 1001 - shares[0]}, "discount": {"amount": shares[0]}},
            {"index": 1, "amount": {"amount": 1998 - shares[1]}, "discount": {"amount": shares[1]}},
            {"index": 2, "amount": {"amount": 500}, "discount": {"amount": 0}},
        ],
        "adjustments": [
            {
                "source": "example",
                "stage": 3,
                "label": label,
                "kind": "discount",
                "amount": {"amount": -total_off},
                "lines": [
                    {"line": 0, "amount": {"amount": -shares[0]}},
                    {"line": 1, "amount": {"amount": -shares[1]}},
                ],
            }
        ],
    }


async def quote_of(client: GraphQLClient, lines: list[dict[str, Any]], ext: Any = None) -> Any:
    payload = (await client(QUOTE, {"lines": lines, "ext": ext}))["quote"]
    if payload["quote"] is not None:
        payload["quote"].pop("hash")
    return payload


async def written() -> dict[str, Any]:
    """What placing an order writes."""
    return {
        "orders": await Order.all().count(),
        "lines": await OrderLine.all().count(),
        "idempotency": await IdempotencyRecord.all().count(),
        "jobs": await Job.all().count(),
        "stock": await Sku.all().order_by("id").values_list("stock", flat=True),
    }


async def place_and_pay(me: GraphQLClient, lines: list[dict[str, Any]], key: str) -> str:
    placed = (await me(PLACE, {"lines": lines, "key": key}))["placeOrder"]
    assert placed["errors"] == []
    paid = (await me(PAY, {"id": placed["order"]["id"], "key": key}))["payOrder"]
    assert paid == {"order": {"status": "PAID"}, "paymentStatus": "CAPTURED", "errors": []}
    order_id: str = placed["order"]["id"]
    return order_id


def pk(global_id: str) -> int:
    return from_global(global_id)[1]


async def paid_event_jobs() -> list[tuple[int, list[str], str]]:
    rows = await Job.filter(name="event:yutang_order_paid").order_by("id")
    return [(r.payload["order_id"], r.plugins, r.status) for r in rows]


# --- pricing --------------------------------------------------------------------------------


async def test_promotion_step_adjusts_with_source_label_and_exact_shares(member, skus) -> None:
    _, me = member
    quote = await quote_of(me, cart(skus))
    # 10% of 2999 is 299; by largest remainder 1001:1998 takes 99.8 → 100 and 199.2 → 199.
    assert quote == {"quote": tea_quote(299, (100, 199), "茶叶90折"), "errors": []}
    full = await me(QUOTE, {"lines": cart(skus)})
    placed = await me(
        PLACE, {"lines": cart(skus), "key": "o-1", "hash": full["quote"]["quote"]["hash"]}
    )
    order = placed["placeOrder"]
    assert order["errors"] == []
    assert order["order"]["total"] == {"amount": 3200}
    assert [ln["amount"]["amount"] for ln in order["order"]["lines"]] == [901, 1799, 500]
    assert order["order"]["quote"]["adjustments"] == [
        {"source": "example", "label": "茶叶90折", "amount": {"amount": -299}}
    ]
    rows = await OrderLine.all().order_by("position").values_list("amount", flat=True)
    assert rows == [901, 1799, 500]
    assert (await Order.get()).discount == 299


async def test_promotion_runs_before_points_which_see_the_discounted_lines(member, skus) -> None:
    _, me = member
    points_quote = """query($lines: [LineInput!]!) {
      quote(input: {lines: $lines, usePoints: 1000}) {
        quote { total { amount } pointsUsed lines { amount { amount } points }
                adjustments { source stage label amount { amount }
                              lines { line amount { amount } } } }
        errors { code field message } } }"""
    quote = (await me(points_quote, {"lines": cart(skus)}))["quote"]
    # After the promotion the lines cost 901, 1799 and 500; ¥10.00 of points is split over
    # them: 281.56 → 282, 562.19 → 562, 156.25 → 156.
    assert quote == {
        "quote": {
            "total": {"amount": 2200},
            "pointsUsed": 1000,
            "lines": [
                {"amount": {"amount": 619}, "points": 282},
                {"amount": {"amount": 1237}, "points": 562},
                {"amount": {"amount": 344}, "points": 156},
            ],
            "adjustments": [
                {
                    "source": "example",
                    "stage": 3,
                    "label": "茶叶90折",
                    "amount": {"amount": -299},
                    "lines": [
                        {"line": 0, "amount": {"amount": -100}},
                        {"line": 1, "amount": {"amount": -199}},
                    ],
                },
                {
                    "source": "core",
                    "stage": 5,
                    "label": "积分抵扣 1000积分 (-¥10.00)",
                    "amount": {"amount": -1000},
                    "lines": [
                        {"line": 0, "amount": {"amount": -282}},
                        {"line": 1, "amount": {"amount": -562}},
                        {"line": 2, "amount": {"amount": -156}},
                    ],
                },
            ],
        },
        "errors": [],
    }


async def test_no_tea_no_adjustment(storefront, skus) -> None:
    quote = await quote_of(storefront, cart(skus, [(2, 3)]))
    assert quote["quote"]["adjustments"] == []
    assert quote["quote"]["total"] == {"amount": 1500}


# --- validation -----------------------------------------------------------------------------


async def test_more_than_five_units_of_a_line_is_refused_and_nothing_written(member, skus) -> None:
    _, me = member
    before = await written()
    too_many = cart(skus, [(1, 1), (0, 6)])
    refusal = [
        {"code": "EXAMPLE_LIMIT", "field": "lines[1].quantity", "message": "at most 5 per line"}
    ]
    assert await quote_of(me, too_many) == {"quote": None, "errors": refusal}
    placed = await me(PLACE, {"lines": too_many, "key": "big"})
    assert placed["placeOrder"] == {"order": None, "errors": refusal}
    assert await written() == before
    # Five is allowed (the same key is free again: the refused attempt wrote nothing).
    placed = await me(PLACE, {"lines": cart(skus, [(1, 1), (0, 5)]), "key": "big"})
    assert placed["placeOrder"]["errors"] == []
    assert await Sku.all().order_by("id").values_list("stock", flat=True) == [5, 9, 10]


# --- events ---------------------------------------------------------------------------------


async def test_order_paid_is_delivered_once_after_commit_by_the_worker(
    member, skus, worker: Worker, paid_events
) -> None:
    _, me = member
    first = await place_and_pay(me, cart(skus, [(0, 1)]), "one")
    # Nothing is delivered inside the payment's transaction: it waits in the outbox.
    assert paid_events == []
    assert await paid_event_jobs() == [(pk(first), ["example"], "pending")]
    await worker.run_until_idle()
    assert paid_events == [pk(first)]
    await worker.run_until_idle()
    await Worker(worker.runtime).run_until_idle()  # another worker finds nothing to redo
    assert paid_events == [pk(first)]
    # A replayed payOrder (same key) and a second payment attempt add no event.
    replay = await me(PAY, {"id": first, "key": "one"})
    assert replay["payOrder"]["order"] == {"status": "PAID"}
    again = await me(PAY, {"id": first, "key": "two"})
    assert again["payOrder"]["errors"] == [
        {
            "code": "ILLEGAL_TRANSITION",
            "field": "orderId",
            "message": "an order that is paid cannot be paid",
        }
    ]
    second = await place_and_pay(me, cart(skus, [(1, 1)]), "three")
    await worker.run_until_idle()
    await worker.run_until_idle()
    assert paid_events == [pk(first), pk(second)]
    assert await paid_event_jobs() == [
        (pk(first), ["example"], "done"),
        (pk(second), ["example"], "done"),
    ]
    assert await me("{ exampleCounter }") == {"exampleCounter": 2}


# --- GraphQL contributions -----------------------------------------------------------------


async def test_graphql_fields_are_contributed_to_the_storefront_only(
    storefront, admin, skus
) -> None:
    assert await storefront("{ exampleCounter }") == {"exampleCounter": 0}
    products = await storefront("{ products { edges { node { name exampleBadge } } } }")
    assert products["products"]["edges"] == [
        {"node": {"name": "Longjing Tea", "exampleBadge": "example:Longjing Tea"}},
        {"node": {"name": "Oolong Tea", "exampleBadge": "example:Oolong Tea"}},
        {"node": {"name": "Cup", "exampleBadge": "example:Cup"}},
    ]
    installed = await admin("{ plugins { name version enabled hooks } }")
    assert [p for p in installed["plugins"] if p["name"] == "example"] == [
        {
            "name": "example",
            "version": "0.1.0",
            "enabled": True,
            "hooks": [
                "yutang_error_codes",
                "yutang_graphql_storefront",
                "yutang_input_schema",
                "yutang_order_paid",
                "yutang_payment_providers",
                "yutang_price_steps",
                "yutang_settings_schema",
                "yutang_validate_checkout",
            ],
        }
    ]
    # The plugin contributes nothing to the admin schema.
    body = await admin.raw("{ products { edges { node { exampleBadge } } } }")
    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == [
        "Cannot query field 'exampleBadge' on type 'Product'."
    ]


# --- typed checkout input -------------------------------------------------------------------


async def test_checkout_extension_is_typed_and_applied(member, skus) -> None:
    _, me = member
    ext = {"example": {"extra_off": 100}}
    quote = await quote_of(me, cart(skus), ext)
    # 299 + 100 = 399 over 1001:1998 → 133.17 and 265.83: the unit goes to the second line.
    assert quote == {"quote": tea_quote(399, (133, 266), "茶叶90折"), "errors": []}
    placed = await me(PLACE, {"lines": cart(skus), "key": "ext", "ext": ext})
    assert placed["placeOrder"]["order"]["total"] == {"amount": 3100}
    assert (await Order.get()).extensions == {"example": {"extra_off": 100}}

    before = await written()
    # What the Struct alone bounds is its refusal, naming the field.
    cases = [
        ({"extra_off": -1}, "不能小于 0 / at least 0"),
        ({"extra_off": None}, "应为整数 / expected a whole number"),
    ]
    for i, (bad, message) in enumerate(cases):
        ext = {"example": bad}
        error = [{"code": "INVALID", "field": "extensions.example.extra_off", "message": message}]
        assert await quote_of(me, cart(skus), ext) == {"quote": None, "errors": error}
        placed = await me(PLACE, {"lines": cart(skus), "key": f"bad-{i}", "ext": ext})
        assert placed["placeOrder"] == {"order": None, "errors": error}
    # What its GraphQL type cannot hold, GraphQL refuses before anything runs.
    mistyped = [
        ({"example": {"extra_off": "100"}}, "at .example.extra_off: Int cannot represent"),
        ({"example": {"extra_off": 1.5}}, "at .example.extra_off: Int cannot represent"),
        ({"example": {"extra": 100}}, "not to include unknown field 'extra'"),
        (
            {"example": 100},
            "at .example: Expected value of type 'ExampleCheckoutInput' to be an object",
        ),
        ({"nope": {}}, "not to include unknown field 'nope'"),
    ]
    for bad, message in mistyped:
        for query, variables in (
            (QUOTE, {"lines": cart(skus), "ext": bad}),
            (PLACE, {"lines": cart(skus), "key": "mistyped", "ext": bad}),
        ):
            body = await me.raw(query, variables)
            assert body["data"] is None and message in body["errors"][0]["message"], body
    assert await written() == before


INPUT_TYPES = """{
  extensions: __type(name: "CheckoutExtensionsInput") { inputFields { name type { name } } }
  example: __type(name: "ExampleCheckoutInput") { inputFields { name type { name } } }
  input: __type(name: "CheckoutInput") { inputFields { name description } }
}"""


async def test_every_installed_plugins_input_type_is_in_every_schema(
    member, http, make_tenant
) -> None:
    """A tenant enabling no plugin still has every installed plugin's input type, so one
    document serves both; the description says which plugins take input here."""
    _, me = member
    await make_tenant("plain")
    plain = GraphQLClient(http, "/graphql", "plain")
    shop, bare = await me(INPUT_TYPES), await plain(INPUT_TYPES)
    for types in (shop, bare):
        fields = {f["name"]: f["type"]["name"] for f in types["extensions"]["inputFields"]}
        assert fields["example"] == "ExampleCheckoutInput"
        assert types["example"]["inputFields"] == [{"name": "extra_off", "type": {"name": "Int"}}]

    def described(types: dict[str, Any]) -> str:
        fields = types["input"]["inputFields"]
        text: str = next(f["description"] for f in fields if f["name"] == "extensions")
        return text

    assert described(shop).endswith("Enabled here: example.")
    assert described(bare).endswith("Enabled here: none.")


# --- enablement -----------------------------------------------------------------------------


async def test_disabled_means_absent(
    http, make_tenant, make_product, worker: Worker, paid_events
) -> None:
    plain = await make_tenant("plain")
    product = await make_product("Longjing Tea", [(1001, 10)], on=plain)
    sku = to_global("Sku", (await Sku.get(product_id=product.id)).id)
    _, token = await create_member(plain, "13900000002")
    me = GraphQLClient(http, "/graphql", "plain", token)
    quote = await quote_of(me, [{"skuId": sku, "quantity": 6}])
    assert quote["errors"] == []
    assert quote["quote"]["adjustments"] == []
    assert quote["quote"]["total"] == {"amount": 6006}
    ext = await quote_of(me, [{"skuId": sku, "quantity": 1}], {"example": {"extra_off": 1}})
    assert ext["errors"] == [
        {
            "code": "PLUGIN_DISABLED",
            "field": "extensions.example",
            "message": "example is not enabled for this shop",
        }
    ]
    order = await place_and_pay(me, [{"skuId": sku, "quantity": 6}], "six")
    assert (await Order.get(id=pk(order))).plugins == ["core"]
    assert await paid_event_jobs() == []
    assert await Job.filter(name__startswith="event:").count() == 0
    await worker.run_until_idle()
    assert paid_events == []
    body = await me.raw("{ exampleCounter }")
    assert [e["extensions"] for e in body["errors"]] == [
        {"code": "PLUGIN_DISABLED", "plugin": "example"}
    ]


async def test_disabling_takes_effect_on_the_next_request(
    member, skus, operator, worker: Worker, paid_events
) -> None:
    _, me = member
    assert (await quote_of(me, cart(skus)))["quote"]["total"] == {"amount": 3200}
    done = await operator(UPDATE_TENANT, {"slug": "shop", "plugins": []})
    assert done["updateTenant"]["errors"] == []
    assert done["updateTenant"]["tenant"]["plugins"] == []
    assert done["updateTenant"]["tenant"]["settingsVersion"] == 2
    quote = await quote_of(me, cart(skus, [(0, 6)]))
    assert quote == {
        "quote": {
            "subtotal": {"amount": 6006},
            "discount": {"amount": 0},
            "total": {"amount": 6006},
            "lines": [{"index": 0, "amount": {"amount": 6006}, "discount": {"amount": 0}}],
            "adjustments": [],
        },
        "errors": [],
    }
    await place_and_pay(me, cart(skus, [(0, 6)]), "after")
    assert await paid_event_jobs() == []
    await worker.run_until_idle()
    assert paid_events == []
    body = await me.raw("{ exampleCounter }")
    assert body["data"] is None
    # Enabled again: everything is back on the next request.
    again = await operator(UPDATE_TENANT, {"slug": "shop", "plugins": ["example"]})
    assert again["updateTenant"]["tenant"]["plugins"] == ["example"]
    assert await me("{ exampleCounter }") == {"exampleCounter": 0}
    assert (await quote_of(me, cart(skus)))["quote"]["total"] == {"amount": 3200}


async def test_disabling_keeps_the_queued_paid_event_of_an_existing_order(
    member, skus, operator, worker: Worker, paid_events
) -> None:
    _, me = member
    order = await place_and_pay(me, cart(skus, [(0, 1)]), "before")
    disabled = await operator(UPDATE_TENANT, {"slug": "shop", "plugins": []})
    assert disabled["updateTenant"]["tenant"]["plugins"] == []
    assert await paid_event_jobs() == [(pk(order), ["example"], "pending")]
    await worker.run_until_idle()
    assert paid_events == [pk(order)]
    assert await paid_event_jobs() == [(pk(order), ["example"], "done")]


async def test_disabling_by_row_update_keeps_events_of_orders_the_plugin_took_part_in(
    member, skus, tenant, worker: Worker, paid_events
) -> None:
    _, me = member
    paid_before = await place_and_pay(me, cart(skus, [(0, 1)]), "paid-before")
    placed = await me(PLACE, {"lines": cart(skus, [(1, 1)]), "key": "placed-before"})
    placed_before = placed["placeOrder"]["order"]["id"]
    await Tenant.filter(id=tenant.id).update(plugins=[], settings_version=F("settings_version") + 1)
    # Paid after disabling: the plugin took part in this order, so it still hears of it.
    paid = await me(PAY, {"id": placed_before, "key": "pay-after"})
    assert paid["payOrder"]["order"] == {"status": "PAID"}
    # An order placed after disabling is not the plugin's business.
    paid_after = await place_and_pay(me, cart(skus, [(0, 1)]), "placed-after")
    assert (await Order.get(id=pk(paid_after))).plugins == ["core"]
    await worker.run_until_idle()
    assert sorted(paid_events) == [pk(paid_before), pk(placed_before)]
    assert await paid_event_jobs() == [
        (pk(paid_before), ["example"], "done"),
        (pk(placed_before), ["example"], "done"),
    ]


async def test_events_are_delivered_for_a_suspended_tenant(
    member, skus, operator, worker: Worker, paid_events
) -> None:
    _, me = member
    order = await place_and_pay(me, cart(skus, [(0, 1)]), "s")
    await Tenant.create(slug="platform-home", name="home")
    suspended = await operator.as_(operator.token, "platform-home")(
        UPDATE_TENANT, {"slug": "shop", "status": "SUSPENDED"}
    )
    assert suspended["updateTenant"]["tenant"]["status"] == "SUSPENDED"
    await worker.run_until_idle()
    assert paid_events == [pk(order)]


# --- plugins.toml ---------------------------------------------------------------------------


@pytest.fixture
def registry(tmp_path: Path) -> Any:
    """The registry of installed plugins (entry points), as ``build_runtime`` makes it."""
    path = tmp_path / "plugins.toml"
    path.write_text("", encoding="utf-8")
    return build_runtime(AppSettings(plugins_file=str(path))).registry


@pytest.mark.parametrize(
    ("toml", "where", "reason"),
    [
        (
            '[profiles.tea]\nplugins = ["example", "nope"]\n',
            "[profiles.tea].plugins",
            "unknown plugin 'nope'",
        ),
        (
            '[profiles.tea]\nplugins = ["core"]\n',
            "[profiles.tea].plugins",
            "unknown plugin 'core'",
        ),
        (
            '[profiles.tea.settings.example]\npercent_off = "ten"\n',
            "[profiles.tea.settings.example].percent_off",
            "Expected `int`, got `str`",
        ),
        (
            "[profiles.tea.settings.example]\npercent_off = 12.5\n",
            "[profiles.tea.settings.example].percent_off",
            "Expected `int`, got `float`",
        ),
        (
            "[profiles.tea.settings.example]\npercent = 10\n",
            "[profiles.tea.settings.example]",
            "Object contains unknown field `percent`",
        ),
        (
            "[profiles.tea.settings.nope]\nx = 1\n",
            "[profiles.tea.settings.nope]",
            "unknown plugin 'nope' (not installed)",
        ),
        (
            "[profiles.default.settings.core]\npayment_timeout_minutes = 0\n",
            "[profiles.default.settings.core].payment_timeout_minutes",
            "Expected `int` >= 1",
        ),
        (
            '[profiles.tea]\nplugin = ["example"]\n',
            "[profiles.tea]",
            "Object contains unknown field `plugin`",
        ),
        (
            '[profiles.tea]\nplugins = "example"\n',
            "[profiles.tea].plugins",
            "Expected `array`, got `str`",
        ),
        (
            "[tenants.demo]\ncurrency = 156\n",
            "[tenants.demo].currency",
            "Expected `str`, got `int`",
        ),
        (
            '[tenants.demo]\nprofile = "retail"\n',
            "[tenants.demo].profile",
            "unknown profile 'retail'",
        ),
        (
            '[tenants.demo]\nplugins = ["nope"]\n',
            "[tenants.demo].plugins",
            "unknown plugin 'nope'",
        ),
        (
            "[tenants.demo.settings.example]\nmax_quantity = []\n",
            "[tenants.demo.settings.example].max_quantity",
            "Expected `int`, got `array`",
        ),
    ],
    ids=[
        "unknown-plugin",
        "core-is-no-plugin",
        "setting-type",
        "setting-float",
        "unknown-setting",
        "settings-of-unknown-plugin",
        "setting-constraint",
        "unknown-profile-key",
        "profile-plugins-type",
        "tenant-field-type",
        "tenant-unknown-profile",
        "tenant-unknown-plugin",
        "tenant-setting-type",
    ],
)
def test_invalid_plugins_toml_names_file_key_and_reason(
    tmp_path: Path, registry: Any, toml: str, where: str, reason: str
) -> None:
    path = tmp_path / "plugins.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_plugins_file(path, registry)
    # The key may be written "[section].key" (as the other errors of this file do) or
    # "[section.key]"; either way it is the full dotted key, never "[profiles[...]]".
    written_as = {f"{path} {where}: {reason}"}
    if "]." in where:
        written_as.add(f"{path} {where.replace('].', '.')}]: {reason}")
    assert str(caught.value) in written_as
    # The server refuses to start on the same file.
    with pytest.raises(ConfigError) as at_start:
        build_runtime(AppSettings(plugins_file=str(path)))
    assert str(at_start.value) == str(caught.value)


def test_unknown_top_level_key_and_bad_toml_name_the_file(tmp_path: Path, registry: Any) -> None:
    path = tmp_path / "plugins.toml"
    path.write_text('[profile.tea]\nplugins = ["example"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_plugins_file(path, registry)
    assert str(caught.value) == f"{path} [profile]: unknown table (expected profiles or tenants)"
    path.write_text("[profiles.tea\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_plugins_file(path, registry)
    assert str(caught.value).startswith(f"{path}: not valid TOML: ")


def test_a_named_plugins_toml_must_exist(tmp_path: Path, registry: Any) -> None:
    missing = tmp_path / "plugin.toml"
    with pytest.raises(ConfigError) as caught:
        build_runtime(AppSettings(plugins_file=str(missing)))
    assert str(caught.value) == f"{missing}: no such file (YUTANG_PLUGINS_FILE names it)"
    # Unnamed, a missing file is one empty default profile (the CLI warns).
    assert load_plugins_file(missing, registry).profiles["default"].plugins == []


def test_valid_plugins_toml_layers_profile_and_pin(tmp_path: Path, registry: Any) -> None:
    path = tmp_path / "plugins.toml"
    path.write_text(
        '[profiles.tea]\nplugins = ["example"]\n'
        "[profiles.tea.settings.example]\npercent_off = 15\n"
        '[tenants.demo]\nprofile = "tea"\n'
        "[tenants.demo.settings.example]\nmax_quantity = 3\n",
        encoding="utf-8",
    )
    parsed = load_plugins_file(path, registry)
    assert sorted(parsed.profiles) == ["default", "tea"]
    assert parsed.profiles["tea"].plugins == ["example"]
    assert parsed.profiles["tea"].settings == {"example": {"percent_off": 15}}
    assert parsed.tenants["demo"].settings == {"example": {"max_quantity": 3}}


# --- settings overrides by platform operators ------------------------------------------------


async def test_settings_override_is_validated_and_applies_on_the_next_request(
    member, skus, operator, admin
) -> None:
    _, me = member
    assert (await quote_of(me, cart(skus)))["quote"] == tea_quote(299, (100, 199), "茶叶90折")
    changed = await operator(
        UPDATE_TENANT, {"slug": "shop", "settings": {"example": {"percent_off": 20}}}
    )
    assert changed["updateTenant"] == {
        "tenant": {
            "slug": "shop",
            "profile": "default",
            "status": "ACTIVE",
            "plugins": ["example"],
            "settings": {
                "core": CORE_DEFAULTS,
                "example": {"percent_off": 20, "max_quantity": 5},
            },
            "settingsVersion": 2,
        },
        "errors": [],
    }
    # 20% of 2999 is 599; 1001:1998 takes 199.93 → 200 and 399.07 → 399.
    assert (await quote_of(me, cart(skus)))["quote"] == tea_quote(599, (200, 399), "茶叶80折")

    bad_values = [
        (
            {"example": {"percent_off": "twenty"}},
            "settings.example",
            "settings.example.percent_off: Expected `int`, got `str`",
        ),
        (
            {"example": {"percentOff": 30}},
            "settings.example",
            "settings.example: Object contains unknown field `percentOff`",
        ),
        (
            {"nope": {"x": 1}},
            "settings.nope",
            "settings.nope: unknown plugin 'nope' (not installed)",
        ),
        (
            {"core": {"points_max_percent": 101}},
            "settings.core",
            "settings.core.points_max_percent: Expected `int` <= 100",
        ),
    ]
    for settings, field, message in bad_values:
        refused = await operator(UPDATE_TENANT, {"slug": "shop", "settings": settings})
        assert refused["updateTenant"] == {
            "tenant": None,
            "errors": [{"code": "INVALID", "field": field, "message": message}],
        }, settings
    row = await Tenant.get(slug="shop")
    assert (row.settings, row.settings_version) == ({"example": {"percent_off": 20}}, 2)
    assert (await quote_of(me, cart(skus)))["quote"] == tea_quote(599, (200, 399), "茶叶80折")

    # Layers merge key by key: raising the line limit keeps the 20%.
    raised = await operator(
        UPDATE_TENANT, {"slug": "shop", "settings": {"example": {"max_quantity": 6}}}
    )
    assert raised["updateTenant"]["tenant"]["settings"]["example"] == {
        "percent_off": 20,
        "max_quantity": 6,
    }
    six = await quote_of(me, cart(skus, [(0, 6)]))
    assert six["errors"] == []
    assert six["quote"]["total"] == {"amount": 6006 - 1201}
    seven = await quote_of(me, cart(skus, [(1, 7)]))
    assert seven["errors"] == [
        {"code": "EXAMPLE_LIMIT", "field": "lines[0].quantity", "message": "at most 6 per line"}
    ]
    # A plugin set naming an unknown plugin is refused whole.
    unknown = await operator(UPDATE_TENANT, {"slug": "shop", "plugins": ["example", "nope"]})
    assert unknown["updateTenant"] == {
        "tenant": None,
        "errors": [{"code": "INVALID", "field": "plugins[1]", "message": "unknown plugin 'nope'"}],
    }
    assert (await Tenant.get(slug="shop")).plugins == ["example"]
    # Only platform operators change settings.
    denied = await admin(
        UPDATE_TENANT, {"slug": "shop", "settings": {"example": {"percent_off": 90}}}
    )
    assert denied["updateTenant"]["errors"] == [
        {"code": "FORBIDDEN", "field": None, "message": "platform operators only"}
    ]


async def test_settings_override_that_is_not_an_object_is_invalid(member, skus, operator) -> None:
    """A plugin's settings must be an object; anything else is the caller's mistake."""
    _, me = member
    for value in (30, "percent_off=20", [20]):
        body = await operator.raw(UPDATE_TENANT, {"slug": "shop", "settings": {"example": value}})
        assert "errors" not in body, body["errors"]
        payload = body["data"]["updateTenant"]
        assert payload["tenant"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("INVALID", "settings.example")
        ], value
    row = await Tenant.get(slug="shop")
    assert (row.settings, row.settings_version) == ({}, 1)
    assert (await quote_of(me, cart(skus)))["quote"] == tea_quote(299, (100, 199), "茶叶90折")


async def test_settings_of_the_wrong_type_are_refused_even_when_they_look_numeric(
    tmp_path: Path, registry: Any, member, skus, operator
) -> None:
    """``"20"`` is a string, not the int the Struct declares: a bad setting type in the file
    and in an override, not something to coerce (and store as a string)."""
    _, me = member
    path = tmp_path / "plugins.toml"
    path.write_text('[profiles.tea.settings.example]\npercent_off = "20"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_plugins_file(path, registry)
    assert str(caught.value) == (
        f"{path} [profiles.tea.settings.example].percent_off: Expected `int`, got `str`"
    )
    body = await operator.raw(
        UPDATE_TENANT, {"slug": "shop", "settings": {"example": {"percent_off": "20"}}}
    )
    assert body["data"]["updateTenant"] == {
        "tenant": None,
        "errors": [
            {
                "code": "INVALID",
                "field": "settings.example",
                "message": "settings.example.percent_off: Expected `int`, got `str`",
            }
        ],
    }
    row = await Tenant.get(slug="shop")
    assert (row.settings, row.settings_version) == ({}, 1)
    assert (await quote_of(me, cart(skus)))["quote"] == tea_quote(299, (100, 199), "茶叶90折")


# --- tenants created on a profile of plugins.toml -------------------------------------------

PROFILES = """
[profiles.default]
plugins = []

[profiles.tea]
plugins = ["example"]

[profiles.tea.settings.example]
percent_off = 15
"""


@pytest.fixture
async def platform(
    yutang_db: Runtime, tmp_path: Path
) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """The real app over a runtime whose plugins.toml has a ``tea`` profile."""
    path = tmp_path / "plugins.toml"
    path.write_text(PROFILES, encoding="utf-8")
    runtime = build_runtime(
        AppSettings(database_url=yutang_db.settings.database_url, plugins_file=str(path))
    )
    app = create_app(runtime, worker=False, manage_db=False, debug=True)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://yutang.test") as client:
        yield runtime, client


async def test_operator_creates_a_tenant_on_a_profile(platform, make_tenant, paid_events) -> None:
    runtime, http = platform
    await make_tenant("home")
    await Operator.create(username="platform", password_hash=hash_password("op-secret"))
    anonymous = GraphQLClient(http, "/admin/graphql", "home")
    login = await anonymous(
        'mutation { operatorLogin(username: "platform", password: "op-secret") '
        "{ token errors { code } } }"
    )
    operator = anonymous.as_(login["operatorLogin"]["token"])
    created = await operator(CREATE_TENANT, {"slug": "teahouse", "profile": "tea"})
    assert created["createTenant"] == {
        "tenant": {
            "slug": "teahouse",
            "name": "Tea House",
            "profile": "tea",
            "status": "ACTIVE",
            "plugins": ["example"],
            "settings": {"core": CORE_DEFAULTS, "example": {"percent_off": 15, "max_quantity": 5}},
            "settingsVersion": 1,
        },
        "errors": [],
    }
    unknown = await operator(CREATE_TENANT, {"slug": "other", "profile": "retail"})
    assert unknown["createTenant"]["errors"] == [
        {"code": "INVALID", "field": "profile", "message": "unknown profile 'retail'"}
    ]
    taken = await operator(CREATE_TENANT, {"slug": "teahouse", "profile": "tea"})
    assert taken["createTenant"]["errors"] == [
        {"code": "SLUG_TAKEN", "field": "slug", "message": "tenant 'teahouse' exists"}
    ]
    _, staff_token = await create_staff(await runtime.tenants.by_slug("home"), "owner", "owner")
    staff = anonymous.as_(staff_token)
    denied = await staff(CREATE_TENANT, {"slug": "mine", "profile": "tea"})
    assert denied["createTenant"]["errors"] == [
        {"code": "FORBIDDEN", "field": None, "message": "platform operators only"}
    ]
    assert await Tenant.all().order_by("id").values_list("slug", flat=True) == [
        "home",
        "teahouse",
    ]

    # The new tenant works at once with its profile's plugins and settings.
    teahouse = await runtime.tenants.by_slug("teahouse")
    product = await save_product(
        teahouse,
        ProductInput(name="Longjing Tea", published=True, skus=[SkuInput(price=1001, stock=10)]),
    )
    sku = to_global("Sku", (await Sku.get(product_id=product.id)).id)
    _, token = await create_member(teahouse, "13900000003")
    me = GraphQLClient(http, "/graphql", "teahouse", token)
    quote = await quote_of(me, [{"skuId": sku, "quantity": 2}])
    assert quote["quote"]["adjustments"] == [
        {
            "source": "example",
            "stage": 3,
            "label": "茶叶85折",
            "kind": "discount",
            "amount": {"amount": -300},
            "lines": [{"line": 0, "amount": {"amount": -300}}],
        }
    ]
    assert await me("{ exampleCounter }") == {"exampleCounter": 0}
    order = await place_and_pay(me, [{"skuId": sku, "quantity": 2}], "t-1")
    await Worker(runtime).run_until_idle()
    assert paid_events == [pk(order)]
    # The tenant on the default profile has no plugin, until it moves to the tea profile.
    home = GraphQLClient(http, "/graphql", "home")
    body = await home.raw("{ exampleCounter }")
    assert [e["extensions"] for e in body["errors"]] == [
        {"code": "PLUGIN_DISABLED", "plugin": "example"}
    ]
    moved = await operator(
        """mutation { updateTenant(slug: "home", profile: "tea") {
             tenant { profile plugins settings } errors { code field message } } }"""
    )
    assert moved["updateTenant"] == {
        "tenant": {
            "profile": "tea",
            "plugins": ["example"],
            "settings": {"core": CORE_DEFAULTS, "example": {"percent_off": 15, "max_quantity": 5}},
        },
        "errors": [],
    }
    assert await home("{ exampleCounter }") == {"exampleCounter": 1}
