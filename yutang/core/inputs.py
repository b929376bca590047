"""Validating input at the edge with msgspec, with errors that name the field."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any, TypeVar

import msgspec

from yutang.core.contract import TenantInfo
from yutang.core.errors import DomainError
from yutang.core.plugins import hooks_of
from yutang.core.validation_text import human, not_one_of, too_long

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
    """``msgspec.convert`` raising a DomainError ``INVALID`` that names the field, its
    reason in words a shopper reads (:mod:`yutang.core.validation_text`)."""
    try:
        return msgspec.convert(value, schema)
    except msgspec.ValidationError as exc:
        path, reason = field_of(exc, prefix)
        raise DomainError("INVALID", human(reason), path or None) from exc


def bounded(value: str, field: str, max_length: int) -> str:
    """``value`` if it fits a column of ``max_length`` characters; else INVALID naming
    ``field`` (tortoise refuses a longer value with a bare ValidationError, even when it is
    only looked up)."""
    if len(value) > max_length:
        raise DomainError("INVALID", too_long(max_length), field)
    return value


def one_of(value: str, choices: Collection[str], field: str) -> str:
    """``value`` if it is one of ``choices`` (a filter's statuses); else INVALID naming
    ``field``, rather than a lookup that finds nothing or a value longer than the column."""
    if value not in choices:
        raise DomainError("INVALID", not_one_of(list(choices)), field)
    return value


def validate_extensions(
    tenant: TenantInfo, operation: str, raw: dict[str, Any] | None
) -> dict[str, msgspec.Struct]:
    """Validate ``extensions: {plugin: {...}}`` with each plugin's input Struct.

    Every installed plugin's input type is in every schema, so that one document serves
    every tenant: input for a plugin this tenant does not enable is refused here,
    PLUGIN_DISABLED, before anything is written. A plugin given null gives no input."""
    out: dict[str, msgspec.Struct] = {}
    installed = hooks_of(tenant).registry.plugins
    for plugin, value in (raw or {}).items():
        if value is None:
            continue
        field = f"extensions.{plugin}"
        if plugin not in installed:
            raise DomainError("UNKNOWN_EXTENSION", f"no plugin {plugin!r} is installed", field)
        declared = installed[plugin].inputs.get(operation)
        if declared is None:
            raise DomainError(
                "UNKNOWN_EXTENSION", f"plugin {plugin!r} takes no {operation} input", field
            )
        if plugin not in tenant.plugins:
            raise DomainError("PLUGIN_DISABLED", f"{plugin} is not enabled for this shop", field)
        out[plugin] = convert(value, declared.struct, field)
    return out
