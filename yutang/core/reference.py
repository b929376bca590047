"""The plugin guide's hook reference, rendered from the docstrings (as pytest renders its
own): every hook of :mod:`yutang.core.hookspecs` and every method of the owned objects of
:mod:`yutang.core.contract`, each with its arguments, kind, example and the first-party
code implementing it. ``yutang hook-reference`` writes it into ``docs/plugins.md``; a test
fails when the guide is stale.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from yutang.core import contract, hookspecs

HEADING = "## Hook reference"
OWNED = (contract.Activity, contract.FulfilmentMethod, contract.RewardKind)
_EXAMPLE = re.compile(r"\n\s*Example::\n")
_ROLE = re.compile(r":(?:class|func|meth|mod|attr):`~?([^`]+)`")


def hooks() -> list[Callable[..., Any]]:
    """The hookspecs, in the order of their module."""
    found = [
        fn
        for name, fn in vars(hookspecs).items()
        if name.startswith("yutang_") and inspect.isfunction(fn)
    ]
    return sorted(found, key=lambda fn: fn.__code__.co_firstlineno)


def owned_methods(cls: type) -> list[Callable[..., Any]]:
    """The methods of an owned-object protocol, in the order of its class body."""
    found = [fn for name, fn in vars(cls).items() if inspect.isfunction(fn) and name[0] != "_"]
    return sorted(found, key=lambda fn: fn.__code__.co_firstlineno)


def split(doc: str | None) -> tuple[str, str]:
    """A docstring's text and its ``Example::`` block (dedented), either possibly empty.

    Sphinx roles (``:meth:`x```) become code spans: Markdown has no roles and would show
    them literally.
    """
    text = inspect.cleandoc(doc or "")
    parts = _EXAMPLE.split(text, maxsplit=1)
    example = inspect.cleandoc(parts[1]) if len(parts) == 2 else ""
    return _ROLE.sub(r"``\1``", parts[0].strip()), example


def kinds() -> dict[str, str]:
    """Each hook's kind, from the ``| hook | kind |`` table of the hookspecs docstring."""
    rows = re.findall(r"^\|\s*(yutang_\w+)\s*\|\s*(.+?)\s*\|$", hookspecs.__doc__ or "", re.M)
    return dict(rows)


def _sources(root: Path) -> Iterator[tuple[str, Path]]:
    """First-party code that implements hooks: the core's plugin, each plugin, the
    bargain example; ``(who, file)``."""
    yield "core", root / "yutang" / "core" / "builtin.py"
    yield "core", root / "yutang" / "core" / "shipping.py"
    yield "core", root / "yutang" / "core" / "virtual.py"
    for package in sorted((root / "yutang" / "plugins").iterdir()):
        if package.is_dir():
            for path in sorted(package.glob("*.py")):
                yield package.name, path
    for path in sorted((root / "examples" / "bargain" / "yutang_bargain").glob("*.py")):
        yield "bargain", path


def implementers(root: Path) -> dict[str, list[tuple[str, Path]]]:
    """Who implements what, from the sources: hook names for ``@api.hookimpl`` functions,
    ``Protocol.method`` for methods of classes subclassing an owned-object protocol."""
    found: dict[str, list[tuple[str, Path]]] = {}
    protocols = {cls.__name__ for cls in OWNED}
    for who, path in _sources(root):
        if not path.exists():
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                "hookimpl" in ast.unparse(d) for d in node.decorator_list
            ):
                found.setdefault(node.name, []).append((who, path))
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b).split("[")[0].rsplit(".", 1)[-1] for b in node.bases}
                for protocol in bases & protocols:
                    for item in node.body:
                        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                            found.setdefault(f"{protocol}.{item.name}", []).append((who, path))
    return found


def _links(entries: list[tuple[str, Path]], root: Path) -> str:
    seen = dict.fromkeys((who, path.relative_to(root).as_posix()) for who, path in entries)
    return ", ".join(f"[{who}](../{rel})" for who, rel in seen) or "nothing first-party yet"


def _section(title: str, signature: str, facts: list[str], doc: str, example: str) -> str:
    out = [f"### {title}", "", f"`{signature}`", "", *(f"- {fact}" for fact in facts), ""]
    if doc:
        out += [doc, ""]
    if example:
        out += ["```python", example, "```", ""]
    return "\n".join(out)


def render(root: Path) -> str:
    """The whole hook reference section, from its heading to the end of the guide."""
    found, kind = implementers(root), kinds()
    out = [
        HEADING,
        "",
        "Generated from the docstrings of `yutang/core/hookspecs.py` and",
        "`yutang/core/contract.py` by `yutang hook-reference`; do not edit by hand.",
        "Signatures list the arguments an implementation may accept (any subset, by name).",
        "Registration hooks are called synchronously; every other hook may be `async`.",
        "",
    ]
    for fn in hooks():
        doc, example = split(fn.__doc__)
        args = ", ".join(inspect.signature(fn).parameters)
        facts = [
            f"**Kind:** {kind.get(fn.__name__, '')}",
            f"**Implemented by:** {_links(found.get(fn.__name__, []), root)}",
        ]
        out.append(_section(fn.__name__, f"{fn.__name__}({args})", facts, doc, example))
    for cls in OWNED:
        doc, _ = split(cls.__doc__)
        out += [f"### {cls.__name__}", "", f"`api.{cls.__name__}`", "", doc, ""]
        for fn in owned_methods(cls):
            mdoc, example = split(fn.__doc__)
            params = list(inspect.signature(fn).parameters)[1:]
            required = _is_stub(fn)
            method_kind = re.search(r"Kind: (.+?)\.(?:\s|$)", mdoc)
            facts = [
                f"**Kind:** {method_kind[1] if method_kind else ''}",
                "**Required.**" if required else "**Optional:** the default does nothing.",
                "**Implemented by:** "
                + _links(found.get(f"{cls.__name__}.{fn.__name__}", []), root),
            ]
            title = f"{cls.__name__}.{fn.__name__}"
            out.append(_section(title, f"{fn.__name__}({', '.join(params)})", facts, mdoc, example))
    return "\n".join(out).rstrip() + "\n"


def _is_stub(fn: Callable[..., Any]) -> bool:
    """Whether a protocol method has no body of its own (``...``): a plugin must write it."""
    node = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    body = node.body[1:] if ast.get_docstring(node) else node.body
    return all(
        isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and s.value.value is ...
        for s in body
    )


def updated(guide: str, section: str) -> str:
    """The guide with its hook reference replaced by ``section`` (the reference is last)."""
    head, found, _ = guide.partition("\n" + HEADING + "\n")
    if not found:
        raise ValueError(f"the guide has no {HEADING!r} section")
    return head + "\n" + section
