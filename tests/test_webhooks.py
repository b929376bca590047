"""Webhooks end to end: subscriptions through the admin API, events from real business
writes, delivered by the job worker to a real HTTP receiver on loopback (allowed by
``YUTANG_WEBHOOK_ALLOW_PRIVATE``), signatures checked by hand and by the Standard
Webhooks library, retries, disabling, redelivery and the outbound address checks."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import importlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from standardwebhooks import Webhook
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from yutang.core import clock, retention
from yutang.core.clock import FrozenClock
from yutang.core.contract import TenantInfo
from yutang.core.members import RegisterInput, register
from yutang.core.models import (
    Job,
    Sku,
    Tenant,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from yutang.core.runtime import Runtime
from yutang.core.settings import WebhookSettings
from yutang.core.webhooks_delivery import DISABLE_AFTER, DISABLE_AFTER_FAILURES
from yutang.core.webhooks_outbound import Target, post
from yutang.core.worker import Worker
from yutang.graphql.ids import to_global
from yutang.testing import GraphQLClient, create_staff

CREATE = """
mutation($url: String!, $types: [String!]!) {
  createWebhookSubscription(input: {url: $url, eventTypes: $types, description: "ERP"}) {
    subscription { id url eventTypes active secretHint } secret errors { code field message }
  }
}"""
DELIVERIES = """
query($id: ID!) {
  webhookDeliveries(subscriptionId: $id) {
    edges { node { id messageId eventType status payload lastStatusCode
      attempts { number manual succeeded statusCode durationMs error responseExcerpt } } }
  }
}"""
SUBSCRIPTIONS = """
{ webhookSubscriptions { edges { node {
  id active disabledReason consecutiveFailures failingSince } } } }"""


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    """An HTTP server on loopback answering ``answers`` in turn, then ``default``."""

    answers: list[int] = field(default_factory=list)
    default: int = 200
    reply: bytes = b"ok"
    delay: float = 0.0
    got: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks?src=yutang"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        lines = head.split("\r\n")[1:]
        headers = {k.lower(): v for k, _, v in (ln.partition(": ") for ln in lines if ln)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        status = self.answers.pop(0) if self.answers else self.default
        self.got.append(Received(headers, body, status))
        if self.delay:
            await asyncio.sleep(self.delay)
        extra = "Location: https://example.com/\r\n" if 300 <= status < 400 else ""
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Length: {len(self.reply)}\r\n{extra}"
            "Connection: close\r\n\r\n".encode()
            + self.reply
        )
        await writer.drain()
        writer.close()

    def accepted(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.got if 200 <= r.status < 300]


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUTANG_WEBHOOK_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("YUTANG_WEBHOOK_ALLOW_HTTP", "1")


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    try:
        yield found
    finally:
        server.close()
        await server.wait_closed()


async def subscribe(admin: GraphQLClient, url: str, types: list[str]) -> tuple[str, str]:
    data = (await admin(CREATE, {"url": url, "types": types}))["createWebhookSubscription"]
    assert data["errors"] == [], data["errors"]
    return data["subscription"]["id"], data["secret"]


async def sign_up(runtime: Runtime, tenant: TenantInfo, phone: str) -> int:
    """Register as a request would: with the tenant as it is now (its subscriptions'
    event types are part of it)."""
    now = await runtime.tenants.by_slug(tenant.slug)
    member, _ = await register(now, RegisterInput(phone=phone, password="secret-1"), 30)
    return int(member.id)


def by_hand(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The Standard Webhooks signature recomputed from the spec, not by its library."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return f"v1,{expected}" in headers["webhook-signature"].split(" ")


async def test_a_member_signing_up_reaches_the_receiver_signed_and_versioned(
    allow_loopback: None,
    admin: GraphQLClient,
    tenant: TenantInfo,
    yutang_db: Runtime,
    worker: Worker,
    receiver: Receiver,
) -> None:
    sub_id, secret = await subscribe(admin, receiver.url, ["member.registered"])
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    listed = await admin(SUBSCRIPTIONS)
    assert "secret" not in json.dumps(listed).replace("secretHint", "")
    member_id = await sign_up(yutang_db, tenant, "13700000001")

    assert await worker.run_until_idle() == 1
    [got] = receiver.got
    assert by_hand(secret, got.headers, got.body)
    assert Webhook(secret).verify(got.body, got.headers)["type"] == "member.registered"
    assert not by_hand("whsec_" + base64.b64encode(b"x" * 32).decode(), got.headers, got.body)
    assert got.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert got.headers["content-type"] == "application/json"
    body = json.loads(got.body)
    assert body["version"] == 1 and body["tenant"] == tenant.slug
    assert body["data"]["member"]["id"] == to_global("Member", member_id)
    assert body["data"]["member"]["phone"] == "13700000001"

    log = (await admin(DELIVERIES, {"id": sub_id}))["webhookDeliveries"]["edges"]
    [node] = [e["node"] for e in log]
    assert (node["status"], node["messageId"]) == ("DELIVERED", got.headers["webhook-id"])
    assert node["payload"] == body
    [tried] = node["attempts"]
    assert (tried["succeeded"], tried["statusCode"], tried["responseExcerpt"]) == (True, 200, "ok")


async def test_order_events_carry_the_order_as_the_write_left_it(
    allow_loopback: None,
    admin: GraphQLClient,
    member: tuple[Any, GraphQLClient],
    make_product: Any,
    worker: Worker,
    receiver: Receiver,
) -> None:
    await subscribe(admin, receiver.url, ["order.placed", "order.paid"])
    _, me = member
    product = await make_product("Tea", [(5000, 4)])
    sku = await Sku.get(product_id=product.id)
    placed = await me(
        'mutation($l: [LineInput!]!) { placeOrder(input: {lines: $l, idempotencyKey: "k1"}) '
        "{ order { id number } errors { code } } }",
        {"l": [{"skuId": to_global("Sku", sku.id), "quantity": 2}]},
    )
    order = placed["placeOrder"]["order"]
    paid = await me(
        'mutation($id: ID!) { payOrder(input: {orderId: $id, idempotencyKey: "p1"}) '
        "{ errors { code } } }",
        {"id": order["id"]},
    )
    assert paid["payOrder"]["errors"] == []
    assert await worker.run_until_idle() == 2
    bodies = {b["type"]: b["data"] for b in (json.loads(r.body) for r in receiver.got)}
    assert bodies["order.placed"]["order"]["id"] == order["id"]
    assert bodies["order.placed"]["order"]["status"] == "pending_payment"
    assert bodies["order.paid"]["order"]["status"] == "paid"
    assert bodies["order.paid"]["order"]["number"] == order["number"]
    assert bodies["order.paid"]["amount"] == bodies["order.paid"]["order"]["total"] == 10_000


async def test_a_rolled_back_write_sends_nothing(
    allow_loopback: None,
    admin: GraphQLClient,
    tenant: TenantInfo,
    yutang_db: Runtime,
    worker: Worker,
    receiver: Receiver,
) -> None:
    await subscribe(admin, receiver.url, ["member.registered"])
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await sign_up(yutang_db, tenant, "13700000002")
            assert await WebhookDelivery.all().count() == 1  # queued with the write
            raise RuntimeError("the business write fails after its event")
    assert await WebhookDelivery.all().count() == 0
    assert await Job.filter(name="core.webhook_deliver").count() == 0
    await worker.run_until_idle()
    assert receiver.got == []


async def test_a_receiver_that_fails_then_recovers_gets_every_event_once_per_id(
    allow_loopback: None,
    admin: GraphQLClient,
    tenant: TenantInfo,
    yutang_db: Runtime,
    receiver: Receiver,
    frozen_clock: FrozenClock,
) -> None:
    sub_id, secret = await subscribe(admin, receiver.url, ["member.registered"])
    receiver.answers = [500, 503, 500, 500]
    for i in range(3):
        await sign_up(yutang_db, tenant, f"1370000010{i}")
    first, second = Worker(yutang_db), Worker(yutang_db)
    await first.run_until_idle()
    assert len(receiver.got) == 3 and receiver.accepted() == []
    frozen_clock.advance(timedelta(seconds=11))
    await asyncio.gather(first.run_until_idle(), second.run_until_idle())
    frozen_clock.advance(timedelta(minutes=2))
    await first.run_until_idle()
    for _ in range(5):  # nothing more is sent, however long we wait
        frozen_clock.advance(timedelta(hours=11))
        await first.run_until_idle()

    ids = [d.message_id for d in await WebhookDelivery.all()]
    assert sorted(receiver.accepted()) == sorted(ids) and len(set(ids)) == 3
    assert len(receiver.got) == 3 + 4  # each event accepted once, after four failures
    for got in receiver.got:  # retries are the same message, signed anew
        assert by_hand(secret, got.headers, got.body)
        same = [
            r.body for r in receiver.got if r.headers["webhook-id"] == got.headers["webhook-id"]
        ]
        assert len(set(same)) == 1
    log = (await admin(DELIVERIES, {"id": sub_id}))["webhookDeliveries"]["edges"]
    assert {e["node"]["status"] for e in log} == {"DELIVERED"}
    codes = sorted(a["statusCode"] for e in log for a in e["node"]["attempts"])
    assert codes == [200, 200, 200, 500, 500, 500, 503]
    sub = await WebhookSubscription.get(tenant_id=tenant.id)
    assert (sub.failures, sub.failing_since) == (0, None)


async def test_persistent_failure_disables_the_subscription_and_tells_the_owner(
    allow_loopback: None,
    admin: GraphQLClient,
    tenant: TenantInfo,
    yutang_db: Runtime,
    worker: Worker,
    receiver: Receiver,
    frozen_clock: FrozenClock,
) -> None:
    sub_id, _ = await subscribe(admin, receiver.url, ["member.registered"])
    receiver.default, receiver.reply = 500, b"E" * 5000
    started = frozen_clock.current
    await sign_up(yutang_db, tenant, "13700000201")
    await sign_up(yutang_db, tenant, "13700000202")
    while (await WebhookSubscription.get(tenant_id=tenant.id)).active:
        await worker.run_until_idle()
        assert frozen_clock.current - started < timedelta(days=3)
        frozen_clock.advance(timedelta(hours=1))
    assert len(receiver.got) >= DISABLE_AFTER_FAILURES
    [node] = [e["node"] for e in (await admin(SUBSCRIPTIONS))["webhookSubscriptions"]["edges"]]
    assert node["active"] is False and "failed attempts in a row" in node["disabledReason"]
    assert frozen_clock.current - started >= DISABLE_AFTER
    assert (await yutang_db.tenants.by_slug(tenant.slug)).webhook_events == frozenset()
    audit = await admin("{ auditLog { edges { node { actor action target } } } }")
    entries = [e["node"] for e in audit["auditLog"]["edges"]]
    assert {
        "actor": "system:webhooks",
        "action": "webhookSubscriptionDisabled",
        "target": sub_id,
    } in entries

    # Nothing more is sent while disabled; the log bounds what it kept of each answer.
    sent = len(receiver.got)
    frozen_clock.advance(timedelta(days=2))
    await worker.run_until_idle()
    assert len(receiver.got) == sent
    log = (await admin(DELIVERIES, {"id": sub_id}))["webhookDeliveries"]["edges"]
    attempts = [a for e in log for a in e["node"]["attempts"]]
    assert all(len(a["responseExcerpt"]) == 1024 and a["error"] == "HTTP 500" for a in attempts)
    assert {e["node"]["status"] for e in log} == {"FAILED"}

    # Switched back on, a redelivery goes out at once under the same id.
    redeliver = "mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { errors { code } } }"
    refused = await admin(redeliver, {"id": log[0]["node"]["id"]})
    assert refused["redeliverWebhook"]["errors"] == [{"code": "ILLEGAL_TRANSITION"}]
    on = await admin(
        "mutation($id: ID!) { updateWebhookSubscription(id: $id, active: true) "
        "{ subscription { active consecutiveFailures } errors { code } } }",
        {"id": sub_id},
    )
    assert on["updateWebhookSubscription"]["subscription"] == {
        "active": True,
        "consecutiveFailures": 0,
    }
    assert (await yutang_db.tenants.by_slug(tenant.slug)).webhook_events == {"member.registered"}
    receiver.default = 200
    done = await admin(redeliver, {"id": log[0]["node"]["id"]})
    assert done["redeliverWebhook"]["errors"] == []
    assert await worker.run_until_idle() == 1
    assert receiver.accepted() == [log[0]["node"]["messageId"]]
    delivery = await WebhookDelivery.get(message_id=log[0]["node"]["messageId"])
    assert delivery.status == "delivered"
    assert await WebhookAttempt.filter(delivery_id=delivery.id, manual=True).count() == 1


async def test_a_rotated_secret_signs_beside_the_new_one_until_it_expires(
    allow_loopback: None,
    admin: GraphQLClient,
    tenant: TenantInfo,
    yutang_db: Runtime,
    worker: Worker,
    receiver: Receiver,
    frozen_clock: FrozenClock,
) -> None:
    sub_id, old = await subscribe(admin, receiver.url, ["member.registered"])
    rotated = await admin(
        "mutation($id: ID!) { rotateWebhookSecret(id: $id, keepPreviousHours: 2) "
        "{ secret subscription { secretHint previousSecretUntil } errors { code } } }",
        {"id": sub_id},
    )
    new = rotated["rotateWebhookSecret"]["secret"]
    assert new != old and rotated["rotateWebhookSecret"]["subscription"]["secretHint"].endswith(
        new[-4:]
    )
    await sign_up(yutang_db, tenant, "13700000301")
    await worker.run_until_idle()
    frozen_clock.advance(timedelta(hours=3))
    await sign_up(yutang_db, tenant, "13700000302")
    await worker.run_until_idle()
    during, after = receiver.got
    assert by_hand(old, during.headers, during.body) and by_hand(new, during.headers, during.body)
    assert Webhook(old).verify(during.body, during.headers)
    assert by_hand(new, after.headers, after.body) and not by_hand(old, after.headers, after.body)


async def test_redirects_are_not_followed_and_slow_receivers_time_out(
    allow_loopback: None,
    admin: GraphQLClient,
    tenant: TenantInfo,
    yutang_db: Runtime,
    worker: Worker,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sub_id, _ = await subscribe(admin, receiver.url, ["member.registered"])
    receiver.answers = [302]
    await sign_up(yutang_db, tenant, "13700000401")
    await worker.run_until_idle()
    assert len(receiver.got) == 1
    monkeypatch.setenv("YUTANG_WEBHOOK_TIMEOUT", "0.5")
    receiver.delay = 2.0
    await sign_up(yutang_db, tenant, "13700000402")
    await worker.run_until_idle()
    log = (await admin(DELIVERIES, {"id": sub_id}))["webhookDeliveries"]["edges"]
    errors = [e["node"]["attempts"][0]["error"] for e in log]
    assert errors == ["no answer within 0.5 s", "HTTP 302"]
    assert all(e["node"]["status"] == "PENDING" for e in log)  # to be retried


REFUSED = [
    "https://127.0.0.1/hooks",
    "https://10.1.2.3/hooks",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]:8443/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
    "https://[64:ff9b::a00:1]/hooks",  # NAT64 onto 10.0.0.1
    "https://[2002:a00:1::]/hooks",  # 6to4 onto 10.0.0.1
    "https://[::127.0.0.1]/hooks",  # IPv4-compatible
    "https://[::ffff:0:7f00:1]/hooks",  # IPv4-translated
    "https://localhost/hooks",
    "https://2130706433/hooks",  # 127.0.0.1 written as one number, as resolvers read it
    "https://0x7f.1/hooks",
    "https://0.0.0.0/hooks",
    "https://192.168.1.10/hooks",
    "http://93.184.216.34/hooks",
    "ftp://93.184.216.34/hooks",
    "https://user:pw@93.184.216.34/hooks",
    "https://93.184.216.34/ho\x01oks",  # httpx would refuse it at every delivery
    "https://93.184.216.34/ho oks",
]


@pytest.mark.parametrize("url", REFUSED)
async def test_private_addresses_and_plain_http_are_refused_unless_allowed(
    admin: GraphQLClient, url: str
) -> None:
    data = (await admin(CREATE, {"url": url, "types": ["order.paid"]}))["createWebhookSubscription"]
    assert data["subscription"] is None
    assert [(e["code"], e["field"]) for e in data["errors"]] == [("INVALID", "url")]
    assert await WebhookSubscription.all().count() == 0


async def test_the_address_is_checked_again_at_delivery(
    allow_loopback: None,
    admin: GraphQLClient,
    tenant: TenantInfo,
    yutang_db: Runtime,
    worker: Worker,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"http://localhost:{receiver.port}/hooks"  # a name that resolves to loopback
    sub_id, _ = await subscribe(admin, url, ["member.registered"])
    monkeypatch.delenv("YUTANG_WEBHOOK_ALLOW_PRIVATE")
    await sign_up(yutang_db, tenant, "13700000501")
    await worker.run_until_idle()
    assert receiver.got == []
    log = (await admin(DELIVERIES, {"id": sub_id}))["webhookDeliveries"]["edges"]
    [tried] = log[0]["node"]["attempts"]
    assert tried["error"].startswith("refused: localhost resolves to a private")


async def test_bad_input_names_its_field_and_staff_without_the_permission_are_refused(
    allow_loopback: None, admin: GraphQLClient, tenant: TenantInfo, receiver: Receiver
) -> None:
    data = (await admin(CREATE, {"url": receiver.url, "types": ["order.paid", "order.eaten"]}))[
        "createWebhookSubscription"
    ]
    assert [(e["code"], e["field"]) for e in data["errors"]] == [("INVALID", "eventTypes.1")]
    data = (await admin(CREATE, {"url": receiver.url, "types": []}))["createWebhookSubscription"]
    assert [(e["code"], e["field"]) for e in data["errors"]] == [("REQUIRED", "eventTypes")]
    _, token = await create_staff(tenant, "mgr", "manager")
    data = (await admin.as_(token)(CREATE, {"url": receiver.url, "types": ["order.paid"]}))[
        "createWebhookSubscription"
    ]
    assert [e["code"] for e in data["errors"]] == ["FORBIDDEN"]
    assert await WebhookSubscription.all().count() == 0


async def test_a_request_goes_to_the_checked_address_not_a_fresh_lookup(
    receiver: Receiver,
) -> None:
    # A name that does not resolve at all still reaches the address checked for it: the
    # request never looks the name up again, so a rebinding answer cannot redirect it.
    target = Target("http", "rebound.invalid", receiver.port, "/hooks", "127.0.0.1")
    outcome = await post(target, {"webhook-id": "msg_1"}, b"{}", WebhookSettings(timeout=5))
    assert (outcome.ok, outcome.status_code, outcome.excerpt) == (True, 200, "ok")
    [got] = receiver.got
    assert got.headers["host"] == f"rebound.invalid:{receiver.port}"
    assert got.headers["webhook-id"] == "msg_1"


async def test_the_tenant_knows_which_event_types_its_subscriptions_want(
    allow_loopback: None,
    admin: GraphQLClient,
    tenant: TenantInfo,
    yutang_db: Runtime,
    worker: Worker,
    receiver: Receiver,
) -> None:
    """The outbox asks for subscriptions only for types some active one wants: the
    tenant's ``webhook_events`` follow every change, and a request sees them at once."""

    async def wanted() -> frozenset[str]:
        return (await yutang_db.tenants.by_slug(tenant.slug)).webhook_events

    assert await wanted() == frozenset()
    first, _ = await subscribe(admin, receiver.url, ["member.registered"])
    second, _ = await subscribe(admin, receiver.url, ["order.paid", "member.registered"])
    assert await wanted() == {"member.registered", "order.paid"}
    change = """mutation($id: ID!, $types: [String!], $active: Boolean) {
      updateWebhookSubscription(id: $id, eventTypes: $types, active: $active) { errors { code } }
    }"""
    await admin(change, {"id": second, "types": ["order.placed"]})
    assert await wanted() == {"member.registered", "order.placed"}
    await admin(change, {"id": first, "active": False})
    assert await wanted() == {"order.placed"}

    # A type nobody wants any more sends nothing, without looking.
    await sign_up(yutang_db, tenant, "13700000601")
    assert await WebhookDelivery.all().count() == 0
    await admin(
        "mutation($id: ID!) { deleteWebhookSubscription(id: $id) { errors { code } } }",
        {"id": second},
    )
    assert await wanted() == frozenset()

    # The migration fills the column in from the subscriptions a deployment already has.
    await admin(change, {"id": first, "active": True})
    await Tenant.filter(id=tenant.id).update(webhook_events=None)
    migration = importlib.import_module("yutang.migrations.0015_retention_keys")
    await migration.wanted_events(Tortoise.apps, None)
    assert await wanted() == {"member.registered"}


async def test_settled_deliveries_leave_the_log_after_its_retention(
    allow_loopback: None,
    admin: GraphQLClient,
    tenant: TenantInfo,
    yutang_db: Runtime,
    worker: Worker,
    receiver: Receiver,
    frozen_clock: FrozenClock,
) -> None:
    sub_id, _ = await subscribe(admin, receiver.url, ["member.registered"])
    receiver.answers = [200]
    await sign_up(yutang_db, tenant, "13700000701")  # delivered at once
    receiver.default = 500
    await sign_up(yutang_db, tenant, "13700000702")  # fails for good after its retries
    while await WebhookDelivery.filter(status="pending").exists():
        await worker.run_until_idle()
        frozen_clock.advance(timedelta(hours=1))
    on = "mutation($id: ID!) { updateWebhookSubscription(id: $id, active: true) "
    on += "{ errors { code } } }"
    await admin(on, {"id": sub_id})  # the failures had switched it off
    receiver.default = 200
    await sign_up(yutang_db, tenant, "13700000703")
    await worker.run_until_idle()
    deliveries = await WebhookDelivery.all().order_by("id")
    assert [d.status for d in deliveries] == ["delivered", "failed", "delivered"]

    # Made 40, 40 and 10 days ago (rows stamp the wall clock when made):
    for delivery, age in zip(deliveries, (40, 40, 10), strict=True):
        made = clock.now() - timedelta(days=age)
        await WebhookDelivery.filter(id=delivery.id).update(created_at=made)
    assert await retention.prune_deliveries(timedelta(days=30)) == 2
    [kept] = await WebhookDelivery.all()
    assert kept.body.count("13700000703") == 1
    assert {a.delivery_id for a in await WebhookAttempt.all()} == {kept.id}
