"""The exported SDL in ``docs/schema`` is the schema the code builds.

Both surfaces are built the way ``yutang schema`` builds them (every plugin enabled), but
with the core and first-party plugins only: entry points of the ``yutang`` distribution.
Plugins installed only for the test session (``tests/plugin_dist``) stay out of the docs.

On drift, regenerate with ``UPDATE_SDL=1 pytest tests/test_schema_sdl.py``.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import os
from pathlib import Path

import pytest

from yutang.core.plugins import ENTRY_POINT_GROUP
from yutang.core.runtime import build_runtime
from yutang.core.settings import AppSettings
from yutang.graphql.schema import SURFACES, build_schema

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "docs" / "schema"
DISTRIBUTION = "yutang"
UPDATE = os.environ.get("UPDATE_SDL") == "1"
HOW_TO_UPDATE = "UPDATE_SDL=1 pytest tests/test_schema_sdl.py"


def _normalized(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def first_party_plugins() -> list[tuple[str, object]]:
    """``(name, module)`` of every ``yutang.plugins`` entry point shipped by yutang itself."""
    found = []
    for ep in sorted(
        importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name
    ):
        if ep.dist is not None and _normalized(ep.dist.name) == DISTRIBUTION:
            found.append((ep.name, ep.load()))
    return found


def build_sdl(surface: str, tmp_path: Path) -> str:
    """The SDL of ``surface`` with the core and every first-party plugin enabled."""
    empty = tmp_path / "plugins.toml"
    empty.write_text("", encoding="utf-8")
    settings = AppSettings(database_url="sqlite://:memory:", plugins_file=str(empty))
    plugins = first_party_plugins()
    runtime = build_runtime(settings, entry_points=False, extra_plugins=plugins)
    assert set(runtime.registry.plugins) == {"core", *(name for name, _ in plugins)}
    return build_schema(surface, runtime.registry.everything()).as_str() + "\n"


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_exported_sdl_matches_the_schema(surface: str, tmp_path: Path) -> None:
    path = SCHEMA_DIR / f"{surface}.graphql"
    built = build_sdl(surface, tmp_path)
    if UPDATE:
        SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != built:
            path.write_text(built, encoding="utf-8")
        return
    shown = path.relative_to(ROOT).as_posix()
    if not path.exists():
        pytest.fail(f"{shown} is missing; write it with `{HOW_TO_UPDATE}`", pytrace=False)
    committed = path.read_text(encoding="utf-8")
    if committed != built:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                built.splitlines(keepends=True),
                fromfile=f"{shown} (committed)",
                tofile=f"{surface} schema (built from the code)",
            )
        )
        pytest.fail(
            f"the {surface} schema changed; if that is intended, run `{HOW_TO_UPDATE}` "
            f"and commit {shown}\n\n{diff}",
            pytrace=False,
        )
