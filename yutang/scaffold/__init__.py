"""``yutang new-plugin``: a ready-to-install plugin distribution rendered from templates.

The templates under ``plugin/`` (package data) use ``%%{name}`` (the plugin's name),
``%%{Name}`` (CamelCase), ``%%{NAME}`` (upper case), ``%%{camel}`` (lowerCamelCase, as
GraphQL spells fields), ``%%{dist}`` (the distribution) and ``%%{requirement}`` (yutang's
version range). Their migration is the real output of ``yutang makemigrations`` for the
template's model, with the name templated; CI checks that it still is.
"""

from __future__ import annotations

import importlib.metadata
import string
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "plugin"
RESERVED = frozenset({"core", "api", "testing"})


class _Template(string.Template):
    delimiter = "%%"


def check_name(name: str) -> None:
    """Refuse a name that cannot be a plugin name (ValueError with the reason)."""
    if not name.isidentifier() or name != name.lower() or name.startswith("_"):
        raise ValueError(f"{name!r} is not a plugin name: use a lower-case identifier")
    if name in RESERVED:
        raise ValueError(f"{name!r} is reserved")


def placeholders(name: str) -> dict[str, str]:
    """What the templates' placeholders stand for, for plugin ``name``."""
    words = name.split("_")
    camel = "".join(w.capitalize() for w in words)
    version = importlib.metadata.version("yutang")
    return {
        "name": name,
        "Name": camel,
        "NAME": name.upper(),
        "camel": camel[0].lower() + camel[1:],
        "dist": f"yutang-{name.replace('_', '-')}",
        "requirement": f"yutang~={version}",
    }


def target_path(relative: Path, name: str) -> Path:
    """Where a template file goes: ``package/`` is the plugin's package, ``.tmpl`` dropped."""
    renames = {"package": f"yutang_{name}", "test_plugin.py": f"test_{name}.py"}
    parts = [renames.get(part, part) for part in relative.with_suffix("").parts]
    return Path(*parts)


def render(name: str, into: Path) -> Path:
    """Write the distribution ``yutang-<name>/`` into the folder ``into``; returns its path.

    Underscores in the name become dashes in the folder and distribution name. Refuses a
    bad name and an existing target, so nothing is ever overwritten.
    """
    check_name(name)
    values = placeholders(name)
    root = into / values["dist"]
    if root.exists():
        raise FileExistsError(f"{root} already exists")
    for template in sorted(TEMPLATES.rglob("*.tmpl")):
        target = root / target_path(template.relative_to(TEMPLATES), name)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = _Template(template.read_text(encoding="utf-8")).substitute(values)
        target.write_text(text, encoding="utf-8")
    return root
