"""A tenant's payment providers with their credentials: set by its owner, sealed at
rest, opened for each gateway call.

Credentials are checked when saved (the provider's own Struct, then its
``check_credentials``), sealed under the deployment's keys (``yutang.core.sealing``) and
never returned: staff see a hint. Each call gets a :class:`GatewayContext` with the
tenant's credentials and the URL its gateway notifies, ``YUTANG_PUBLIC_URL`` (the
deployment's public address, read where it applies like the other gateway settings)
followed by ``/payments/<tenant>/<provider>/callback``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import msgspec
from tortoise.transactions import in_transaction

from yutang.core import sealing
from yutang.core.contract import TenantInfo
from yutang.core.errors import DomainError
from yutang.core.inputs import convert
from yutang.core.models import GatewayCredentials, Payment, Refund
from yutang.core.payment_contract import GatewayContext, PaymentProvider
from yutang.core.plugins import hooks_of

HOOK = "yutang_payment_providers"
PUBLIC_URL = "YUTANG_PUBLIC_URL"


@dataclass(frozen=True, slots=True)
class Configured:
    """What staff see of one provider's credentials in a tenant."""

    provider: str
    needs_credentials: bool
    configured: bool
    hint: str
    updated_at: datetime | None


def providers(tenant: TenantInfo) -> dict[str, PaymentProvider]:
    """Providers installed in the tenant's plugin set, by name."""
    return hooks_of(tenant).by_name(HOOK)


def provider(
    tenant: TenantInfo, name: str, field: str = "provider", *, installed: bool = False
) -> PaymentProvider:
    """The tenant's provider ``name``, or INVALID naming ``field``; with ``installed``,
    one the tenant has since disabled too (its payments are still followed up)."""
    if installed:
        owned = hooks_of(tenant).registry.owner(HOOK, name)
        found = owned.obj if owned is not None else None
    else:
        found = providers(tenant).get(name)
    if found is None:
        raise DomainError("INVALID", f"unknown payment provider {name!r}", field)
    return cast(PaymentProvider, found)


def callback_url(tenant: TenantInfo, name: str) -> str:
    """Where the gateway of ``name`` posts this tenant's notifications ("" without a
    public URL: a provider that needs one refuses to start a payment)."""
    base = os.environ.get(PUBLIC_URL, "").strip().rstrip("/")
    return f"{base}/payments/{tenant.slug}/{name}/callback" if base else ""


async def context(
    tenant: TenantInfo, name: str, field: str = "provider", *, installed: bool = False
) -> GatewayContext:
    """The context of a call to the tenant's provider ``name`` (``installed``: as for
    :func:`provider`): PROVIDER_NOT_CONFIGURED when it needs credentials the owner has
    not set."""
    found = provider(tenant, name, field, installed=installed)
    schema = found.credentials
    credentials: Any = None
    if schema is not None:
        row = await GatewayCredentials.get_or_none(tenant_id=tenant.id, provider=name)
        if row is None:
            raise DomainError(
                "PROVIDER_NOT_CONFIGURED",
                f"{name} is not set up for this shop: its owner sets its credentials first",
                field,
            )
        credentials = _opened(tenant, name, row.sealed, schema)
    return GatewayContext(tenant, credentials, callback_url(tenant, name))


def _opened(tenant: TenantInfo, name: str, sealed: str, schema: type[msgspec.Struct]) -> Any:
    """The credentials ``sealed`` holds, opened once per process and sealed text."""
    cache = tenant.cache("core", "gateway_credentials", maxsize=16)
    key = (name, hashlib.sha256(sealed.encode()).digest())
    found = cache.get(key)
    if found is None:
        found = cache[key] = msgspec.json.decode(sealing.unseal(sealed), type=schema)
    return found


async def set_credentials(tenant: TenantInfo, name: str, values: object) -> GatewayCredentials:
    """Check and store the tenant's credentials for ``name``, replacing any before."""
    found = provider(tenant, name)
    if found.credentials is None:
        raise DomainError("INVALID", f"{name} takes no credentials", "provider")
    if not isinstance(values, dict):
        raise DomainError("INVALID", "credentials are an object of fields", "credentials")
    credentials = convert(values, found.credentials, "credentials")
    hint = found.check_credentials(credentials)[:200]
    sealed = sealing.seal(msgspec.json.encode(credentials))
    async with in_transaction():
        row = await GatewayCredentials.get_or_none(tenant_id=tenant.id, provider=name)
        if row is None:
            return await GatewayCredentials.create(
                tenant_id=tenant.id, provider=name, sealed=sealed, hint=hint
            )
        row.sealed, row.hint = sealed, hint
        await row.save(update_fields=["sealed", "hint", "updated_at"])
        return row


async def remove_credentials(tenant: TenantInfo, name: str) -> bool:
    """Forget the tenant's credentials for ``name``; whether there were any. Refused
    while a payment through it is open, a stray capture waits to be given back, or a
    refund of the shop waits for a gateway: they could no longer be followed up."""
    provider(tenant, name)
    mine = Payment.filter(tenant_id=tenant.id, provider=name)
    stray = mine.filter(status="captured", claimed_by="core")  # waiting to go back
    waiting = Refund.filter(tenant_id=tenant.id, status="approved")
    if (
        await mine.filter(status="pending").exists()
        or await stray.exists()
        or await waiting.exists()
    ):
        raise DomainError(
            "ILLEGAL_TRANSITION",
            f"payments through {name} are open or refunds wait: remove the credentials "
            "once they settled",
            "provider",
        )
    deleted = await GatewayCredentials.filter(tenant_id=tenant.id, provider=name).delete()
    return deleted > 0


async def configured(tenant: TenantInfo) -> list[Configured]:
    """Each of the tenant's providers, and whether (and how) it is set up."""
    rows = {r.provider: r for r in await GatewayCredentials.filter(tenant_id=tenant.id)}
    found = []
    for name, item in sorted(providers(tenant).items()):
        row = rows.get(name)
        needs = item.credentials is not None
        found.append(
            Configured(
                name,
                needs,
                row is not None or not needs,
                row.hint if row else "",
                row.updated_at if row else None,
            )
        )
    return found


async def reseal_all(progress: Callable[[int, int], None] | None = None) -> int:
    """Seal every tenant's stored credentials again under the newest key (rotation);
    ``progress`` hears (done, total) after each row. The number resealed."""
    ids = list(await GatewayCredentials.all().order_by("id").values_list("id", flat=True))
    for done, row_id in enumerate(ids, 1):
        async with in_transaction():
            row = await GatewayCredentials.filter(id=row_id).select_for_update().first()
            if row is not None:
                await GatewayCredentials.filter(id=row_id).update(sealed=sealing.reseal(row.sealed))
        if progress is not None:
            progress(done, len(ids))
    return len(ids)
