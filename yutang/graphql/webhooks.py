"""Admin: webhook subscriptions, their secrets, deliveries and redelivery
(``docs/operations.md``, "Webhooks")."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import msgspec
import strawberry
from strawberry.scalars import JSON

from yutang.core import webhooks, webhooks_delivery
from yutang.core.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from yutang.core.webhooks_events import TYPES
from yutang.core.webhooks_signing import hint
from yutang.graphql.context import Context
from yutang.graphql.ids import pk_of
from yutang.graphql.payloads import attempt
from yutang.graphql.permissions import admin_field, admin_mutation
from yutang.graphql.types import Connection, Node, UserError, gid, keyset_page

Info = strawberry.Info[Context, None]
PERMISSION = "core.webhooks.manage"
ATTEMPTS_SHOWN = 20


@strawberry.enum(description="Where a webhook delivery stands.")
class WebhookDeliveryStatus(Enum):
    PENDING = strawberry.enum_value("pending", description="Not yet accepted; retried.")
    DELIVERED = strawberry.enum_value("delivered", description="Accepted with a 2xx.")
    FAILED = strawberry.enum_value("failed", description="Every attempt failed.")


@strawberry.type(description="An event type a subscription may ask for, with its body version.")
class WebhookEventType:
    name: str
    version: int
    description: str


@strawberry.type(description="Where some of the shop's events are posted, signed.")
class WebhookSubscriptionNode(Node):
    url: str
    event_types: list[str]
    description: str
    active: bool = strawberry.field(
        description="False when staff switched it off or persistent failures disabled it."
    )
    disabled_at: datetime | None
    disabled_reason: str | None
    consecutive_failures: int = strawberry.field(
        description="Failed attempts in a row; too many over too long disables it."
    )
    failing_since: datetime | None
    secret_hint: str = strawberry.field(
        description="The end of the current secret; the secret itself is shown only when "
        "made or rotated."
    )
    previous_secret_until: datetime | None = strawberry.field(
        description="Until when the rotated-out secret still signs beside the current one."
    )
    created_at: datetime


@strawberry.type(description="One POST of a delivery and what came back.")
class WebhookAttemptNode:
    number: int
    at: datetime
    manual: bool = strawberry.field(description="A redelivery asked for by staff.")
    succeeded: bool
    status_code: int | None
    duration_ms: int
    error: str | None = strawberry.field(description="Why there was no 2xx answer.")
    response_excerpt: str = strawberry.field(description="The first 1 KiB of the answer.")


@strawberry.type(description="One event for one subscription: the same id and body every try.")
class WebhookDeliveryNode(Node):
    message_id: str = strawberry.field(description="The `webhook-id` header.")
    event_type: str
    status: WebhookDeliveryStatus
    payload: JSON = strawberry.field(description="The body sent.")
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    attempts: list[WebhookAttemptNode] = strawberry.field(
        description=f"Its attempts, the latest {ATTEMPTS_SHOWN} at most, oldest first."
    )


@strawberry.type
class WebhookSubscriptionPayload:
    subscription: WebhookSubscriptionNode | None = None
    secret: str | None = strawberry.field(
        default=None,
        description="The signing secret (`whsec_…`): shown by create and rotate only, once.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteWebhookSubscriptionPayload:
    deleted: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookDeliveryPayload:
    delivery: WebhookDeliveryNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class WebhookSubscriptionInput:
    url: str = strawberry.field(description="An https URL resolving to public addresses.")
    event_types: list[str] = strawberry.field(description="Names from `webhookEventTypes`.")
    description: str = ""


def subscription_node(row: WebhookSubscription) -> WebhookSubscriptionNode:
    """The GraphQL view of a subscription, without its secret."""
    return WebhookSubscriptionNode(
        id=gid("WebhookSubscription", row.id),
        url=row.url,
        event_types=list(row.event_types),
        description=row.description,
        active=row.active,
        disabled_at=row.disabled_at,
        disabled_reason=row.disabled_reason,
        consecutive_failures=row.failures,
        failing_since=row.failing_since,
        secret_hint=hint(row.secret),
        previous_secret_until=row.previous_until if row.previous_secret else None,
        created_at=row.created_at,
    )


async def delivery_nodes(tenant_id: int, rows: list[WebhookDelivery]) -> list[WebhookDeliveryNode]:
    """Deliveries with their latest attempts, in one query for the page."""
    found: dict[int, list[WebhookAttemptNode]] = {r.id: [] for r in rows}
    if rows:
        tries = WebhookAttempt.filter(tenant_id=tenant_id, delivery_id__in=list(found))
        for a in await tries.order_by("id"):
            found[a.delivery_id].append(
                WebhookAttemptNode(
                    number=a.number,
                    at=a.created_at,
                    manual=a.manual,
                    succeeded=a.succeeded,
                    status_code=a.status_code,
                    duration_ms=a.duration_ms,
                    error=a.error,
                    response_excerpt=a.response_excerpt,
                )
            )
    return [
        WebhookDeliveryNode(
            id=gid("WebhookDelivery", r.id),
            message_id=r.message_id,
            event_type=r.event_type,
            status=WebhookDeliveryStatus(r.status),
            payload=msgspec.json.decode(r.body),
            created_at=r.created_at,
            next_attempt_at=r.next_attempt_at,
            delivered_at=r.delivered_at,
            last_status_code=r.last_status_code,
            last_error=r.last_error,
            attempts=found[r.id][-ATTEMPTS_SHOWN:],
        )
        for r in rows
    ]


@strawberry.type
class WebhooksQuery:
    @admin_field(PERMISSION, description="The event types a subscription may ask for.")
    async def webhook_event_types(self, info: Info) -> list[WebhookEventType]:
        return [
            WebhookEventType(name=t.name, version=t.version, description=t.description)
            for t in TYPES.values()
        ]

    @admin_field(PERMISSION, description="The shop's webhook subscriptions, newest first.")
    async def webhook_subscriptions(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[WebhookSubscriptionNode]:
        query = WebhookSubscription.filter(tenant_id=info.context.tenant.id)
        return await keyset_page(
            query, first, after, lambda rows: list(map(subscription_node, rows))
        )

    @admin_field(
        PERMISSION,
        description="A subscription's delivery log, newest first; of one status if given.",
    )
    async def webhook_deliveries(
        self,
        info: Info,
        subscription_id: strawberry.ID,
        first: int = 20,
        after: str | None = None,
        status: WebhookDeliveryStatus | None = None,
    ) -> Connection[WebhookDeliveryNode]:
        tenant = info.context.tenant
        sub_id = pk_of(subscription_id, "WebhookSubscription", "subscriptionId")
        query = WebhookDelivery.filter(tenant_id=tenant.id, subscription_id=sub_id)
        if status is not None:
            query = query.filter(status=status.value)
        return await keyset_page(query, first, after, lambda rows: delivery_nodes(tenant.id, rows))


@strawberry.type
class WebhooksMutation:
    @admin_mutation(
        PERMISSION,
        description="Subscribe a URL to event types; the payload's `secret` is shown this "
        "once. The URL's addresses must be public (unless the deployment allows others).",
    )
    async def create_webhook_subscription(
        self, info: Info, input: WebhookSubscriptionInput
    ) -> WebhookSubscriptionPayload:
        tenant = info.context.tenant

        async def run() -> tuple[WebhookSubscription, str]:
            return await webhooks.create(tenant, input.url, input.event_types, input.description)

        made, errors = await attempt(run)
        if made is None:
            return WebhookSubscriptionPayload(errors=errors)
        return WebhookSubscriptionPayload(subscription=subscription_node(made[0]), secret=made[1])

    @admin_mutation(
        PERMISSION,
        description="Change what is given; `active: true` switches a disabled subscription "
        "back on and clears its failures.",
    )
    async def update_webhook_subscription(
        self,
        info: Info,
        id: strawberry.ID,
        url: str | None = None,
        event_types: list[str] | None = None,
        description: str | None = None,
        active: bool | None = None,
    ) -> WebhookSubscriptionPayload:
        tenant = info.context.tenant

        async def run() -> WebhookSubscriptionNode:
            row = await webhooks.update(
                tenant,
                pk_of(id, "WebhookSubscription"),
                url=url,
                event_types=event_types,
                description=description,
                active=active,
            )
            return subscription_node(row)

        node, errors = await attempt(run)
        return WebhookSubscriptionPayload(subscription=node, errors=errors)

    @admin_mutation(
        PERMISSION,
        description="A new signing secret, shown this once; the old one keeps signing beside "
        "it for `keepPreviousHours` (0: stops at once).",
    )
    async def rotate_webhook_secret(
        self, info: Info, id: strawberry.ID, keep_previous_hours: int = 24
    ) -> WebhookSubscriptionPayload:
        tenant = info.context.tenant

        async def run() -> tuple[WebhookSubscription, str]:
            sub_id = pk_of(id, "WebhookSubscription")
            return await webhooks.rotate(tenant, sub_id, keep_previous_hours)

        made, errors = await attempt(run)
        if made is None:
            return WebhookSubscriptionPayload(errors=errors)
        return WebhookSubscriptionPayload(subscription=subscription_node(made[0]), secret=made[1])

    @admin_mutation(PERMISSION, description="Delete a subscription with its delivery log.")
    async def delete_webhook_subscription(
        self, info: Info, id: strawberry.ID
    ) -> DeleteWebhookSubscriptionPayload:
        tenant = info.context.tenant

        async def run() -> bool:
            await webhooks.delete(tenant, pk_of(id, "WebhookSubscription"))
            return True

        done, errors = await attempt(run)
        return DeleteWebhookSubscriptionPayload(deleted=bool(done), errors=errors)

    @admin_mutation(
        PERMISSION,
        description="Send a delivery again now, with the same `webhook-id` and body.",
    )
    async def redeliver_webhook(
        self, info: Info, delivery_id: strawberry.ID
    ) -> WebhookDeliveryPayload:
        tenant = info.context.tenant

        async def run() -> WebhookDeliveryNode:
            row = await webhooks_delivery.redeliver(
                tenant, pk_of(delivery_id, "WebhookDelivery", "deliveryId")
            )
            return (await delivery_nodes(tenant.id, [row]))[0]

        node, errors = await attempt(run)
        return WebhookDeliveryPayload(delivery=node, errors=errors)
