"""Keys retention may forget, the webhook log's retention index, and each tenant's
wanted webhook event types (filled in from the subscriptions there are)."""

import functools
from json import dumps, loads
from typing import Any

from tortoise import fields, migrations
from tortoise.expressions import F
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


async def wanted_events(apps: Any, schema_editor: Any) -> None:
    """Each tenant's ``webhook_events`` from its active subscriptions; a changed tenant's
    settings version is bumped, so running processes reload it."""
    tenant = apps.get_model("core", "Tenant")
    subscription = apps.get_model("core", "WebhookSubscription")
    wanted: dict[int, set[str]] = {}
    for row in await subscription.filter(active=True).only("tenant_id", "event_types"):
        wanted.setdefault(row.tenant_id, set()).update(row.event_types)
    for tenant_id, types in wanted.items():
        await tenant.filter(id=tenant_id).update(
            webhook_events=sorted(types), settings_version=F("settings_version") + 1
        )


async def nothing(apps: Any, schema_editor: Any) -> None:
    """The column goes with the downgrade; nothing to undo first."""


class Migration(migrations.Migration):
    dependencies = [("core", "0014_job_queues")]

    initial = False

    operations = [
        ops.AddField(
            model_name="JobKey",
            name="forget_after",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name="JobKey",
            index=Index(fields=["forget_after"]),
        ),
        ops.AddField(
            model_name="Tenant",
            name="webhook_events",
            field=fields.JSONField(
                null=True,
                encoder=functools.partial(dumps, separators=(",", ":")),
                decoder=loads,
            ),
        ),
        ops.AddIndex(
            model_name="WebhookDelivery",
            index=Index(fields=["created_at"]),
        ),
        ops.RunPython(wanted_events, nothing),
    ]
