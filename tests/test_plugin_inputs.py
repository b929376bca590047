"""A plugin's input Struct becomes its GraphQL input type when the plugin registers: the
types and names it gets, and the Structs GraphQL cannot carry, refused at registration.
How the typed input is sent and refused over HTTP is in test_plugins, test_groupbuy and
test_bad_input."""

from __future__ import annotations

import datetime
import re
from types import ModuleType
from typing import Annotated, Any, Literal

import msgspec
import pytest

from yutang import api
from yutang.core import builtin
from yutang.core.errors import ConfigError
from yutang.core.plugins import PluginRegistry
from yutang.graphql.schema import build_schema


def plugin(**inputs: object) -> ModuleType:
    """A plugin module taking ``inputs[operation]``."""
    module = ModuleType("input_plugin")

    @api.hookimpl
    def yutang_input_schema(operation: str) -> object:
        return inputs.get(operation)

    module.yutang_input_schema = yutang_input_schema  # type: ignore[attr-defined]
    return module


def registry(**plugins: ModuleType) -> PluginRegistry:
    found = PluginRegistry()
    found.register("core", builtin)
    for name, module in plugins.items():
        found.register(name, module)
    return found


def sdl_of(found: PluginRegistry, *names: str) -> str:
    """The SDL of the named input types in the storefront schema of the core alone."""
    sdl = build_schema("storefront", found.plugin_set([])).as_str()
    blocks = re.findall(r'(?:"""[^"]*"""\n)?input \w+ \{[^}]*\}', sdl)
    return "\n".join(b for b in blocks if re.search(rf"input ({'|'.join(names)}) ", b))


class Slot(msgspec.Struct, rename="camel"):
    """When to come."""

    starts_at: datetime.datetime
    day: datetime.date | None = None


class Booking(msgspec.Struct, rename="camel"):
    """A table to book."""

    store_id: Annotated[str, msgspec.Meta(description="The store's ID.")]
    seats: Annotated[int, msgspec.Meta(ge=1, le=12)]
    kind: Literal["hall", "room"] = "hall"
    share: float = 1.0
    quiet: bool = False
    note: str | None = None
    slot: Slot | None = None
    guests: list[Slot] = []
    tags: frozenset[str] = frozenset()


def test_a_struct_becomes_input_types_named_after_the_plugin_and_its_path() -> None:
    found = registry(table_booking=plugin(checkout=Booking))
    assert (
        sdl_of(found, "CheckoutExtensionsInput", r"TableBooking\w+")
        == '''\
"""
Input for plugins at checkout (quote, placeOrder, the cart), one field per installed \
plugin that takes any. Every shop's schema has every field, so one document serves every \
shop: input for a plugin the shop does not enable is refused with `PLUGIN_DISABLED` \
naming `extensions.<plugin>`, and a field left out or null gives that plugin no input.
"""
input CheckoutExtensionsInput {
  table_booking: TableBookingCheckoutInput
}
"""When to come."""
input TableBookingCheckoutGuestsInput {
  startsAt: DateTime!
  day: Date
}
"""A table to book."""
input TableBookingCheckoutInput {
  """The store's ID."""
  storeId: String!
  seats: Int!

  """One of `hall`, `room`."""
  kind: String
  share: Float
  quiet: Boolean
  note: String
  slot: TableBookingCheckoutSlotInput
  guests: [TableBookingCheckoutGuestsInput!]
  tags: [String!]
}
"""When to come."""
input TableBookingCheckoutSlotInput {
  startsAt: DateTime!
  day: Date
}'''
    )


def test_an_operation_no_plugin_takes_input_for_has_no_extensions() -> None:
    """A GraphQL input object cannot be empty: without input for sign-up, ``register``
    has no ``extensions`` argument (in every tenant's schema alike)."""
    sdl = build_schema("storefront", registry(booking=plugin(checkout=Slot)).plugin_set([]))
    text = sdl.as_str()
    assert "input CheckoutExtensionsInput" in text
    assert "RegisterExtensionsInput" not in text
    assert "extensions: CheckoutExtensionsInput" in text


class Loop(msgspec.Struct):
    next: Loop | None = None


class Tagged(msgspec.Struct, tag=True):
    x: int


class Pair(msgspec.Struct, array_like=True):
    x: int


def struct(**fields: Any) -> type[msgspec.Struct]:
    return msgspec.defstruct("Bad", list(fields.items()))


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (struct(prices=dict[str, int]), "field `prices` of its checkout input is dict"),
        (struct(blob=bytes), "field `blob` of its checkout input is bytes"),
        (struct(anything=Any), "field `anything` of its checkout input is any"),
        (struct(either=str | int), "field `either` of its checkout input is a union"),
        (struct(mixed=Literal["a", 1]), "field `mixed` of its checkout input is a Literal mixing"),
        (struct(rows=list[dict[str, str]]), r"field `rows\[\]` of its checkout input is dict"),
        (Loop, "field `next` of its checkout input refers back to Loop"),
        (struct(inner=Tagged), "field `inner` of its checkout input is an array-like or tagged"),
        (Pair, r"field `\$` of its checkout input is an array-like or tagged"),
        (dict, "must return a msgspec.Struct class or None, not <class 'dict'>"),
    ],
)
def test_a_struct_graphql_cannot_carry_fails_registration(bad: object, reason: str) -> None:
    found = registry()
    with pytest.raises(ConfigError, match=f"plugin 'booking': .*{reason}"):
        found.register("booking", plugin(checkout=bad))
    assert "booking" not in found.plugins and not found.pm.has_plugin("booking")


class Inner(msgspec.Struct):
    x: int


class Outer(msgspec.Struct):
    checkout: Inner


def test_two_plugins_cannot_publish_one_input_type_name() -> None:
    """``a``'s field ``checkout`` and ``a_checkout``'s own input are both
    ``ACheckoutCheckoutInput``: the second plugin to register is refused."""
    found = registry(a=plugin(checkout=Outer))
    with pytest.raises(ConfigError, match="input type ACheckoutCheckoutInput is plugin 'a'"):
        found.register("a_checkout", plugin(checkout=Inner))
