"""The admin API's one door: every root field names what it requires, checked here before
its resolver, and every mutation that went through is written to the audit log.

A field requires a declared permission, or one of three kinds of caller that are not
permissions: ``ANY_STAFF`` (the caller's own grants), ``OPERATORS`` (the platform's
fields) and ``ANYONE`` (logging in). The admin schema refuses to build with a root field
that names none (``check_fields``), so nothing is reachable unguarded. A refused
mutation answers its payload with the error, a refused query raises it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.field import StrawberryField

from yutang.core import audit
from yutang.core.errors import ConfigError, DomainError, Forbidden
from yutang.core.models import Order
from yutang.core.permissions import Grants, check, grants_for
from yutang.graphql.context import Context
from yutang.graphql.types import UserError

ANY_STAFF = "staff"
OPERATORS = "operators"
ANYONE = "anyone"
KINDS = frozenset({ANY_STAFF, OPERATORS, ANYONE})

log = logging.getLogger(__name__)
Info = strawberry.Info[Context, None]


async def grants(ctx: Context) -> Grants:
    """The caller's grants in this tenant, resolved once per request."""
    if "grants" not in ctx.cache:
        ctx.cache["grants"] = await grants_for(
            ctx.runtime.registry.permissions, ctx.tenant.id, await ctx.principal()
        )
    found: Grants = ctx.cache["grants"]
    return found


async def require(ctx: Context, name: str) -> Grants:
    """The caller's grants if they hold ``name`` (a permission or a kind of caller)."""
    if name == ANYONE:
        return Grants("anyone", False, frozenset(), frozenset())
    if name == OPERATORS:
        principal = await ctx.principal()
        if principal is None or principal.kind != "operator":
            raise Forbidden("platform operators only")
        return await grants(ctx)
    found = await grants(ctx)
    if name != ANY_STAFF:
        check(ctx.runtime.registry.permissions, found, name)
    return found


async def holds(ctx: Context, name: str) -> bool:
    """Whether the caller's grants hold permission ``name`` (False for non-staff)."""
    try:
        found = await grants(ctx)
    except DomainError:
        return False
    if name not in ctx.runtime.registry.permissions:
        raise LookupError(f"nothing declares the permission {name!r}")
    return found.holds(name)


async def require_store(ctx: Context, name: str, store_id: int | None) -> Grants:
    """As :func:`require`, for an object of ``store_id`` (None: of no store)."""
    found = await grants(ctx)
    check(ctx.runtime.registry.permissions, found, name, store_id, scoped=True)
    return found


async def store_scope(ctx: Context, name: str) -> frozenset[int] | None:
    """The stores whose objects the caller reaches through ``name``; None for all."""
    found = await require(ctx, name)
    permission = ctx.runtime.registry.permissions[name]
    return found.stores if permission.store_scoped else None


async def reach_order(ctx: Context, name: str, order_id: int) -> None:
    """Refuse unless the caller's ``name`` reaches the order's store; an order that does
    not exist passes, for the action itself to answer NOT_FOUND."""
    if (await grants(ctx)).stores is None:
        return
    found = await Order.filter(tenant_id=ctx.tenant.id, id=order_id).values_list("store_id")
    if found:
        await require_store(ctx, name, found[0][0])


def _payload_class(field: StrawberryField) -> type | None:
    """The field's payload type if it answers refusals in ``errors``, else None."""
    kind = field.type
    definition = getattr(kind, "__strawberry_definition__", None)
    if isinstance(definition, StrawberryObjectDefinition) and any(
        f.python_name == "errors" for f in definition.fields
    ):
        return kind if isinstance(kind, type) else None
    return None


def _ids(values: Iterable[tuple[str, Any]]) -> str | None:
    """The first global ID among ``values``: ``id``, then ``staff_id`` (who was acted on,
    rather than where), then any other ``…_id``."""
    found = {
        k: v for k, v in values if isinstance(v, str) and v and (k == "id" or k.endswith("_id"))
    }
    for key in ("id", "staff_id"):
        if key in found:
            return found[key]
    return next(iter(found.values()), None)


def target_of(kwargs: dict[str, Any], result: Any) -> str:
    """The global ID a mutation acted on: an ``…Id`` argument, one inside its ``input``,
    the node its payload answers, or else its ``key`` argument (a role's)."""
    found = _ids(kwargs.items())
    inp = kwargs.get("input")
    if found is None and inp is not None and hasattr(inp, "__dict__"):
        found = _ids(vars(inp).items())
    for value in vars(result).values() if found is None and hasattr(result, "__dict__") else ():
        if hasattr(value, "__dict__"):
            found = _ids(vars(value).items())
            if found is not None:
                break
    key = kwargs.get("key")
    return found or (key if isinstance(key, str) else "")


class Requires(FieldExtension):
    """Check ``permission`` before the resolver; with ``audited``, write the audit log
    when the mutation went through."""

    def __init__(self, permission: str, *, audited: bool = False) -> None:
        super().__init__()
        self.permission = permission
        self.audited = audited
        self.plugin = "core" if permission in KINDS else permission.partition(".")[0]
        self._payload: type | None = None

    def apply(self, field: StrawberryField) -> None:
        self._payload = _payload_class(field)

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        ctx = info.context
        try:
            await require(ctx, self.permission)
        except DomainError as err:
            if self._payload is None:
                raise
            return self._payload(errors=[UserError.of(err)])
        result = await next_(source, info, **kwargs)
        if self.audited and self.permission != OPERATORS and not getattr(result, "errors", None):
            await self._record(ctx, info.field_name, target_of(kwargs, result))
        return result

    async def _record(self, ctx: Context, action: str, target: str) -> None:
        principal = await ctx.principal()
        if principal is None or principal.kind == "member":
            return
        try:
            await audit.record(ctx.tenant, principal, action, self.plugin, target)
        except Exception:  # the action stands; a lost entry is logged, never hidden
            log.exception("audit entry for %s on %s not written", action, target)


def required(field: StrawberryField) -> Requires | None:
    """The field's ``Requires``, if it has one."""
    return next((e for e in field.extensions if isinstance(e, Requires)), None)


def check_fields(plugin: str, root: str, fields: Iterable[StrawberryField]) -> None:
    """Refuse an admin root field that requires nothing: every one names a permission."""
    for field in fields:
        if required(field) is None:
            raise ConfigError(
                f"plugin {plugin!r}: admin field {root}.{field.python_name} names no "
                "permission (api.field(..., permission=...))"
            )


def admin_field(permission: str, **options: Any) -> Any:
    """``strawberry.field`` for a core admin query that requires ``permission``."""
    return strawberry.field(extensions=[Requires(permission)], **options)


def admin_mutation(permission: str, **options: Any) -> Any:
    """``strawberry.mutation`` for a core admin mutation that requires ``permission``,
    audited."""
    return strawberry.mutation(extensions=[Requires(permission, audited=True)], **options)
