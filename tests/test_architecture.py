"""The architecture the project promises, checked on the source itself.

- ``yutang.core`` never imports ``yutang.graphql`` or ``yutang.plugins``;
- a plugin imports nothing from Yutang but ``yutang.api`` (and its own package);
- every hook states its kind, in its docstring and in the hookspecs module's table, and
  the generated reference in ``docs/plugins.md`` covers every hook (``test_reference.py``
  checks that the guide holds what ``yutang hook-reference`` renders);
- ``yutang.api.__all__`` is importable and the example plugins (the test one and those in
  ``examples/``, separate distributions) keep to it.

Imports are read from the AST of every module, so relative imports, imports inside
functions and ``TYPE_CHECKING`` blocks count as much as top-level ones.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pluggy
import pytest

from yutang import api
from yutang.core import hookspecs, reference

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "yutang"
EXAMPLE_PLUGIN = ROOT / "tests" / "plugin_dist" / "yutang_example_plugin.py"
EXAMPLES = ROOT / "examples"
KINDS = ("registration", "admission", "in-transaction", "event after commit", "query", "set-up")


# --- reading imports --------------------------------------------------------------------


def module_of(path: Path, root: Path = ROOT) -> tuple[str, bool]:
    """The dotted module name of a source file, and whether it is a package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute module a (possibly relative) ``from ... import`` names."""
    if level == 0:
        return target or ""
    parts = module.split(".")
    if not is_package:
        parts.pop()
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    return ".".join([*parts, target] if target else parts)


def _import_call(node: ast.Call) -> str | None:
    """The module of ``importlib.import_module("x")`` or ``__import__("x")``, if literal."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in ("import_module", "__import__") or not node.args:
        return None
    first = node.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def imports(source: str, module: str, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """``(line, dotted name)`` of everything a module imports, wherever in the module.

    ``from a.b import c`` yields ``a.b.c`` (``c`` may be a submodule or an attribute).
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node.level, node.module)
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"
        elif isinstance(node, ast.Call):
            target = _import_call(node)
            if target is not None:
                yield node.lineno, target


def within(name: str, package: str) -> bool:
    """True if ``name`` is ``package`` or inside it."""
    return name == package or name.startswith(package + ".")


def core_violations(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """Imports of ``yutang.graphql`` or ``yutang.plugins`` in a core module."""
    return sorted(
        (line, name)
        for line, name in imports(source, module, is_package)
        if within(name, "yutang.graphql") or within(name, "yutang.plugins")
    )


def plugin_violations(
    source: str, module: str, is_package: bool = False, own: str | None = None
) -> list[tuple[int, str]]:
    """Imports from ``yutang`` other than ``yutang.api`` and the plugin's own package."""
    return sorted(
        (line, name)
        for line, name in imports(source, module, is_package)
        if within(name, "yutang")
        and not within(name, "yutang.api")
        and not (own is not None and within(name, own))
    )


def sources(folder: Path) -> list[Path]:
    """Every Python file under ``folder``, sorted."""
    return sorted(folder.rglob("*.py"))


def plugin_package(module: str) -> str | None:
    """``yutang.plugins.<name>`` for a module of a first-party plugin."""
    parts = module.split(".")
    return ".".join(parts[:3]) if len(parts) >= 3 else None


# --- (a) the core stands alone -----------------------------------------------------------


def test_core_imports_neither_graphql_nor_plugins() -> None:
    files = sources(PACKAGE / "core")
    assert files, "no core modules found"
    found = []
    for path in files:
        module, is_package = module_of(path)
        source = path.read_text(encoding="utf-8")
        for line, name in core_violations(source, module, is_package):
            found.append(f"{path.relative_to(ROOT).as_posix()}:{line} imports {name}")
    assert not found, "yutang.core must not depend on the GraphQL layer or plugins:\n" + "\n".join(
        found
    )


def test_the_core_rule_sees_relative_and_local_imports() -> None:
    source = (
        "from yutang.core import clock\n"
        "def schema():\n"
        "    from ..graphql.schema import build_schema\n"
        "    return build_schema\n"
        "from .. import plugins\n"
        "import yutang.graphql.types\n"
        "import importlib\n"
        "importlib.import_module('yutang.plugins.seckill')\n"
    )
    assert core_violations(source, "yutang.core.checkout") == [
        (3, "yutang.graphql.schema.build_schema"),
        (5, "yutang.plugins"),
        (6, "yutang.graphql.types"),
        (8, "yutang.plugins.seckill"),
    ]
    assert core_violations("from . import pricing\n", "yutang.core", is_package=True) == []


# --- (b) plugins use the public API only --------------------------------------------------


def test_first_party_plugins_import_only_the_public_api() -> None:
    found = []
    for path in sources(PACKAGE / "plugins"):
        module, is_package = module_of(path)
        source = path.read_text(encoding="utf-8")
        own = plugin_package(module)
        for line, name in plugin_violations(source, module, is_package, own):
            found.append(f"{path.relative_to(ROOT).as_posix()}:{line} imports {name}")
    assert not found, "plugins may import only yutang.api from Yutang:\n" + "\n".join(found)


def test_the_example_plugin_imports_only_the_public_api() -> None:
    module, _ = module_of(EXAMPLE_PLUGIN, EXAMPLE_PLUGIN.parent)
    source = EXAMPLE_PLUGIN.read_text(encoding="utf-8")
    assert plugin_violations(source, module) == []
    assert any(within(name, "yutang.api") for _, name in imports(source, module))


def example_distributions() -> list[Path]:
    """The packages of the distributions in ``examples/`` (``examples/<dist>/yutang_*``)."""
    return sorted(p for p in EXAMPLES.glob("*/yutang_*") if (p / "__init__.py").exists())


def test_the_examples_import_only_the_public_api() -> None:
    packages = example_distributions()
    assert packages, "no example plugin found under examples/"
    found = []
    for package in packages:
        for path in sources(package):
            module, is_package = module_of(path, package.parent)
            source = path.read_text(encoding="utf-8")
            for line, name in plugin_violations(source, module, is_package, package.name):
                found.append(f"{path.relative_to(ROOT).as_posix()}:{line} imports {name}")
            outside = api_names_used(source) - set(api.__all__)
            found.extend(f"{path.relative_to(ROOT).as_posix()}: api.{n}" for n in sorted(outside))
    assert not found, "examples may use only yutang.api's public names:\n" + "\n".join(found)


def test_the_plugin_rule_rejects_private_imports() -> None:
    source = (
        "from yutang import api\n"
        "from yutang.api import hookimpl\n"
        "from yutang.core.pricing import Draft\n"
        "from . import models\n"
        "def later():\n"
        "    from ...core import hookspecs\n"
        "    from ..coupons import models\n"
        "import yutang\n"
        "from yutang import core\n"
    )
    found = plugin_violations(source, "yutang.plugins.seckill.steps", own="yutang.plugins.seckill")
    assert found == [
        (3, "yutang.core.pricing.Draft"),
        (6, "yutang.core.hookspecs"),
        (7, "yutang.plugins.coupons.models"),
        (8, "yutang"),
        (9, "yutang.core"),
    ]


# --- (c) every hook is documented ---------------------------------------------------------


def _hook_callers() -> dict[str, pluggy.HookCaller]:
    pm = pluggy.PluginManager("yutang")
    pm.add_hookspecs(hookspecs)
    return {
        name: caller
        for name, caller in sorted(vars(pm.hook).items())
        if isinstance(caller, pluggy.HookCaller) and caller.spec is not None
    }


HOOKS = _hook_callers()


def table_kinds() -> dict[str, list[str]]:
    """Kinds by hook from the ``| hook | kind |`` table of the hookspecs module docstring."""
    rows: dict[str, list[str]] = {}
    for line in (hookspecs.__doc__ or "").splitlines():
        match = re.fullmatch(r"\|\s*(yutang_\w+)\s*\|\s*(.+?)\s*\|", line.strip())
        if match:
            rows.setdefault(match[1], []).append(match[2])
    return rows


def docstring_kind(name: str) -> str | None:
    """The kind a hook's docstring states as ``Kind: <kind>``."""
    spec = HOOKS[name].spec
    assert spec is not None
    doc = " ".join((spec.function.__doc__ or "").split())
    match = re.search(r"Kind: (" + "|".join(map(re.escape, KINDS)) + r")\b", doc)
    return match[1] if match else None


def test_hookspecs_are_found() -> None:
    assert len(HOOKS) >= 20
    assert all(name.startswith("yutang_") for name in HOOKS)


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hook_docstring_states_its_kind(name: str) -> None:
    kind = docstring_kind(name)
    assert kind is not None, f"{name}'s docstring must say 'Kind: <one of {', '.join(KINDS)}>'"
    listed = table_kinds().get(name)
    assert listed, f"{name} is missing from the table in yutang.core.hookspecs' docstring"
    assert len(listed) == 1, f"{name} is listed {len(listed)} times in the hookspecs table"
    assert listed[0].startswith(kind), f"{name}: docstring says {kind!r}, table {listed[0]!r}"


def test_the_generated_reference_covers_every_hook() -> None:
    assert {fn.__name__ for fn in reference.hooks()} == set(HOOKS)


def test_no_stale_hooks_in_the_table() -> None:
    assert set(table_kinds()) - set(HOOKS) == set(), "the hookspecs table lists unknown hooks"


# --- (d) the public API -------------------------------------------------------------------


def test_everything_in_the_public_api_is_importable() -> None:
    assert len(api.__all__) == len(set(api.__all__)), "yutang.api.__all__ has duplicates"
    missing = [name for name in api.__all__ if not hasattr(api, name)]
    assert missing == []
    namespace: dict[str, object] = {}
    exec("from yutang.api import *", namespace)
    assert set(api.__all__) <= namespace.keys()


def api_names_used(source: str) -> set[str]:
    """Names a module takes from ``yutang.api``: ``from yutang.api import X``, and ``X`` in
    ``api.X`` where ``api`` is bound by ``from yutang import api [as a]`` or
    ``import yutang.api [as a]``."""
    tree = ast.parse(source)
    used: set[str] = set()
    aliases: set[str] = set()
    dotted = False
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            if node.module == "yutang.api":
                used.update(alias.name for alias in node.names)
            elif node.module == "yutang":
                aliases.update(a.asname or a.name for a in node.names if a.name == "api")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "yutang.api":
                    if alias.asname:
                        aliases.add(alias.asname)
                    else:
                        dotted = True
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        value = node.value
        aliased = isinstance(value, ast.Name) and value.id in aliases
        spelled_out = (
            dotted
            and isinstance(value, ast.Attribute)
            and value.attr == "api"
            and isinstance(value.value, ast.Name)
            and value.value.id == "yutang"
        )
        if aliased or spelled_out:
            used.add(node.attr)
    return used


def test_the_example_plugin_uses_only_the_public_api() -> None:
    used = api_names_used(EXAMPLE_PLUGIN.read_text(encoding="utf-8"))
    assert {"hookimpl", "PriceStep", "Draft"} <= used
    assert used - set(api.__all__) == set(), "names the example plugin takes outside __all__"


def test_first_party_plugins_use_only_names_in_the_public_api() -> None:
    found = []
    for path in sources(PACKAGE / "plugins"):
        outside = api_names_used(path.read_text(encoding="utf-8")) - set(api.__all__)
        found.extend(f"{path.relative_to(ROOT).as_posix()}: api.{n}" for n in sorted(outside))
    assert not found, "names taken from yutang.api outside its __all__:\n" + "\n".join(found)


def test_api_name_reading_sees_every_form() -> None:
    source = (
        "from yutang import api as y\n"
        "import yutang.api\n"
        "from yutang.api import Draft\n"
        "y.hookimpl\n"
        "yutang.api.Stage\n"
        "y.internal_thing\n"
    )
    assert api_names_used(source) == {"Draft", "hookimpl", "Stage", "internal_thing"}


# --- (e) the request edge -------------------------------------------------------------------

EDGE_READS = frozenset(
    {"yutang.graphql.schema", "yutang.graphql.inputs", "yutang.graphql.input_bounds"}
    | {"yutang.graphql.json_nesting"}
)
"""What the edge may take from the GraphQL layer: schema assembly and input conversion
(admission renders placeOrder's answer as GraphQL would), never a resolver module."""


def yutang_modules(*packages: str) -> dict[str, set[str]]:
    """Each module of ``packages`` and the yutang modules it imports (wherever in it),
    ``from m import name`` counted as importing ``m.name`` when that is a module, else ``m``."""
    paths = {module_of(p)[0]: p for p in sources(PACKAGE) if "migrations" not in p.parts}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        if not any(within(name, package) for package in packages):
            continue
        found = set()
        for _, target in imports(path.read_text(encoding="utf-8"), *module_of(path)):
            while target and target not in paths:
                target = target.rpartition(".")[0]
            if target and target != name and target != "yutang":
                found.add(target)
        graph[name] = found
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles among the modules of ``graph``."""
    found: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if target not in graph:
                continue
            if state.get(target) == 1:
                found.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


def test_the_edge_and_the_graphql_layer_import_each_other_in_no_circle() -> None:
    graph = yutang_modules("yutang.edge", "yutang.graphql", "yutang.app")
    assert "yutang.edge.admission" in graph and "yutang.graphql.schema" in graph
    assert cycles(graph) == []


def test_the_cycle_rule_sees_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]


def test_the_edge_reads_no_resolver_module() -> None:
    found = [
        f"{module} imports {target}"
        for module, targets in yutang_modules("yutang.edge").items()
        for target in sorted(targets)
        if within(target, "yutang.graphql") and target not in EDGE_READS
    ]
    assert found == []
