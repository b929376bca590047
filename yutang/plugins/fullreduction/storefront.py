"""Storefront GraphQL: the rules running now, for product and cart pages (凑单)."""

from __future__ import annotations

from yutang import api
from yutang.plugins.fullreduction.nodes import RuleNode, rule_node
from yutang.plugins.fullreduction.rules import live_rules


async def full_reductions(info: api.Info) -> list[RuleNode]:
    """Full-reduction rules running now, with their tiers."""
    tenant = info.context.tenant
    return [rule_node(tenant, r) for r in await live_rules(tenant, api.now())]


async def _running(info: api.Info, pk: int) -> RuleNode | None:
    """A rule running now, as ``fullReductions`` lists it."""
    tenant = info.context.tenant
    return next(
        (rule_node(tenant, r) for r in await live_rules(tenant, api.now()) if r.id == pk), None
    )


def contribution() -> api.GraphQLContribution:
    """The storefront schema's full-reduction fields."""
    return api.GraphQLContribution(
        query=[api.field(full_reductions, description="Full-reduction rules running now.")],
        nodes=[api.NodeType(RuleNode, _running)],
    )
