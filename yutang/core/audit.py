"""The audit log (操作日志): every staff or operator action through the admin API.

Written by the admin API's door (``yutang.graphql.permissions``) right after a mutation
went through, so no plugin has to remember to; an entry names the actor, the mutation,
the plugin it belongs to and the object it acted on. It is written after the action's own
transaction commits: an action never waits on, nor is undone by, its entry.
"""

from __future__ import annotations

from yutang.core.auth import Principal
from yutang.core.contract import TenantInfo
from yutang.core.models import AuditEntry


async def record(
    tenant: TenantInfo, principal: Principal, action: str, plugin: str, target: str
) -> None:
    """Write one entry for ``principal``'s ``action`` on ``target`` (a global ID)."""
    await AuditEntry.create(
        tenant_id=tenant.id,
        actor=f"{principal.kind}:{principal.id}",
        action=action[:100],
        plugin=plugin[:64],
        target=target[:200],
    )
