"""msgspec's validation reasons as text a shopper can read, in Chinese and English.

msgspec says ``Expected `int` >= 1`` or ``Expected `str` matching regex '^1\\d{10}$'``:
exact, and meant for programmers. A storefront shows ``errors[].message`` as it comes,
so :func:`human` rewrites each reason msgspec gives (``field`` still names the input)
into ``中文 / English``. A reason it does not know — a Struct's own check, written for
people already — is kept as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType

KINDS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "str": ("文字", "text"),
        "int": ("整数", "a whole number"),
        "float": ("数字", "a number"),
        "bool": ("true 或 false", "true or false"),
        "array": ("列表", "a list"),
        "object": ("对象", "an object"),
        "null": ("空值", "null"),
        "datetime": ("日期时间", "a date and time"),
        "date": ("日期", "a date"),
        "time": ("时间", "a time"),
    }
)

_BOUNDS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        ">=": ("不能小于 {n}", "at least {n}"),
        ">": ("必须大于 {n}", "more than {n}"),
        "<=": ("不能大于 {n}", "at most {n}"),
        "<": ("必须小于 {n}", "less than {n}"),
    }
)
_LENGTHS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        ">=": ("至少 {n} {unit}", "at least {n} {units}"),
        "<=": ("最多 {n} {unit}", "at most {n} {units}"),
    }
)
_UNITS: Mapping[str, tuple[str, str, str]] = MappingProxyType(
    {
        "str": ("个字符", "character", "characters"),
        "array": ("项", "item", "items"),
        "object": ("项", "entry", "entries"),
    }
)
EXAMPLES: Mapping[str, str] = MappingProxyType(
    {"datetime": "2026-06-01T10:00:00+08:00", "date": "2026-06-01", "time": "10:00:00"}
)


def both(zh: str, en: str) -> str:
    """One message in both languages, Chinese first."""
    return f"{zh} / {en}"


def _kind(name: str) -> tuple[str, str]:
    return KINDS.get(name, (name, name))


def _bound(m: re.Match[str]) -> str:
    zh, en = _BOUNDS[m["op"]]
    return both(zh.format(n=m["n"]), en.format(n=m["n"]))


def _length(m: re.Match[str]) -> str:
    zh, en = _LENGTHS[m["op"]]
    unit, one, many = _UNITS[m["kind"]]
    units = one if m["n"] == "1" else many
    return both(zh.format(n=m["n"], unit=unit), en.format(n=m["n"], units=units))


def _wrong_type(m: re.Match[str]) -> str:
    zh, en = _kind(m["kind"])
    return both(f"应为{zh}", f"expected {en}")


def _bad_time(m: re.Match[str]) -> str:
    zh, en = _kind(m["kind"])
    example = EXAMPLES[m["kind"]]
    return both(f"{zh}格式不正确，例如 {example}", f"not {en} like {example}")


_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"Expected `(int|float)` (?P<op>>=|>|<=|<) (?P<n>-?[\d.e+]+)"), _bound),
    (
        re.compile(r"Expected `(?P<kind>str|array|object)` of length (?P<op>>=|<=) (?P<n>\d+)"),
        _length,
    ),
    (
        re.compile(r"Expected `(int|float)` that's a multiple of (?P<n>[\d.]+)"),
        lambda m: both(f"必须是 {m['n']} 的倍数", f"a multiple of {m['n']}"),
    ),
    (
        re.compile(r"Expected `str` matching regex"),
        lambda m: both("格式不正确", "not in the expected format"),
    ),
    (
        re.compile(r"Expected `datetime` with a timezone component"),
        lambda m: both("需要带时区", "needs a time zone offset"),
    ),
    (re.compile(r"Invalid RFC3339 encoded (?P<kind>datetime|date|time)"), _bad_time),
    (re.compile(r"Expected `(?P<kind>\w+)(?: \| \w+)*`, got `\w+`"), _wrong_type),
    (
        re.compile(r"Object missing required field `(?P<name>[^`]+)`"),
        lambda m: both(f"缺少必填项 {m['name']}", f"{m['name']} is required"),
    ),
    (
        re.compile(r"Object contains unknown field `(?P<name>[^`]+)`"),
        lambda m: both(f"没有 {m['name']} 这一项", f"{m['name']} is not a field of this input"),
    ),
    (
        re.compile(r"Invalid enum value"),
        lambda m: both("不是可选的值", "not one of the allowed values"),
    ),
)


def human(reason: str) -> str:
    """``reason`` (a msgspec ValidationError's, without its path) for people."""
    for pattern, text in _RULES:
        found = pattern.match(reason)
        if found:
            return text(found)
    return reason


def too_long(max_length: int) -> str:
    """Text longer than ``max_length`` characters."""
    return both(f"最多 {max_length} 个字符", f"at most {max_length} characters")


def not_one_of(choices: list[str]) -> str:
    """A value not among ``choices``."""
    listed = ", ".join(choices)
    return both(f"应为 {'、'.join(choices)} 之一", f"one of {listed}")
