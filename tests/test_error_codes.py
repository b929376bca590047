"""Every error code a client can see is declared: the core's in ``yutang.core.codes``,
a plugin's in its ``yutang_error_codes``; ``docs/schema/errors.md`` lists them all.

The source is read, not run: every ``DomainError(...)``, ``CODES.error(...)`` and seckill
``Refused(...)`` with a literal code is found, and its code must be the core's or, in a
plugin, that plugin's own. A plugin raises its own codes through ``CODES.error`` (which
refuses an undeclared one at run time), never through a bare ``DomainError``.

On drift of the list, regenerate it with ``UPDATE_SDL=1 pytest tests/test_error_codes.py``.
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_schema_sdl import UPDATE, first_party_plugins

from yutang.core import builtin, codes
from yutang.core.plugins import PluginRegistry
from yutang.graphql.error_codes import code_field
from yutang.graphql.schema import build_schema
from yutang.plugins import pickup, presale

ROOT = Path(__file__).resolve().parent.parent
LIST = ROOT / "docs" / "schema" / "errors.md"
CODE = re.compile(r"[A-Z][A-Z0-9_]*[A-Z0-9]")
EXAMPLE = ROOT / "examples" / "bargain" / "yutang_bargain"


def declared() -> dict[str, Mapping[str, str]]:
    """Each first-party plugin's (and the bargain example's) declared codes, by plugin."""
    found: dict[str, Mapping[str, str]] = {}
    for name, module in first_party_plugins():
        hook = getattr(module, "yutang_error_codes", None)
        found[name] = hook().codes if hook is not None else {}
    found["bargain"] = example_codes()
    return found


def example_codes() -> dict[str, str]:
    """The bargain example's ``ErrorCodes("bargain", {...})``, read from its source (it is
    installed only in its own CI step)."""
    for path in EXAMPLE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", None) == "ErrorCodes"
                and len(node.args) == 2
            ):
                literal: dict[str, str] = ast.literal_eval(node.args[1])
                return literal
    return {}


def sources() -> Iterator[tuple[str | None, Path]]:
    """``(owning plugin or None for the core, path)`` of every source file that raises."""
    for path in sorted((ROOT / "yutang").rglob("*.py")):
        if "migrations" in path.parts or "scaffold" in path.parts:
            continue
        parts = path.relative_to(ROOT / "yutang").parts
        yield (parts[1] if parts[0] == "plugins" and len(parts) > 2 else None), path
    for path in sorted(EXAMPLE.rglob("*.py")):
        if "migrations" not in path.parts:
            yield "bargain", path


def raised(path: Path) -> Iterator[tuple[int, str, str]]:
    """``(line, call, code)`` of each call building an error from a literal code."""
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        call = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if call in ("DomainError", "error", "Refused") and CODE.fullmatch(first.value):
            yield node.lineno, call, first.value


def test_every_literal_code_is_the_cores_or_the_owning_plugins() -> None:
    plugins = declared()
    wrong = []
    for owner, path in sources():
        own = plugins.get(owner, {}) if owner else {}
        for line, call, code in raised(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if code in codes.CORE:
                continue
            if call == "DomainError" and code in own:
                wrong.append(f"{where}: raise {code} through CODES.error, not DomainError")
            elif code not in own:
                wrong.append(f"{where}: {code} is declared by neither the core nor {owner}")
    assert wrong == []


def test_no_plugin_declares_a_core_code_or_an_unused_one() -> None:
    plugins = declared()
    used: dict[str, set[str]] = {}
    for owner, path in sources():
        if owner is not None:
            used.setdefault(owner, set()).update(code for _, _, code in raised(path))
    for name, own in plugins.items():
        assert not set(own) & set(codes.CORE), name
        assert set(own) <= used.get(name, set()), f"{name} declares codes it never raises"


def render(plugins: Mapping[str, Mapping[str, str]]) -> str:
    """The list of every code: the core's, those refused before GraphQL, each plugin's."""

    def table(rows: Mapping[str, str]) -> list[str]:
        return ["| code | when |", "|---|---|", *(f"| `{c}` | {w} |" for c, w in rows.items())]

    out = [
        "# Error codes",
        "",
        "Generated from `yutang/core/codes.py` and each first-party plugin's",
        "`yutang_error_codes` (regenerate with `UPDATE_SDL=1 pytest tests/test_error_codes.py`).",
        "A payload's `errors { code field message }` carries one of these; `field` names the",
        "input at fault. A plugin raises the shared codes and its own `<PLUGIN>_<WHAT>` ones.",
        "",
        "## Shared: any plugin raises these, each with one meaning",
        "",
        *table(codes.SHARED),
        "",
        "## The core's own",
        "",
        *table(codes.CORE_ONLY),
        "",
        "## Refused before GraphQL runs (in `errors[].extensions.code`)",
        "",
        *table(codes.REQUEST),
    ]
    for name, own in sorted(plugins.items()):
        if name == "bargain":
            continue
        out += ["", f"## {name}", ""]
        out += table(dict(sorted(own.items()))) if own else ["Only shared codes."]
    return "\n".join(out) + "\n"


def test_the_list_in_docs_is_current() -> None:
    expected = render(declared())
    if UPDATE:
        LIST.write_text(expected)
    assert LIST.read_text() == expected, "regenerate: UPDATE_SDL=1 pytest tests/test_error_codes.py"


def registry() -> PluginRegistry:
    found = PluginRegistry()
    found.register("core", builtin)
    found.register("pickup", pickup)
    found.register("presale", presale)
    return found


def enum_values(sdl: str) -> set[str]:
    body = sdl.split("enum ErrorCode {", 1)[1].split("}", 1)[0]
    return {line.strip() for line in body.splitlines() if re.fullmatch(r"\s*[A-Z0-9_]+", line)}


def test_a_schemas_error_code_enum_holds_every_installed_plugins_codes() -> None:
    """A tenant without presale still hears its code on an old presale order's refund."""
    plugins = registry()
    with_pickup = enum_values(build_schema("storefront", plugins.plugin_set(["pickup"])).as_str())
    assert set(codes.CORE) | {"PICKUP_SLOT_FULL", "PRESALE_DEPOSIT_KEPT"} <= with_pickup
    alone = enum_values(build_schema("admin", plugins.plugin_set([])).as_str())
    assert alone == with_pickup


def test_a_code_nobody_declared_is_answered_as_invalid_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    field = code_field(registry().plugin_set(["presale"]))
    assert field.base_resolver is not None
    answer = field.base_resolver.wrapped_func
    assert answer(SimpleNamespace(code="PRESALE_DEPOSIT_KEPT")) == "PRESALE_DEPOSIT_KEPT"
    with caplog.at_level(logging.ERROR):
        assert answer(SimpleNamespace(code="STAMPS_FULL")) == "INVALID"
    assert "'STAMPS_FULL' is declared by no plugin" in caplog.text
