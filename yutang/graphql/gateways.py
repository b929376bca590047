"""Admin: which payment providers a shop has, whether each is set up, and its owner
setting their credentials (``docs/payments.md``). Credentials are never returned."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from yutang.core import gateways
from yutang.graphql.context import Context
from yutang.graphql.payloads import attempt
from yutang.graphql.permissions import admin_field, admin_mutation
from yutang.graphql.types import UserError

Info = strawberry.Info[Context, None]
PERMISSION = "core.payments.credentials"


@strawberry.type(description="A payment provider of the shop and whether it can take payments.")
class PaymentProviderSetup:
    provider: str
    needs_credentials: bool = strawberry.field(
        description="False for providers that need none (`dev`)."
    )
    configured: bool = strawberry.field(description="Its credentials are set (or it needs none).")
    hint: str = strawberry.field(
        description="What identifies the credentials set (a merchant id, a key serial's end); "
        "never a secret."
    )
    updated_at: datetime | None


@strawberry.type
class PaymentCredentialsPayload:
    setup: PaymentProviderSetup | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _node(item: gateways.Configured) -> PaymentProviderSetup:
    return PaymentProviderSetup(
        provider=item.provider,
        needs_credentials=item.needs_credentials,
        configured=item.configured,
        hint=item.hint,
        updated_at=item.updated_at,
    )


async def _setup(info: Info, provider: str) -> PaymentProviderSetup:
    found = await gateways.configured(info.context.tenant)
    return _node(next(c for c in found if c.provider == provider))


@strawberry.type
class GatewaysQuery:
    @admin_field(PERMISSION, description="The shop's payment providers and their set-up.")
    async def payment_providers(self, info: Info) -> list[PaymentProviderSetup]:
        return [_node(c) for c in await gateways.configured(info.context.tenant)]


@strawberry.type
class GatewaysMutation:
    @admin_mutation(
        PERMISSION,
        description="Set the shop's credentials for a payment provider (the owner's alone): "
        "checked, then stored sealed; they replace any set before and are never shown again. "
        "Fields per provider are in docs/payments.md.",
    )
    async def set_payment_credentials(
        self, info: Info, provider: str, credentials: JSON
    ) -> PaymentCredentialsPayload:
        tenant = info.context.tenant

        async def run() -> PaymentProviderSetup:
            await gateways.set_credentials(tenant, provider, credentials)
            return await _setup(info, provider)

        found, errors = await attempt(run)
        return PaymentCredentialsPayload(setup=found, errors=errors)

    @admin_mutation(
        PERMISSION,
        description="Forget the shop's credentials for a provider: it takes no payments "
        "until they are set again (refunds of its payments wait too).",
    )
    async def remove_payment_credentials(
        self, info: Info, provider: str
    ) -> PaymentCredentialsPayload:
        tenant = info.context.tenant

        async def run() -> PaymentProviderSetup:
            await gateways.remove_credentials(tenant, provider)
            return await _setup(info, provider)

        found, errors = await attempt(run)
        return PaymentCredentialsPayload(setup=found, errors=errors)
