"""The plugin is built on the public API only: nothing from ``yutang`` but ``yutang.api``."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "yutang_bargain"


def yutang_imports(source: str) -> set[str]:
    """Every module under ``yutang`` a source imports, wherever in the module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return {name for name in found if name == "yutang" or name.startswith("yutang.")}


def test_only_yutang_api_is_imported() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) >= 6
    outside = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in files
        for name in yutang_imports(path.read_text(encoding="utf-8"))
        if name != "yutang.api" and not name.startswith("yutang.api.")
    }
    assert outside == set()


def test_the_check_sees_private_imports() -> None:
    source = "from yutang import api\nfrom yutang.core import pricing\nimport yutang.graphql\n"
    assert yutang_imports(source) == {"yutang.api", "yutang.core.pricing", "yutang.graphql"}
