"""``yutang new-plugin`` renders a complete distribution. Installing it and running its own
test is CI's job (``.ci/run``): tests here never install packages."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from yutang.cli import main
from yutang.scaffold import TEMPLATES, render

EXPECTED = {
    "README.md",
    "pyproject.toml",
    "tests/conftest.py",
    "tests/test_gift_card.py",
    "yutang_gift_card/__init__.py",
    "yutang_gift_card/models.py",
    "yutang_gift_card/migrations/__init__.py",
    "yutang_gift_card/migrations/0001_initial.py",
}


def files(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_the_cli_writes_a_whole_distribution(tmp_path: Path) -> None:
    main(["new-plugin", "gift_card", "--dir", str(tmp_path)])
    written = files(tmp_path / "yutang-gift-card")
    assert set(written) == EXPECTED
    assert len(list(TEMPLATES.rglob("*.tmpl"))) == len(EXPECTED)
    assert not [name for name, text in written.items() if "%%" in text]


def test_the_python_files_parse_and_use_only_the_public_api(tmp_path: Path) -> None:
    written = files(render("gift_card", tmp_path))
    for name, text in written.items():
        if not name.endswith(".py"):
            continue
        tree = ast.parse(text, filename=name)
        for node in ast.walk(tree):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if module is not None and (module == "yutang" or module.startswith("yutang.")):
                assert module in ("yutang", "yutang.api"), f"{name} imports {module}"
                if isinstance(node, ast.ImportFrom) and module == "yutang":
                    assert [a.name for a in node.names] == ["api"], name


def test_the_names_follow_the_plugin(tmp_path: Path) -> None:
    written = files(render("gift_card", tmp_path))
    project = tomllib.loads(written["pyproject.toml"])["project"]
    assert project["name"] == "yutang-gift-card"
    assert project["entry-points"]["yutang.plugins"] == {"gift_card": "yutang_gift_card"}
    assert project["dependencies"][0].startswith("yutang~=")
    migration = written["yutang_gift_card/migrations/0001_initial.py"]
    assert "name='GiftCardFavourite'" in migration
    assert "'table': 'gift_card_favourite', 'app': 'gift_card'" in migration
    assert "dependencies = [('core', '0001_initial')]" in migration
    plugin = written["yutang_gift_card/__init__.py"]
    assert 'CODES = api.ErrorCodes("gift_card", {})' in plugin
    assert 'CODES.error("LIMIT_REACHED",' in plugin and "GIFT_CARD_LIMIT" not in plugin
    assert "giftCardFavourites" in written["tests/test_gift_card.py"]


def test_the_core_migration_it_depends_on_exists() -> None:
    assert (Path(__file__).resolve().parent.parent / "yutang/migrations/0001_initial.py").exists()


@pytest.mark.parametrize("name", ["Gift", "gift-card", "_gift", "core", "9lives", ""])
def test_bad_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=repr(name)):
        render(name, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_nothing_is_overwritten(tmp_path: Path) -> None:
    root = render("gift_card", tmp_path)
    (root / "README.md").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError):
        render("gift_card", tmp_path)
    with pytest.raises(SystemExit):
        main(["new-plugin", "gift_card", "--dir", str(tmp_path)])
    assert (root / "README.md").read_text(encoding="utf-8") == "mine"
