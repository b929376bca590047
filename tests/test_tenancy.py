"""Two tenants side by side over HTTP: neither reads or changes the other's data, a
suspended or unknown tenant is refused, and one tenant's plugins are absent from the other.

Tenant ``shop`` (no plugins) and tenant ``other`` (the example plugin enabled) each get the
same catalogue, a member with the *same phone*, an owner, a pending and a paid order; every
cross-tenant attempt is made with real global IDs of the other tenant and must find nothing
and write nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import yutang_example_plugin as example

from yutang.core.auth import hash_password, issue_token
from yutang.core.contract import TenantInfo
from yutang.core.models import (
    IdempotencyRecord,
    Job,
    Member,
    Operator,
    Order,
    OrderLine,
    Payment,
    PointsEntry,
    Product,
    Refund,
    Sku,
)
from yutang.graphql.ids import to_global
from yutang.testing import GraphQLClient, create_member, create_staff

PLACE = """
mutation($lines: [LineInput!]!, $key: String!, $ext: CheckoutExtensionsInput) {
  placeOrder(input: {lines: $lines, idempotencyKey: $key, extensions: $ext}) {
    order { id status total { amount } lines { id } }
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
CONFIRM = """
mutation($id: ID!) {
  confirmReceipt(orderId: $id) { order { status } errors { code field message } }
}"""
REQUEST_REFUND = """
mutation($id: ID!) {
  requestRefund(input: {orderId: $id, idempotencyKey: "rr-1"}) {
    refund { status } errors { code field message }
  }
}"""
QUOTE = """
query($lines: [LineInput!]!, $points: Int! = 0, $ext: CheckoutExtensionsInput) {
  quote(input: {lines: $lines, usePoints: $points, extensions: $ext}) {
    quote { total { amount } adjustments { source label amount { amount } } }
    errors { code field message }
  }
}"""
PRODUCTS = "{ products { edges { node { id name skus { id stock } } } } }"
PRODUCT = "query($id: ID!) { product(id: $id) { id name } }"
NODE = """
query($id: ID!) {
  node(id: $id) { id ... on Product { name } ... on Order { status } }
}"""
ORDER = "query($id: ID!) { order(id: $id) { id status } }"
MY_ORDERS = "{ myOrders { edges { node { id status } } } }"
ADMIN_ORDERS = "{ orders { edges { node { id status } } } }"
ADMIN_ORDER = "query($id: ID!) { order(id: $id) { id status } }"
UPDATE_PRODUCT = """
mutation($id: ID!) {
  updateProduct(id: $id, input: {name: "Stolen", published: true,
                                 specNames: ["size"], skus: [{price: 1, stock: 999}]}) {
    product { id name } errors { code field message }
  }
}"""
ADJUST_STOCK = """
mutation($id: ID!, $delta: Int!) {
  adjustStock(skuId: $id, delta: $delta) { sku { id stock } errors { code field message } }
}"""
UPDATE_SKU = """
mutation($id: ID!) {
  updateSku(id: $id, price: 1) { sku { id } errors { code field message } }
}"""
DELETE_PRODUCT = """
mutation($id: ID!) { deleteProduct(id: $id) { deleted errors { code field message } } }"""
FULFIL = """
mutation($id: ID!) {
  fulfilOrder(orderId: $id) { order { id status } errors { code field message } }
}"""
REFUND = """
mutation($id: ID!, $key: String!, $lines: [RefundLineInput!]) {
  refundOrder(input: {orderId: $id, idempotencyKey: $key, lines: $lines}) {
    refund { status amount { amount } } errors { code field message }
  }
}"""
UPDATE_TENANT = """
mutation($slug: String!, $status: TenantStatus) {
  updateTenant(slug: $slug, status: $status) {
    tenant { slug status } errors { code field message }
  }
}"""
QUERY_FIELDS = '{ __type(name: "Query") { fields { name } } }'
PRODUCT_FIELDS = '{ __type(name: "Product") { fields { name } } }'


@pytest.fixture(autouse=True)
def _no_paid_events_yet() -> None:
    """The example plugin counts delivered events per process; start each test at zero."""
    example.PAID_EVENTS.clear()


@dataclass
class Shop:
    """One tenant with everything the cross-tenant attempts aim at."""

    info: TenantInfo
    product_pk: int
    sku_pk: int
    member_pk: int
    storefront: GraphQLClient  # anonymous
    me: GraphQLClient  # the member
    member_token: str
    admin: GraphQLClient  # the owner
    staff_token: str
    pending_order: str
    paid_order: str
    paid_line: str

    @property
    def product_id(self) -> str:
        return to_global("Product", self.product_pk)

    @property
    def sku_id(self) -> str:
        return to_global("Sku", self.sku_pk)


async def open_shop(
    http: httpx.AsyncClient, info: TenantInfo, make_product: Any, name: str
) -> Shop:
    product = await make_product(name, [(1000, 10)], on=info)
    sku = await Sku.get(product_id=product.id)
    member, member_token = await create_member(info, "13900000001", points=500)
    _, staff_token = await create_staff(info, "owner", "owner")
    storefront = GraphQLClient(http, "/graphql", info.slug)
    me = storefront.as_(member_token)
    lines = [{"skuId": to_global("Sku", sku.id), "quantity": 1}]
    pending = (await me(PLACE, {"lines": lines, "key": "pending"}))["placeOrder"]
    paid = (await me(PLACE, {"lines": lines, "key": "paid"}))["placeOrder"]
    assert pending["errors"] == [] and paid["errors"] == []
    pay = (await me(PAY, {"id": paid["order"]["id"], "key": "pay"}))["payOrder"]
    assert pay == {"order": {"status": "PAID"}, "paymentStatus": "CAPTURED", "errors": []}
    return Shop(
        info=info,
        product_pk=product.id,
        sku_pk=sku.id,
        member_pk=member.id,
        storefront=storefront,
        me=me,
        member_token=member_token,
        admin=GraphQLClient(http, "/admin/graphql", info.slug, staff_token),
        staff_token=staff_token,
        pending_order=pending["order"]["id"],
        paid_order=paid["order"]["id"],
        paid_line=paid["order"]["lines"][0]["id"],
    )


@pytest.fixture
async def shops(http, tenant, make_tenant, make_product) -> tuple[Shop, Shop]:
    """``shop`` without plugins and ``other`` with the example plugin, set up alike."""
    other = await make_tenant("other", plugins=["example"])
    a = await open_shop(http, tenant, make_product, "Longjing Tea")
    b = await open_shop(http, other, make_product, "Oolong Tea")
    return a, b


async def snapshot() -> dict[str, Any]:
    """Every row a cross-tenant attempt could write, in a comparable form."""
    return {
        "orders": await Order.all().order_by("id").values_list("id", "tenant_id", "status"),
        "lines": await OrderLine.all().count(),
        "payments": await Payment.all().order_by("id").values_list("id", "status"),
        "refunds": await Refund.all().count(),
        "idempotency": await IdempotencyRecord.all().count(),
        "jobs": await Job.all().order_by("id").values_list("id", "name", "status"),
        "points": await PointsEntry.all().count(),
        "members": await Member.all().order_by("id").values_list("id", "points", "paid_spend"),
        "products": await Product.all().order_by("id").values_list("id", "name", "published"),
        "skus": await Sku.all().order_by("id").values_list("id", "price", "stock"),
    }


def not_found(field: str, what: str) -> list[dict[str, str]]:
    return [{"code": "NOT_FOUND", "field": field, "message": f"{what} not found"}]


def unauthenticated(message: str, field: str | None = None) -> list[dict[str, Any]]:
    return [{"code": "UNAUTHENTICATED", "field": field, "message": message}]


# --- reads -----------------------------------------------------------------------------


async def test_catalogue_lists_only_its_own_products(shops) -> None:
    a, b = shops
    for shop, name in ((a, "Longjing Tea"), (b, "Oolong Tea")):
        edges = (await shop.storefront(PRODUCTS))["products"]["edges"]
        # Ordering one unit of each of two orders took stock from 10 to 8.
        expected = {"id": shop.product_id, "name": name, "skus": [{"id": shop.sku_id, "stock": 8}]}
        assert edges == [{"node": expected}]
        admin_edges = (await shop.admin(PRODUCTS))["products"]["edges"]
        assert admin_edges == [{"node": expected}]


async def test_product_and_node_by_the_other_tenants_global_id_are_null(shops) -> None:
    a, b = shops
    for mine, theirs in ((a, b), (b, a)):
        own = await mine.storefront(PRODUCT, {"id": mine.product_id})
        assert own["product"]["id"] == mine.product_id
        assert await mine.storefront(PRODUCT, {"id": theirs.product_id}) == {"product": None}
        assert await mine.storefront(NODE, {"id": theirs.product_id}) == {"node": None}
        assert await mine.me(NODE, {"id": theirs.paid_order}) == {"node": None}
        assert await mine.admin(PRODUCT, {"id": theirs.product_id}) == {"product": None}
        # Positive controls: the same queries find the tenant's own objects.
        assert (await mine.storefront(NODE, {"id": mine.product_id}))["node"]["id"] == (
            mine.product_id
        )
        assert await mine.me(NODE, {"id": mine.paid_order}) == {
            "node": {"id": mine.paid_order, "status": "PAID"}
        }


async def test_orders_of_the_other_tenant_are_invisible(shops) -> None:
    a, b = shops
    for mine, theirs in ((a, b), (b, a)):
        assert await mine.me(ORDER, {"id": theirs.paid_order}) == {"order": None}
        assert await mine.me(ORDER, {"id": theirs.pending_order}) == {"order": None}
        assert await mine.admin(ADMIN_ORDER, {"id": theirs.paid_order}) == {"order": None}
        own = [
            {"node": {"id": mine.paid_order, "status": "PAID"}},
            {"node": {"id": mine.pending_order, "status": "PENDING_PAYMENT"}},
        ]
        assert (await mine.me(MY_ORDERS))["myOrders"]["edges"] == own
        assert (await mine.admin(ADMIN_ORDERS))["orders"]["edges"] == own


# --- storefront writes -----------------------------------------------------------------------


async def test_place_order_with_the_other_tenants_sku_fails_and_writes_nothing(shops) -> None:
    a, b = shops
    before = await snapshot()
    for mine, theirs in ((a, b), (b, a)):
        lines = [{"skuId": theirs.sku_id, "quantity": 1}]
        placed = await mine.me(PLACE, {"lines": lines, "key": f"steal-{mine.info.slug}"})
        assert placed["placeOrder"] == {
            "order": None,
            "errors": [
                {"code": "NOT_FOUND", "field": "lines[0].skuId", "message": "SKU not found"}
            ],
        }
        # A mixed cart names the foreign line, and the own line takes no stock either.
        mixed = [{"skuId": mine.sku_id, "quantity": 2}, {"skuId": theirs.sku_id, "quantity": 1}]
        placed = await mine.me(PLACE, {"lines": mixed, "key": f"mixed-{mine.info.slug}"})
        assert placed["placeOrder"]["errors"] == [
            {"code": "NOT_FOUND", "field": "lines[1].skuId", "message": "SKU not found"}
        ]
        quoted = await mine.me(QUOTE, {"lines": lines})
        assert quoted["quote"] == {
            "quote": None,
            "errors": [
                {"code": "NOT_FOUND", "field": "lines[0].skuId", "message": "SKU not found"}
            ],
        }
    assert await snapshot() == before


async def test_pay_cancel_confirm_refund_of_the_other_tenants_order(shops) -> None:
    a, b = shops
    before = await snapshot()
    for mine, theirs in ((a, b), (b, a)):
        paid = await mine.me(PAY, {"id": theirs.pending_order, "key": f"x-{mine.info.slug}"})
        assert paid["payOrder"] == {
            "order": None,
            "paymentStatus": None,
            "errors": not_found("orderId", "order"),
        }
        cancelled = await mine.me(CANCEL, {"id": theirs.pending_order})
        assert cancelled["cancelOrder"] == {"order": None, "errors": not_found("orderId", "order")}
        confirmed = await mine.me(CONFIRM, {"id": theirs.paid_order})
        assert confirmed["confirmReceipt"] == {
            "order": None,
            "errors": not_found("orderId", "order"),
        }
        asked = await mine.me(REQUEST_REFUND, {"id": theirs.paid_order})
        assert asked["requestRefund"] == {"refund": None, "errors": not_found("orderId", "order")}
    assert await snapshot() == before
    # The owners can still act on their own orders afterwards.
    own = await a.me(CANCEL, {"id": a.pending_order})
    assert own["cancelOrder"] == {"order": {"status": "CANCELLED"}, "errors": []}


REFUSED = {
    "errors": [
        {
            "message": "the session has ended or the token is not valid; log in again",
            "extensions": {"code": "UNAUTHENTICATED"},
        }
    ]
}


async def refused(client: GraphQLClient, query: str, variables: Any = None) -> None:
    """The request is answered 401 UNAUTHENTICATED before anything runs."""
    headers = {"X-Tenant": client.tenant, "Authorization": f"Bearer {client.token}"}
    response = await client.http.post(
        client.path, json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 401, response.text
    assert response.json() == REFUSED
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_member_token_of_one_tenant_is_refused_by_the_other(shops) -> None:
    a, b = shops
    before = await snapshot()
    for mine, theirs in ((a, b), (b, a)):
        # The other tenant's member has the same phone and would otherwise look alike.
        intruder = mine.storefront.as_(theirs.member_token)
        lines = [{"skuId": mine.sku_id, "quantity": 1}]
        for query, variables in (
            ("{ me { phone } }", None),
            (NODE, {"id": theirs.paid_order}),
            (MY_ORDERS, None),
            (ORDER, {"id": mine.paid_order}),
            (PLACE, {"lines": lines, "key": "intruder"}),
            (PAY, {"id": mine.pending_order, "key": "intruder"}),
            (CANCEL, {"id": mine.pending_order}),
            (QUOTE, {"lines": lines, "points": 100}),
            (QUOTE, {"lines": lines}),  # even what anyone may ask
        ):
            await refused(intruder, query, variables)
        # Without the token the same quote is answered: 1000 at ``shop``; 900 at
        # ``other``, whose example plugin takes 10% off tea.
        anonymous_quote = await mine.storefront(QUOTE, {"lines": lines})
        expected_total = 1000 if mine is a else 900
        assert anonymous_quote["quote"]["quote"]["total"] == {"amount": expected_total}
    assert await snapshot() == before


async def test_staff_token_of_one_tenant_on_the_others_admin_api(shops) -> None:
    a, b = shops
    before = await snapshot()
    for mine, theirs in ((a, b), (b, a)):
        intruder = mine.admin.as_(theirs.staff_token)
        for query, variables in (
            (PRODUCTS, None),
            (ADMIN_ORDERS, None),
            (ADMIN_ORDER, {"id": mine.paid_order}),
            ("{ members { edges { node { phone } } } }", None),
            (FULFIL, {"id": mine.paid_order}),
            (REFUND, {"id": mine.paid_order, "key": "intruder"}),
            (UPDATE_PRODUCT, {"id": mine.product_id}),
            (ADJUST_STOCK, {"id": mine.sku_id, "delta": 5}),
        ):
            await refused(intruder, query, variables)
        # A member token is a live one of this tenant, but no staff token.
        member = mine.admin.as_(mine.member_token)
        fulfilled = await member(FULFIL, {"id": mine.paid_order})
        assert fulfilled["fulfilOrder"]["errors"] == unauthenticated("log in as staff first")
    assert await snapshot() == before


async def test_admin_mutations_cannot_reach_the_other_tenants_rows(shops) -> None:
    a, b = shops
    before = await snapshot()
    for mine, theirs in ((a, b), (b, a)):
        updated = await mine.admin(UPDATE_PRODUCT, {"id": theirs.product_id})
        assert updated["updateProduct"] == {"product": None, "errors": not_found("id", "product")}
        adjusted = await mine.admin(ADJUST_STOCK, {"id": theirs.sku_id, "delta": 5})
        assert adjusted["adjustStock"] == {"sku": None, "errors": not_found("skuId", "SKU")}
        removed = await mine.admin(ADJUST_STOCK, {"id": theirs.sku_id, "delta": -1})
        assert removed["adjustStock"] == {"sku": None, "errors": not_found("skuId", "SKU")}
        priced = await mine.admin(UPDATE_SKU, {"id": theirs.sku_id})
        assert priced["updateSku"] == {"sku": None, "errors": not_found("skuId", "SKU")}
        deleted = await mine.admin(DELETE_PRODUCT, {"id": theirs.product_id})
        assert deleted["deleteProduct"] == {"deleted": False, "errors": not_found("id", "product")}
        fulfilled = await mine.admin(FULFIL, {"id": theirs.paid_order})
        assert fulfilled["fulfilOrder"] == {"order": None, "errors": not_found("orderId", "order")}
        refunded = await mine.admin(REFUND, {"id": theirs.paid_order, "key": "r-1"})
        assert refunded["refundOrder"] == {"refund": None, "errors": not_found("orderId", "order")}
        # The own order with the other tenant's line: the line is not in this order.
        lines = [{"lineId": theirs.paid_line, "quantity": 1}]
        refunded = await mine.admin(REFUND, {"id": mine.paid_order, "key": "r-2", "lines": lines})
        assert refunded["refundOrder"] == {
            "refund": None,
            "errors": [
                {
                    "code": "NOT_FOUND",
                    "field": "lines[0].lineId",
                    "message": "no such line in this order",
                }
            ],
        }
    assert await snapshot() == before
    # Positive control: the owner's own mutations go through.
    own = await a.admin(ADJUST_STOCK, {"id": a.sku_id, "delta": 5})
    assert own["adjustStock"] == {"sku": {"id": a.sku_id, "stock": 13}, "errors": []}
    assert (await Sku.get(id=b.sku_pk)).stock == 8


async def test_categories_stores_refunds_referrers_and_logins_stay_in_their_tenant(
    shops,
) -> None:
    a, b = shops
    category = """mutation($name: String!, $id: ID, $parent: ID) {
      saveCategory(name: $name, id: $id, parentId: $parent) {
        category { id name } errors { code field message } } }"""
    made = await a.admin(category, {"name": "Green"})
    a_category = made["saveCategory"]["category"]["id"]
    renamed = await b.admin(category, {"name": "Mine", "id": a_category})
    assert renamed["saveCategory"] == {"category": None, "errors": not_found("id", "category")}
    child = await b.admin(category, {"name": "Child", "parent": a_category})
    assert child["saveCategory"] == {
        "category": None,
        "errors": not_found("parentId", "parent category"),
    }
    gone = await b.admin(
        "mutation($id: ID!) { deleteCategory(id: $id) { deleted errors { code field } } }",
        {"id": a_category},
    )
    assert gone["deleteCategory"] == {
        "deleted": False,
        "errors": [{"code": "NOT_FOUND", "field": "id"}],
    }
    created = await b.admin(
        """mutation($cat: ID!) { createProduct(input: {name: "X", categoryId: $cat}) {
             product { id } errors { code field message } } }""",
        {"cat": a_category},
    )
    assert created["createProduct"] == {
        "product": None,
        "errors": not_found("categoryId", "category"),
    }
    assert await b.storefront("{ categories { id } }") == {"categories": []}
    by_category = await b.storefront(
        "query($c: ID!) { products(categoryId: $c) { edges { cursor } } }", {"c": a_category}
    )
    assert by_category == {"products": {"edges": []}}

    # A member's refund request of one tenant cannot be decided by the other's staff.
    asked = await b.me(REQUEST_REFUND, {"id": b.paid_order})
    assert asked["requestRefund"] == {"refund": {"status": "OPEN"}, "errors": []}
    refund_id = to_global("Refund", (await Refund.get(tenant_id=b.info.id)).id)
    decided = await a.admin(
        """mutation($id: ID!) { decideRefund(refundId: $id, approve: true) {
             refund { status } errors { code field message } } }""",
        {"id": refund_id},
    )
    assert decided["decideRefund"] == {"refund": None, "errors": not_found("refundId", "refund")}
    assert (await Refund.get(tenant_id=b.info.id)).status == "open"
    assert (await Order.get(tenant_id=b.info.id, status="paid")).refunded_amount == 0

    # Stores and staff: neither side of a link may belong to the other tenant.
    store = await a.admin(
        'mutation { createStore(name: "West Lake") { store { id } errors { code } } }'
    )
    a_store = store["createStore"]["store"]["id"]
    b_staff = (await b.admin("{ staff { id } }"))["staff"][0]["id"]
    a_staff = (await a.admin("{ staff { id } }"))["staff"][0]["id"]
    assign = """mutation($store: ID!, $staff: ID!) { assignStoreStaff(storeId: $store,
      staffId: $staff) { staff { id } errors { code field message } } }"""
    linked = await b.admin(assign, {"store": a_store, "staff": b_staff})
    assert linked["assignStoreStaff"] == {"staff": None, "errors": not_found("storeId", "store")}
    linked = await a.admin(assign, {"store": a_store, "staff": b_staff})
    assert linked["assignStoreStaff"] == {"staff": None, "errors": not_found("staffId", "staff")}
    own = await a.admin(assign, {"store": a_store, "staff": a_staff})
    assert own["assignStoreStaff"] == {"staff": {"id": a_staff}, "errors": []}

    # A referrer of the other tenant is unknown; logins only see their own tenant.
    registered = await b.storefront(
        """mutation($ref: ID!) { register(phone: "13700000000", password: "secret-1",
             referrerId: $ref) { token errors { code field message } } }""",
        {"ref": to_global("Member", a.member_pk)},
    )
    assert registered["register"] == {
        "token": None,
        "errors": [{"code": "NOT_FOUND", "field": "referrerId", "message": "referrer not found"}],
    }
    await create_staff(a.info, "alice", "clerk")
    login = (
        'mutation { staffLogin(username: "alice", password: "password") { token errors { code } } }'
    )
    assert (await a.admin.as_()(login))["staffLogin"]["token"]
    refused = await b.admin.as_()(login)
    assert refused["staffLogin"] == {"token": None, "errors": [{"code": "INVALID_CREDENTIALS"}]}
    await create_member(a.info, "13600000000")
    member_login = (
        'mutation { login(phone: "13600000000", password: "password") { token errors { code } } }'
    )
    assert (await a.storefront(member_login))["login"]["token"]
    assert (await b.storefront(member_login))["login"] == {
        "token": None,
        "errors": [{"code": "INVALID_CREDENTIALS"}],
    }


# --- the tenant header -----------------------------------------------------------------------


async def test_unknown_tenant_is_a_404_json_error(http, tenant) -> None:
    for path in ("/graphql", "/admin/graphql"):
        response = await http.post(
            path, json={"query": "{ products { edges { cursor } } }"}, headers={"X-Tenant": "nope"}
        )
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {
            "errors": [
                {"code": "NOT_FOUND", "field": "X-Tenant", "message": "tenant 'nope' not found"}
            ]
        }
    # Without the header the default tenant (demo) is meant; it does not exist here.
    response = await http.post("/graphql", json={"query": "{ products { edges { cursor } } }"})
    assert response.status_code == 404
    assert response.json()["errors"][0]["message"] == "tenant 'demo' not found"


async def test_suspended_tenant_gets_403_until_reactivated(http, shops) -> None:
    a, b = shops
    op = await Operator.create(username="platform", password_hash=hash_password("op-secret"))
    operator = GraphQLClient(
        http, "/admin/graphql", a.info.slug, await issue_token("operator", op.id, None)
    )
    suspended = await operator(UPDATE_TENANT, {"slug": "other", "status": "SUSPENDED"})
    assert suspended["updateTenant"] == {
        "tenant": {"slug": "other", "status": "SUSPENDED"},
        "errors": [],
    }
    expected = {
        "errors": [
            {
                "code": "TENANT_SUSPENDED",
                "field": "X-Tenant",
                "message": "tenant 'other' is suspended",
            }
        ]
    }
    for path, token in (("/graphql", b.member_token), ("/admin/graphql", b.staff_token)):
        response = await http.post(
            path,
            json={"query": "{ products { edges { cursor } } }"},
            headers={"X-Tenant": "other", "Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 403
        assert response.json() == expected
    # The other tenant is unaffected.
    assert len((await a.storefront(PRODUCTS))["products"]["edges"]) == 1
    # Staff of the tenant cannot lift the suspension; an operator can.
    lift = await a.admin(UPDATE_TENANT, {"slug": "other", "status": "ACTIVE"})
    assert lift["updateTenant"] == {
        "tenant": None,
        "errors": [{"code": "FORBIDDEN", "field": None, "message": "platform operators only"}],
    }
    bad = await operator.raw(UPDATE_TENANT, {"slug": "other", "status": "CLOSED"})
    assert bad.get("data") is None and "TenantStatus" in bad["errors"][0]["message"]
    lifted = await operator(UPDATE_TENANT, {"slug": "other", "status": "ACTIVE"})
    assert lifted["updateTenant"]["tenant"] == {"slug": "other", "status": "ACTIVE"}
    assert (await b.me(ORDER, {"id": b.paid_order}))["order"]["status"] == "PAID"


# --- plugins are per tenant ------------------------------------------------------------------


async def test_plugin_of_one_tenant_is_absent_from_the_others_schema(shops) -> None:
    a, b = shops
    counter = await a.storefront.raw("{ exampleCounter }")
    assert counter == {
        "data": None,
        "errors": [
            {
                "message": "`Query.exampleCounter` 属于 example 插件，本店未启用 / "
                "`Query.exampleCounter` belongs to the example plugin, which this shop does "
                "not enable",
                "locations": [{"line": 1, "column": 3}],
                "extensions": {"code": "PLUGIN_DISABLED", "plugin": "example"},
            }
        ],
    }
    badge = await a.storefront.raw(
        PRODUCT.replace("name", "name exampleBadge"), {"id": a.product_id}
    )
    assert badge["data"] is None
    assert [e["extensions"] for e in badge["errors"]] == [
        {"code": "PLUGIN_DISABLED", "plugin": "example"}
    ]
    # The same queries work where the plugin is enabled.
    assert await b.storefront("{ exampleCounter }") == {"exampleCounter": 0}
    assert await b.storefront(
        PRODUCT.replace("name", "name exampleBadge"), {"id": b.product_id}
    ) == {
        "product": {"id": b.product_id, "name": "Oolong Tea", "exampleBadge": "example:Oolong Tea"}
    }

    def names(data: dict[str, Any]) -> set[str]:
        return {f["name"] for f in data["__type"]["fields"]}

    a_query, b_query = (
        names(await a.storefront(QUERY_FIELDS)),
        names(await b.storefront(QUERY_FIELDS)),
    )
    a_product = names(await a.storefront(PRODUCT_FIELDS))
    b_product = names(await b.storefront(PRODUCT_FIELDS))
    assert "exampleCounter" not in a_query and "exampleCounter" in b_query
    assert b_query - a_query == {"exampleCounter"}
    assert "exampleBadge" not in a_product
    assert b_product - a_product == {"exampleBadge"}
    full = await a.storefront("{ __schema { types { name fields { name } } } }")
    every_field = {f["name"] for t in full["__schema"]["types"] for f in t["fields"] or []}
    assert not every_field & {"exampleCounter", "exampleBadge"}


async def test_plugin_of_one_tenant_does_not_price_validate_or_hear_the_other(
    shops, worker
) -> None:
    a, b = shops
    # Both shops sell "… Tea"; only ``other`` enables the 10% tea discount.
    quote_a = await a.storefront(QUOTE, {"lines": [{"skuId": a.sku_id, "quantity": 2}]})
    assert quote_a["quote"] == {
        "quote": {"total": {"amount": 2000}, "adjustments": []},
        "errors": [],
    }
    quote_b = await b.storefront(QUOTE, {"lines": [{"skuId": b.sku_id, "quantity": 2}]})
    assert quote_b["quote"]["quote"] == {
        "total": {"amount": 1800},
        "adjustments": [{"source": "example", "label": "茶叶90折", "amount": {"amount": -200}}],
    }
    ext = {"example": {"extra_off": 100}}
    with_ext = await a.storefront(
        QUOTE, {"lines": [{"skuId": a.sku_id, "quantity": 1}], "ext": ext}
    )
    assert with_ext["quote"]["errors"] == [
        {
            "code": "PLUGIN_DISABLED",
            "field": "extensions.example",
            "message": "example is not enabled for this shop",
        }
    ]
    # Only events of the tenant enabling the plugin are queued for it and delivered.
    jobs = await Job.filter(name="event:yutang_order_paid").values_list("tenant_id", "plugins")
    assert jobs == [(b.info.id, ["example"])]
    await worker.run_until_idle()
    b_paid = (await Order.get(tenant_id=b.info.id, status="paid")).id
    assert [b_paid] == example.PAID_EVENTS
