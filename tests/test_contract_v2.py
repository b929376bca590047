"""The plugin contract's hygiene: no side channels in plugins, a core without import
cycles under a low-level contract module, pure price steps, traced calls, and plugins
that declare the core versions they support."""

from __future__ import annotations

import ast
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from yutang import api
from yutang.core import activities, builtin, methods
from yutang.core.checkout import CheckoutInput, load_checkout
from yutang.core.contract import Draft, Stage
from yutang.core.errors import ConfigError, NotFound
from yutang.core.models import Sku
from yutang.core.plugins import PluginRegistry
from yutang.core.pricing import price_steps
from yutang.core.runtime import Runtime
from yutang.graphql.ids import to_global
from yutang.testing import MakeTenant, create_member

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = ["coupons", "distributor", "fullreduction", "groupbuy", "lottery", "seckill"]

# --- no side channels ----------------------------------------------------------------------

MUTABLE_CALLS = {
    "dict",
    "list",
    "set",
    "defaultdict",
    "OrderedDict",
    "Counter",
    "deque",
    "WeakKeyDictionary",
    "WeakValueDictionary",
    "ContextVar",
    "LRUCache",
    "TTLCache",
}


def plugin_sources() -> list[Path]:
    """Every module of the first-party plugins and the examples, tests left out."""
    found = sorted((ROOT / "yutang" / "plugins").rglob("*.py"))
    found += sorted(p for p in (ROOT / "examples").rglob("*.py") if "tests" not in p.parts)
    return [p for p in found if "migrations" not in p.parts]


def side_channels(source: str) -> list[str]:
    """Where a module keeps state between calls: ContextVar anywhere, ``global``, or a
    mutable container bound at module level."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name == "ContextVar":
                found.append(f"line {node.lineno}: ContextVar")
        if isinstance(node, ast.Global):
            found.append(f"line {node.lineno}: global {', '.join(node.names)}")
    for node in tree.body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        mutable = isinstance(
            value, ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp | ast.SetComp
        ) or (
            isinstance(value, ast.Call)
            and (getattr(value.func, "id", None) or getattr(value.func, "attr", None))
            in MUTABLE_CALLS
        )
        if mutable:
            found.append(f"line {node.lineno}: module-level mutable {ast.unparse(node)[:60]}")
    return found


def test_plugins_and_examples_keep_no_side_channels() -> None:
    offenders = {
        p.relative_to(ROOT).as_posix(): found
        for p in plugin_sources()
        if (found := side_channels(p.read_text(encoding="utf-8")))
    }
    assert offenders == {}


@pytest.mark.parametrize(
    "source",
    [
        "from contextvars import ContextVar\n_x: ContextVar[int] = ContextVar('x')\n",
        "_seen = {}\n",
        "_seen: dict[int, int] = dict()\n",
        "import collections\n_q = collections.deque()\n",
        "def f():\n    global _n\n    _n = 1\n",
    ],
)
def test_the_side_channel_rule_sees_every_form(source: str) -> None:
    assert side_channels(source)


def test_constants_and_owned_instances_are_no_side_channels() -> None:
    source = 'KIND = "x"\nSCOPES = frozenset({"a"})\nMETHOD = Pickup()\nPAIR = (1, 2)\n'
    assert side_channels(source) == []


# --- the import graph of the core ----------------------------------------------------------


def core_imports() -> dict[str, set[str]]:
    """Each ``yutang.core`` module's imports of other ``yutang.core`` modules, wherever
    they are: at module level, under ``if TYPE_CHECKING`` (a type-only cycle still ties
    the modules together) and inside functions."""
    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / "yutang" / "core").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        name = ".".join(parts)
        package = name if rel.name == "__init__" else ".".join(parts[:-1])
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                    base = f"{base}.{node.module}" if node.module else base
                targets.add(base)
                targets.update(f"{base}.{a.name}" for a in node.names)
        graph[name] = {t for t in targets if t.startswith("yutang.core") and t != name}
    modules = set(graph)
    return {m: {t for t in ts if t in modules} for m, ts in graph.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of ``graph`` (module → modules it imports), each as a path."""
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return cycles


def test_the_core_has_no_import_cycle() -> None:
    assert find_cycles(core_imports()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]


def test_the_contract_module_imports_only_leaves() -> None:
    """Every type a hook names lives in ``yutang.core.contract``, which imports only the
    core's leaf modules, so any part of the core may import it."""
    graph = core_imports()
    leaves = {"yutang.core.codes", "yutang.core.errors", "yutang.core.money", "yutang.core.regions"}
    assert graph["yutang.core.contract"] <= leaves
    for leaf in leaves:
        assert graph[leaf] <= {"yutang.core.errors"}, leaf


# --- price steps are pure --------------------------------------------------------------------


@asynccontextmanager
async def writes() -> AsyncIterator[list[str]]:
    """The INSERT, UPDATE and DELETE statements tortoise runs inside the block."""
    found: list[str] = []

    class Writes(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage().lstrip().upper()
            if message.startswith(("INSERT", "UPDATE", "DELETE")):
                found.append(message)

    logger, handler = logging.getLogger("tortoise.db_client"), Writes(logging.DEBUG)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield found
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def state_of(draft: Draft) -> Any:
    """What a step can change on a draft."""
    lines = [(ln.index, ln.unit_price, ln.amount, ln.points, ln.gift) for ln in draft.lines]
    return (lines, list(draft.adjustments), list(draft.hints), draft.points_used, draft.kept)


async def test_every_first_party_price_step_is_pure(
    make_tenant: MakeTenant, make_product: Any, yutang_db: Runtime
) -> None:
    """Each step run twice on equal drafts leaves them equal, and no step writes."""
    tenant = await make_tenant("pure", plugins=[*FIRST_PARTY, "pickup"])
    sku = await Sku.get(product_id=(await make_product("Tea", [(5800, 10)], on=tenant)).id)
    member, _ = await create_member(tenant, "13800000077", points=1000)
    data = CheckoutInput(
        lines=[api.LineInput(sku_id=sku.id, quantity=2)], use_points=100, extensions={}
    )
    checkout = await load_checkout(tenant, member.id, data)
    claims = await activities.resolve(checkout)
    chosen = await methods.resolve(checkout)
    steps = price_steps(tenant)
    assert {plugin for plugin, _ in steps} >= {"core", "coupons", "fullreduction"}
    twins = Draft(checkout), Draft(checkout)
    async with writes() as written:
        for stage in Stage:
            for draft in twins:
                draft.stage = stage
                if stage == Stage.ACTIVITY:
                    await activities.price(draft, claims)
                if stage == Stage.FEES:
                    await methods.fee(draft, chosen)
            for plugin, step in steps:
                if step.stage != stage:
                    continue
                for draft in twins:
                    draft.source = plugin
                    result = step.apply(draft)
                    if result is not None:
                        await result
                assert state_of(twins[0]) == state_of(twins[1]), (plugin, stage)
            if stage == Stage.MEMBER_PRICE:
                for draft in twins:
                    draft._settle_offers()
    assert written == []
    assert twins[0].finish("CNY") == twins[1].finish("CNY")
    assert twins[0].points_used == 100  # the steps did run


# --- tracing -------------------------------------------------------------------------------


class Traced:
    """A plugin with one hook, to watch the trace."""

    @api.hookimpl
    def yutang_validate_checkout(self, checkout: api.CheckoutContext) -> None:
        return None


async def test_tracing_logs_each_call_with_its_plugin_and_timing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = PluginRegistry(trace=True)
    registry.register("core", builtin)
    registry.register("traced", Traced())
    hooks = registry.plugin_set(["traced"])
    with caplog.at_level(logging.INFO, logger="yutang.plugins.trace"):
        await hooks.call("yutang_validate_checkout", checkout=None)
    [record] = caplog.records
    assert record.getMessage().startswith("traced yutang_validate_checkout ok ")
    assert record.getMessage().endswith(" ms")


async def test_without_tracing_nothing_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    registry = PluginRegistry()
    registry.register("core", builtin)
    registry.register("traced", Traced())
    with caplog.at_level(logging.DEBUG, logger="yutang.plugins.trace"):
        await registry.plugin_set(["traced"]).call("yutang_validate_checkout", checkout=None)
    assert caplog.records == []


async def test_a_quote_traces_the_activity_methods_it_calls(
    yutang_runtime: Runtime,
    make_tenant: MakeTenant,
    make_product: Any,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = await make_tenant("traced", plugins=["seckill"])
    sku = await Sku.get(product_id=(await make_product("Tea", [(5800, 10)], on=tenant)).id)
    monkeypatch.setattr(yutang_runtime.registry, "trace", True)
    ref = api.ActivityRef("seckill", to_global("SeckillItem", 999))
    data = CheckoutInput(lines=[api.LineInput(sku_id=sku.id, quantity=1, activity=ref)])
    checkout = await load_checkout(tenant, None, data)
    with caplog.at_level(logging.INFO, logger="yutang.plugins.trace"), pytest.raises(NotFound):
        await activities.resolve(checkout)
    assert [r.getMessage().rsplit(" ", 2)[0] for r in caplog.records] == [
        "seckill seckill.resolve error"
    ]


# --- supported core versions -----------------------------------------------------------------


def example_module() -> object:
    import yutang_example_plugin  # type: ignore[import-not-found]

    return yutang_example_plugin


def test_a_plugin_for_this_core_series_loads() -> None:
    registry = PluginRegistry(core_version="0.2.7")
    registry.register("example", example_module(), distribution="yutang-example-plugin")
    assert "example" in registry.plugins


def test_a_plugin_for_another_core_series_is_refused_with_both_versions() -> None:
    registry = PluginRegistry(core_version="0.3.0")
    with pytest.raises(ConfigError) as refused:
        registry.register("example", example_module(), distribution="yutang-example-plugin")
    message = str(refused.value)
    assert "'example'" in message and "yutang~=0.2.0" in message and "0.3.0" in message


def test_a_plugin_that_declares_no_core_version_is_refused() -> None:
    registry = PluginRegistry(core_version="0.2.0")
    with pytest.raises(ConfigError, match="does not say which Yutang it supports"):
        registry.register("bare", Traced(), distribution="pluggy")


def test_two_plugins_cannot_own_one_activity_kind() -> None:
    class Kind(api.Activity[None]):
        kind = "twin"

    class Owner:
        @api.hookimpl
        def yutang_activities(self) -> list[api.Activity[Any]]:
            return [Kind()]

    registry = PluginRegistry()
    registry.register("first", Owner())
    with pytest.raises(ConfigError, match="registered by plugin 'first' already"):
        registry.register("second", Owner())


def test_a_job_is_named_after_its_plugin() -> None:
    """Two plugins cannot both handle "expire": the worker would run only one of them."""

    class Jobs:
        @api.hookimpl
        def yutang_jobs(self) -> dict[str, api.JobHandler]:
            return {"expire": lambda tenant, payload: None}

    registry = PluginRegistry()
    registry.register("core", builtin)
    with pytest.raises(ConfigError, match=r"job 'expire' must look like stamps\.what"):
        registry.register("stamps", Jobs())
    assert not registry.pm.has_plugin("stamps")


@pytest.mark.parametrize("hook", ["yutang_payment_providers", "yutang_verification_providers"])
def test_two_plugins_cannot_offer_one_provider_name(hook: str) -> None:
    """Which gateway takes a payment must not depend on the order plugins registered in."""

    class Provider:
        name = "wechat"

    class Offers:
        pass

    setattr(Offers, hook, api.hookimpl(lambda self: [Provider()]))
    registry = PluginRegistry()
    registry.register("core", builtin)
    registry.register("first", Offers())
    with pytest.raises(ConfigError, match="registered by plugin 'first' already"):
        registry.register("second", Offers())
    assert registry.plugin_set(["first"]).by_name(hook)["wechat"].name == "wechat"
