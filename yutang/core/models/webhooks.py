"""Webhooks: a tenant's subscriptions, one delivery per subscription and event, and the
attempts made to deliver it."""

from __future__ import annotations

from tortoise import fields

from yutang.core.models.base import Timestamped


class WebhookSubscription(Timestamped):
    """Where a tenant's outside system wants some event types posted, signed with its secret.

    ``secret`` is shown once, when made or rotated; after a rotation ``previous_secret``
    still signs (beside the new one) until ``previous_until``. ``failures`` counts
    consecutive failed attempts since ``failing_since``; too many for too long disables it.
    """

    url = fields.CharField(max_length=2000)
    event_types: list[str] = fields.JSONField(default=list)
    description = fields.CharField(max_length=200, default="")
    secret = fields.CharField(max_length=100)
    previous_secret = fields.CharField(max_length=100, null=True)
    previous_until = fields.DatetimeField(null=True)
    active = fields.BooleanField(default=True)
    disabled_at = fields.DatetimeField(null=True)
    disabled_reason = fields.CharField(max_length=300, null=True)
    failures = fields.IntField(default=0)
    failing_since = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_subscription"
        indexes = (("tenant_id", "active", "id"),)


class WebhookDelivery(Timestamped):
    """One event for one subscription, sent as one body under one ``message_id``.

    Every attempt sends the same bytes with the same ``webhook-id`` header, so a receiver
    de-duplicates retries and redeliveries.
    """

    subscription: fields.ForeignKeyRelation[WebhookSubscription] = fields.ForeignKeyField(
        "core.WebhookSubscription", related_name=False, on_delete=fields.CASCADE, db_index=False
    )
    subscription_id: int
    message_id = fields.CharField(max_length=64, unique=True)
    event_type = fields.CharField(max_length=64)
    body = fields.TextField()
    status = fields.CharField(max_length=16, default="pending")
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    last_status_code = fields.IntField(null=True)
    last_error = fields.CharField(max_length=500, null=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_delivery"
        indexes = (("tenant_id", "subscription_id", "id"), ("created_at",))


class WebhookAttempt(Timestamped):
    """One POST of a delivery: what came back (status, a bounded excerpt) or what failed."""

    delivery: fields.ForeignKeyRelation[WebhookDelivery] = fields.ForeignKeyField(
        "core.WebhookDelivery", related_name=False, on_delete=fields.CASCADE, db_index=False
    )
    delivery_id: int
    number = fields.IntField()
    manual = fields.BooleanField(default=False)
    succeeded = fields.BooleanField(default=False)
    status_code = fields.IntField(null=True)
    duration_ms = fields.IntField(default=0)
    error = fields.CharField(max_length=500, null=True)
    response_excerpt = fields.TextField(default="")

    class Meta:
        table = "webhook_attempt"
        indexes = (("tenant_id", "delivery_id", "id"),)
