"""Validating input at the edge with msgspec, with errors that name the field."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any, TypeVar

import msgspec

from yutang.core.contract import TenantInfo
from yutang.core.errors import DomainError
from yutang.core.plugins import hooks_of

T = TypeVar("T")

_INDEX = re.compile(r"\.(\d+)(?=\.|$)")


def field_of(err: msgspec.ValidationError, prefix: str = "") -> tuple[str, str]:
    """Split msgspec's ``"reason - at `$.lines[0].quantity`"`` into (field, reason)."""
    text = str(err)
    reason, sep, at = text.rpartition(" - at `")
    if not sep:
        return prefix, text
    path = at.rstrip("`").removeprefix("$").lstrip(".")
    path = _INDEX.sub(r"[\1]", path)
    if prefix:
        path = f"{prefix}.{path}" if path and not path.startswith("[") else prefix + path
    return path, reason


def convert(value: Any, schema: type[T], prefix: str = "") -> T:
    """``msgspec.convert`` raising a DomainError ``INVALID`` that names the field."""
    try:
        return msgspec.convert(value, schema)
    except msgspec.ValidationError as exc:
        path, reason = field_of(exc, prefix)
        raise DomainError("INVALID", reason, path or None) from exc


def bounded(value: str, field: str, max_length: int) -> str:
    """``value`` if it fits a column of ``max_length`` characters; else INVALID naming
    ``field`` (tortoise refuses a longer value with a bare ValidationError, even when it is
    only looked up)."""
    if len(value) > max_length:
        raise DomainError("INVALID", f"Expected `str` of length <= {max_length}", field)
    return value


def one_of(value: str, choices: Collection[str], field: str) -> str:
    """``value`` if it is one of ``choices`` (a filter's statuses); else INVALID naming
    ``field``, rather than a lookup that finds nothing or a value longer than the column."""
    if value not in choices:
        raise DomainError("INVALID", "one of " + ", ".join(choices), field)
    return value


def validate_extensions(
    tenant: TenantInfo, operation: str, raw: dict[str, Any] | None
) -> dict[str, msgspec.Struct]:
    """Validate ``extensions: {plugin: {...}}`` with each enabled plugin's input Struct."""
    out: dict[str, msgspec.Struct] = {}
    for plugin, value in (raw or {}).items():
        field = f"extensions.{plugin}"
        if plugin not in tenant.plugins:
            raise DomainError("UNKNOWN_EXTENSION", f"no enabled plugin {plugin!r}", field)
        schema = hooks_of(tenant).memo.get(("input", operation, plugin))
        if schema is None:
            schema = _input_schema(tenant, operation, plugin)
            hooks_of(tenant).memo[("input", operation, plugin)] = schema
        if schema is False:
            raise DomainError(
                "UNKNOWN_EXTENSION", f"plugin {plugin!r} takes no {operation} input", field
            )
        out[plugin] = convert(value, schema, field)
    return out


def _input_schema(tenant: TenantInfo, operation: str, plugin: str) -> Any:
    caller = hooks_of(tenant).caller("yutang_input_schema")
    for impl in caller.get_hookimpls():
        if impl.plugin_name == plugin:
            return impl.function(operation=operation) or False
    return False
