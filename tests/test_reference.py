"""The plugin guide's hook reference is generated from the docstrings, and every example
in it runs: a hook's example registers as a plugin, an owned object's method example
defines a subclass of its protocol with that method."""

from __future__ import annotations

import inspect
import types
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from yutang import api
from yutang.cli import main
from yutang.core import builtin
from yutang.core.plugins import PluginRegistry
from yutang.core.reference import OWNED, hooks, owned_methods, render, split, updated

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "plugins.md"
HOW = "run `yutang hook-reference` and commit docs/plugins.md"


def test_the_guide_holds_the_generated_reference() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    assert updated(text, render(ROOT)) == text, HOW


def test_the_check_fails_on_a_stale_guide(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for part in ("yutang", "examples"):
        (tmp_path / part).symlink_to(ROOT / part)
    (tmp_path / "docs").mkdir()
    stale = GUIDE.read_text(encoding="utf-8").replace("`yutang_models()`", "`yutang_models(x)`")
    (tmp_path / "docs" / "plugins.md").write_text(stale, encoding="utf-8")
    with pytest.raises(SystemExit) as failed:
        main(["hook-reference", "--root", str(tmp_path), "--check"])
    assert failed.value.code == 1 and "stale" in capsys.readouterr().out
    main(["hook-reference", "--root", str(tmp_path)])
    fixed = (tmp_path / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert fixed == GUIDE.read_text(encoding="utf-8")


def run(example: str) -> dict[str, Any]:
    """An example's namespace after running it, with what examples may use at hand."""
    namespace: dict[str, Any] = {"api": api, "msgspec": msgspec, "timedelta": timedelta}
    exec(compile(example, "<example>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("hook", hooks(), ids=lambda fn: fn.__name__)
def test_each_hook_example_registers_as_a_plugin(hook: Any) -> None:
    _, example = split(hook.__doc__)
    assert example, f"{hook.__name__}'s docstring needs an Example:: block"
    plugin = types.ModuleType("yutang_stamps")
    vars(plugin).update(run(example))
    registry = PluginRegistry()
    registry.register("core", builtin)
    registry.register("stamps", plugin)
    registry.check()
    assert hook.__name__ in registry.plugins["stamps"].hooks


CASES = [(cls, fn) for cls in OWNED for fn in owned_methods(cls)]


@pytest.mark.parametrize("cls, method", CASES, ids=[f"{c.__name__}.{f.__name__}" for c, f in CASES])
def test_each_method_example_defines_it_on_a_subclass(cls: type, method: Any) -> None:
    _, example = split(method.__doc__)
    assert example, f"{cls.__name__}.{method.__name__}'s docstring needs an Example:: block"
    defined = [v for v in run(example).values() if isinstance(v, type) and cls in v.__mro__[1:]]
    assert len(defined) == 1, "an example defines one subclass"
    own = vars(defined[0]).get(method.__name__)
    assert own is not None, f"the example does not define {method.__name__}"
    ours = list(inspect.signature(method).parameters)
    assert list(inspect.signature(own).parameters) == ours
