"""A schema's ``ErrorCode`` enum: the core's codes and those installed plugins declare.

``UserError.code`` is typed with it, so frontend codegen gets the codes a tenant's
schema can answer with. A code nobody declared (a plugin's bug: ``CODES.error`` refuses
one, a bare ``DomainError`` cannot) is answered as ``INVALID`` and logged.
"""

from __future__ import annotations

import enum
import logging
from typing import Any, cast

import strawberry
from strawberry.types.field import StrawberryField

from yutang.core.codes import CORE
from yutang.core.plugins import PluginSet

log = logging.getLogger(__name__)

DESCRIPTION = (
    "Every code this schema's errors carry: the core's shared and own codes and those its "
    "plugins declare (`<PLUGIN>_<WHAT>`)."
)


def declared(plugins: PluginSet) -> dict[str, str]:
    """Code → meaning: the core's, then every installed plugin's in name order. Not only
    the set's: a plugin the tenant disabled still answers for the orders it took part in
    (a refund policy), and its code must reach the client as it is."""
    codes = dict(CORE)
    registry = plugins.registry
    for name in sorted(registry.plugins):
        codes.update(registry.plugins[name].error_codes)
    return codes


def code_field(plugins: PluginSet) -> StrawberryField:
    """``UserError.code`` typed with this plugin set's ``ErrorCode`` enum."""
    codes = declared(plugins)
    members = {
        code: strawberry.enum_value(code, description=meaning) for code, meaning in codes.items()
    }
    kind = strawberry.enum(
        cast(type[enum.Enum], enum.Enum("ErrorCode", members)), description=DESCRIPTION
    )

    def code(root: Any) -> Any:
        if root.code in codes:
            return str(root.code)
        log.error("error code %r is declared by no plugin; answered as INVALID", root.code)
        return "INVALID"

    code.__annotations__["return"] = kind
    field: StrawberryField = strawberry.field(
        resolver=code,
        description="What went wrong, to switch on: a shared code (NOT_OPEN, SOLD_OUT, "
        "LIMIT_REACHED, ...), the core's, or a plugin's; docs/schema/errors.md says when each "
        "is raised.",
    )
    field.python_name = "code"
    return field
