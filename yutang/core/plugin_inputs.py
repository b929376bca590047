"""A plugin's input Struct read as the GraphQL input type it becomes.

``yutang_input_schema`` returns a msgspec Struct; the GraphQL layer publishes it as an
input type so that codegen can type ``extensions.groupbuy.team``, and the core still
validates what arrives with the Struct. The shape is read here, once, when the plugin is
registered: a type GraphQL cannot carry fails start-up naming the plugin and the field,
never a request. The names are the plugin's in PascalCase, then the operation, then the
path of a nested Struct (``PickupCheckoutInput``, ``PickupCheckoutSlotInput``), so they
are stable, and unique across plugins whose names differ.
"""

from __future__ import annotations

import datetime
import inspect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import msgspec
import msgspec.inspect as mi

from yutang.core.errors import ConfigError

OPERATIONS = ("checkout", "register")
"""The operations a plugin may take input for (``yutang_input_schema(operation)``)."""

SCALARS: Mapping[type[mi.Type], type] = MappingProxyType(
    {
        mi.StrType: str,
        mi.IntType: int,
        mi.FloatType: float,
        mi.BoolType: bool,
        mi.DateTimeType: datetime.datetime,
        mi.DateType: datetime.date,
    }
)
SUPPORTED = (
    "str, int, float, bool, datetime, date, a Literal of strs or of ints, a Struct, "
    "a list, set, frozenset or tuple[T, ...] of one of these, and any of them | None"
)


@dataclass(frozen=True, slots=True)
class ListOf:
    """A GraphQL list; ``nullable`` when its items may be null."""

    item: Kind
    nullable: bool


@dataclass(frozen=True, slots=True)
class InputField:
    """A field of an input type: ``key`` is its GraphQL name and the key msgspec reads
    (the Struct's encoded name); ``nullable`` unless it is required and None is refused."""

    name: str
    key: str
    kind: Kind
    nullable: bool
    description: str | None


@dataclass(frozen=True, slots=True)
class InputObject:
    """A GraphQL input object type read from a Struct."""

    name: str
    description: str | None
    fields: tuple[InputField, ...]

    def names(self) -> Iterator[str]:
        """Its name and those of the input types nested in it."""
        yield self.name
        for f in self.fields:
            kind = f.kind
            while isinstance(kind, ListOf):
                kind = kind.item
            if isinstance(kind, InputObject):
                yield from kind.names()


Kind = type | ListOf | InputObject
"""A scalar (one of the Python types of :data:`SCALARS`), a list or an input object."""


@dataclass(frozen=True, slots=True)
class PluginInput:
    """What a plugin takes for one operation: its Struct and the type read from it."""

    plugin: str
    operation: str
    struct: type[msgspec.Struct]
    shape: InputObject


def pascal(name: str) -> str:
    """``group_buy`` → ``GroupBuy``; ``storeId`` → ``StoreId``."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def plugin_input(plugin: str, operation: str, struct: object) -> PluginInput:
    """The input ``plugin`` declares for ``operation``; ConfigError naming the field when
    a type cannot be one of a GraphQL input."""
    if not (isinstance(struct, type) and issubclass(struct, msgspec.Struct)):
        raise ConfigError(
            f"plugin {plugin!r}: yutang_input_schema({operation!r}) must return a "
            f"msgspec.Struct class or None, not {struct!r}"
        )
    reader = _Reader(plugin, operation)
    info = mi.type_info(struct)
    assert isinstance(info, mi.StructType)
    shape = reader.struct(info, pascal(plugin) + pascal(operation), "")
    return PluginInput(plugin, operation, struct, shape)


class _Reader:
    """Reads one Struct tree, refusing what GraphQL input types cannot carry."""

    def __init__(self, plugin: str, operation: str) -> None:
        self.plugin = plugin
        self.operation = operation
        self.names: set[str] = set()
        self.path: list[type] = []

    def fail(self, at: str, what: str) -> ConfigError:
        return ConfigError(
            f"plugin {self.plugin!r}: field `{at}` of its {self.operation} input {what} "
            f"(a GraphQL input type can hold {SUPPORTED})"
        )

    def struct(self, info: mi.StructType, stem: str, at: str) -> InputObject:
        name = stem + "Input"
        if info.array_like or info.tag is not None:
            raise self.fail(at or "$", "is an array-like or tagged Struct")
        if info.cls in self.path:
            raise self.fail(at, f"refers back to {info.cls.__name__}, which nests forever")
        if name in self.names:
            raise self.fail(at, f"would be named {name}, as another of its types is")
        self.names.add(name)
        self.path.append(info.cls)
        fields = []
        for f in info.fields:
            here = f"{at}.{f.encode_name}" if at else f.encode_name
            kind, nullable, description = self.kind(f.type, stem + pascal(f.encode_name), here)
            fields.append(
                InputField(f.name, f.encode_name, kind, nullable or not f.required, description)
            )
        self.path.pop()
        doc = inspect.cleandoc(info.cls.__doc__) if info.cls.__doc__ else None
        return InputObject(name, doc, tuple(fields))

    def kind(self, info: mi.Type, stem: str, at: str) -> tuple[Kind, bool, str | None]:
        """(kind, whether None is accepted, description) of one msgspec type."""
        if isinstance(info, mi.Metadata):
            description = (info.extra_json_schema or {}).get("description")
            kind, nullable, inner = self.kind(info.type, stem, at)
            return kind, nullable, description or inner
        if isinstance(info, mi.UnionType):
            others = [t for t in info.types if not isinstance(t, mi.NoneType)]
            if len(others) != 1:
                raise self.fail(at, "is a union of several types")
            kind, _, description = self.kind(others[0], stem, at)
            return kind, True, description
        if isinstance(info, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
            item, nullable, description = self.kind(info.item_type, stem, f"{at}[]")
            return ListOf(item, nullable), False, description
        if isinstance(info, mi.StructType):
            return self.struct(info, stem, at), False, None
        if isinstance(info, mi.LiteralType):
            return self.literal(info, at)
        scalar = SCALARS.get(type(info))
        if scalar is None:
            raise self.fail(at, f"is {_shown(info)}")
        return scalar, False, None

    def literal(self, info: mi.LiteralType, at: str) -> tuple[Kind, bool, str | None]:
        kinds = {type(v) for v in info.values}
        if kinds not in ({str}, {int}):
            raise self.fail(at, "is a Literal mixing types")
        described = ", ".join(f"`{v}`" for v in info.values)
        return kinds.pop(), False, f"One of {described}."


def _shown(info: mi.Type) -> str:
    """``DictType``, ``AnyType`` → ``dict``, ``any``: how the refusal names a type."""
    return type(info).__name__.removesuffix("Type").lower()
