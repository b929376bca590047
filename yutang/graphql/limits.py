"""What a document meets before execution: validation rules chosen per kind of caller,
and the query cost limit (``yutang.graphql.cost``).

ValidationCache keys its results by the rule tuple, so the rule sets are built once and
a request picks one: with introspection or without. A rule built per request would
never hit the cache; a rule that looked at the caller inside one cached set would hand
one caller's verdict to the next. The cost depends on the variables, which validation
never sees, so it is checked after validation, from a plan made once per document.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FieldsOnCorrectTypeRule,
    GraphQLError,
    ValidationRule,
    specified_rules,
)
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionContext

from yutang.core.settings import AppSettings
from yutang.edge.operation import sha256_hex
from yutang.edge.persisted import registered
from yutang.graphql.cost import QueryCost
from yutang.graphql.plugin_fields import PluginFieldsRule


class NoIntrospection(ValidationRule):
    """Refuses ``__schema`` and ``__type`` (``__typename`` stays: clients need it)."""

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        if node.name.value in ("__schema", "__type"):
            self.report_error(
                GraphQLError(
                    "Introspection is disabled here; the schema is published as SDL "
                    "(docs/schema in the Yutang repository).",
                    node,
                    extensions={"code": "INTROSPECTION_DISABLED"},
                )
            )


@dataclass(frozen=True)
class Policy:
    """One surface's limits: its cost bound, the bound for operations on the tenant's
    allowlist (storefront), and who may introspect it."""

    max_cost: int
    max_cost_persisted: int | None
    introspection: Literal["on", "staff", "off"]

    @classmethod
    def of(cls, surface: str, settings: AppSettings) -> Policy:
        """The policy ``settings`` give ``surface`` (staff introspect the admin API only)."""
        introspection = settings.introspection_policy
        if surface == "admin":
            return cls(settings.max_cost_admin, None, introspection)
        if introspection == "staff":
            introspection = "off"
        return cls(settings.max_cost_storefront, settings.max_cost_persisted, introspection)


@dataclass(frozen=True)
class RuleSets:
    """The validation rules beyond the specification's, as the two tuples a request may
    get: with introspection and without. Built once, so ValidationCache keys repeat."""

    open: tuple[type[ASTValidationRule], ...]
    closed: tuple[type[ASTValidationRule], ...]

    @classmethod
    def of(cls, rules: list[type[ASTValidationRule]]) -> RuleSets:
        """Both sets: the specification's rules (the unknown-field rule naming disabled
        plugins), ``rules``, and NoIntrospection for one."""
        spec = (PluginFieldsRule if r is FieldsOnCorrectTypeRule else r for r in specified_rules)
        base = (*spec, *rules)
        return cls(base, (*base, NoIntrospection))


class Limits(SchemaExtension):
    """Per request: the rule set for the caller, then the cost once the document is
    valid. Listed after ValidationCache, whose verdict it reads."""

    def __init__(self, policy: Policy, rules: RuleSets, cost: QueryCost) -> None:
        super().__init__()
        self.policy = policy
        self.rules = rules
        self.cost = cost

    async def on_operation(self) -> AsyncIterator[None]:
        ec = self.execution_context
        allowed = await self._may_introspect(ec)
        ec.validation_rules = self.rules.open if allowed else self.rules.closed
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        ec = self.execution_context
        if not ec.pre_execution_errors and ec.graphql_document is not None:
            refusal = await self._too_costly(ec, ec.graphql_document)
            if refusal is not None:
                ec.pre_execution_errors = [refusal]
        yield

    async def _may_introspect(self, ec: ExecutionContext) -> bool:
        who = self.policy.introspection
        if who != "staff":
            return who == "on"
        principal = await ec.context.principal()
        return principal is not None and principal.kind in ("staff", "operator")

    async def _too_costly(
        self, ec: ExecutionContext, document: DocumentNode
    ) -> GraphQLError | None:
        cost = self.cost.of(ec.schema._schema, document, ec.operation_name, ec.variables)
        limit = self.policy.max_cost
        if cost is None or cost <= limit:
            return None
        persisted = self.policy.max_cost_persisted
        if (
            persisted is not None
            and ec.query is not None
            and await registered(ec.context.tenant.id, sha256_hex(ec.query))
        ):
            limit = persisted
        if cost <= limit:
            return None
        return GraphQLError(
            f"Query cost {cost} is over the limit of {limit}: ask for smaller pages "
            "(first/last), fewer aliases or fewer nested lists.",
            extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "limit": limit},
        )
