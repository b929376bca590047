"""The transactional outbox: events written with the change, delivered after commit."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from yutang.core import clock, webhooks
from yutang.core.models import Job
from yutang.core.plugins import hooks_of

if TYPE_CHECKING:  # tenancy imports the plugin registry, which imports auth, which schedules
    from yutang.core.contract import TenantInfo

EVENT_PREFIX = "event:"


async def emit(
    tenant: TenantInfo,
    hook: str,
    *,
    order_id: int | None = None,
    member_id: int | None = None,
    data: dict[str, Any] | None = None,
    plugins: frozenset[str] | None = None,
) -> None:
    """Queue ``hook`` for every plugin that implements it, one job per recipient.

    Must run inside the transaction of the change, which also queues the event's webhook
    deliveries (``webhooks.enqueue``). ``plugins`` narrows recipients to the
    plugins that took part in an order (they still hear about it after being disabled);
    by default the tenant's enabled plugins. One job per recipient keeps a failing
    handler's retries from re-running the others.
    """
    now = clock.now()
    payload = {
        "order_id": order_id,
        "member_id": member_id,
        "data": data or {},
        "at": now.isoformat(),
    }
    await webhooks.enqueue(tenant, hook, payload)
    hooks = hooks_of(tenant) if plugins is None else hooks_of(tenant).registry.plugin_set(plugins)
    recipients = hooks.implementers(hook)
    if not recipients:
        return
    await Job.bulk_create(
        [
            Job(
                tenant_id=tenant.id,
                name=EVENT_PREFIX + hook,
                payload=payload,
                plugins=[plugin],
                run_at=now,
            )
            for plugin in recipients
        ]
    )


async def schedule(
    tenant_id: int | None,
    name: str,
    payload: dict[str, Any],
    run_at: datetime,
    *,
    dedupe_key: str | None = None,
) -> None:
    """Queue a durable job; with ``dedupe_key`` a second schedule of the same key is a no-op.

    Must run inside the transaction whose commit should make the job real.
    """
    try:
        async with in_transaction():  # a savepoint: a duplicate key must not abort the caller
            await Job.create(
                tenant_id=tenant_id,
                name=name,
                payload=payload,
                run_at=run_at,
                dedupe_key=dedupe_key,
            )
    except IntegrityError:
        if dedupe_key is None:
            raise
