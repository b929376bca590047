"""Admin (platform operators): a tenant's own domains and the origins of its storefront."""

from __future__ import annotations

import strawberry

from yutang.core import domains
from yutang.graphql.context import Context
from yutang.graphql.payloads import attempt
from yutang.graphql.permissions import OPERATORS, admin_field, admin_mutation
from yutang.graphql.types import UserError

Info = strawberry.Info[Context, None]


@strawberry.type(description="Where a tenant's storefront is served and called from.")
class TenantDomains:
    slug: str
    hosts: list[str] = strawberry.field(
        description="Host names whose requests are the tenant's without `X-Tenant` "
        "(lower-case, ASCII: an internationalised name is stored in its IDNA form)."
    )
    cors_origins: list[str] = strawberry.field(
        description="Origins whose pages may call the API for this tenant, besides the "
        "deployment's own (`YUTANG_CORS_ORIGINS`)."
    )


@strawberry.type
class TenantDomainsPayload:
    domains: TenantDomains | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DomainsQuery:
    @admin_field(OPERATORS, description="A tenant's domains and CORS origins (operators).")
    async def tenant_domains(self, info: Info, slug: str) -> TenantDomains:
        hosts, origins = await domains.domains_of(slug)
        return TenantDomains(slug=slug, hosts=hosts, cors_origins=origins)


@strawberry.type
class DomainsMutation:
    @admin_mutation(
        OPERATORS,
        description="Replace a tenant's host names and CORS origins (platform operators). "
        "Takes effect at once on the worker answering and within "
        f"{domains.TTL:g} s on every other.",
    )
    async def set_tenant_domains(
        self, info: Info, slug: str, hosts: list[str], cors_origins: list[str]
    ) -> TenantDomainsPayload:
        runtime = info.context.runtime

        async def run() -> TenantDomains:
            kept_hosts, kept_origins = await domains.set_domains(
                slug, hosts, cors_origins, runtime.domains
            )
            return TenantDomains(slug=slug, hosts=kept_hosts, cors_origins=kept_origins)

        found, errors = await attempt(run)
        return TenantDomainsPayload(domains=found, errors=errors)
