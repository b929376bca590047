"""The ``yutang`` command at start-up: an unreachable database, a port in use and a
missing ``plugins.toml`` are said in one line; ``schema`` prints one tenant's schema.

``serve`` runs in a child process (were it to start, the timeout would fail the test);
the others through the entry point in this process.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from yutang.cli import main
from yutang.core.plugins import installed_version

UNREACHABLE = {
    "postgres": "postgres://shop:s3cret-pw@127.0.0.1:1/shopdb",
    "sqlite, no folder": "sqlite://{tmp}/missing/yutang.sqlite3",
}
NAMED = {"postgres": ("127.0.0.1:1", "'shopdb'"), "sqlite, no folder": ("missing/yutang.sqlite3",)}
TOML = """
[profiles.tea]
plugins = ["seckill", "coupons"]

[tenants.teahouse]
profile = "tea"
"""


def run_yutang(
    argv: list[str], cwd: Path, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """``yutang ARGV`` in a child process, with only the ``YUTANG_*`` settings given and
    an empty ``plugins.toml``."""
    (cwd / "plugins.toml").write_text("", encoding="utf-8")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("YUTANG_")}
    return subprocess.run(
        [sys.executable, "-c", "from yutang.cli import main; main()", *argv],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working directory of its own, with no ``YUTANG_*`` settings but a database."""
    for name in list(os.environ):
        if name.startswith("YUTANG_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("YUTANG_DATABASE_URL", f"sqlite://{tmp_path / 'shop.sqlite3'}")
    yield tmp_path


@pytest.mark.parametrize("command", ["serve", "migrate"])
@pytest.mark.parametrize("database", sorted(UNREACHABLE))
def test_an_unreachable_database_is_one_line_and_a_failure(
    tmp_path: Path, database: str, command: str
) -> None:
    url = UNREACHABLE[database].format(tmp=tmp_path)
    argv = [command, "--port", "0"] if command == "serve" else [command]
    done = run_yutang(argv, tmp_path, YUTANG_DATABASE_URL=url)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr  # one line: no traceback, no plugins.toml warning
    assert lines[0].startswith("yutang: cannot ")
    for part in NAMED[database]:
        assert part in lines[0]
    assert "s3cret-pw" not in done.stderr + done.stdout
    assert "Yutang on http" not in done.stdout
    assert not (tmp_path / "missing").exists()


def test_a_port_in_use_is_said_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        url = f"sqlite://{tmp_path / 'shop.sqlite3'}"
        done = run_yutang(["serve", "--port", str(port)], tmp_path, YUTANG_DATABASE_URL=url)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"yutang: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]
    assert done.stdout == ""  # no migrations, no banner
    assert not (tmp_path / "shop.sqlite3").exists()


def test_a_missing_plugins_toml_is_said_where_it_was_looked_for(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    main(["plugins"])
    out, err = capsys.readouterr()
    assert err == (
        f"yutang: warning: no plugins.toml in {here}: tenants get no plugins "
        "(YUTANG_PLUGINS_FILE names the file)\n"
    )
    assert "seckill" in out  # installed plugins are still listed
    # A file that is named must exist: a typo would silently disable every plugin.
    monkeypatch.setenv("YUTANG_PLUGINS_FILE", str(here / "plugin.toml"))
    with pytest.raises(SystemExit) as exited:
        main(["plugins"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        f"yutang: configuration error: {here / 'plugin.toml'}: no such file "
        "(YUTANG_PLUGINS_FILE names it)\n"
    )


def test_plugins_makes_no_database(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (here / "plugins.toml").write_text(TOML, encoding="utf-8")
    main(["plugins"])
    out, err = capsys.readouterr()
    assert f"(tenants unknown: the SQLite database {here / 'shop.sqlite3'} does not exist" in out
    assert "  profiles: tea" in out
    assert err == ""
    assert not (here / "shop.sqlite3").exists()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"yutang {installed_version()}\n"
    assert installed_version() not in ("", "0.0")


def test_schema_of_one_tenant_profile_or_plugin_list(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (here / "plugins.toml").write_text(TOML, encoding="utf-8")

    def schema(*argv: str) -> str:
        main(["schema", *argv])
        return capsys.readouterr().out

    with pytest.raises(SystemExit) as exited:  # no database yet: none is made
        schema("--tenant", "teahouse")
    assert exited.value.code == 1
    assert "does not exist" in capsys.readouterr().err
    assert not (here / "shop.sqlite3").exists()

    main(["migrate"])  # creates the pinned tenant teahouse
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"migrated the SQLite database {here / 'shop.sqlite3'}"
    )
    for surface in ("storefront", "admin"):
        tenant = schema(surface, "--tenant", "teahouse")
        assert tenant == schema(surface, "--profile", "tea")
        assert tenant == schema(surface, "--plugins", "coupons, seckill")
        assert "type Seckill" in tenant and "type Seckill" not in schema(surface, "--plugins", "")
        assert "type Groupbuy" in schema(surface) and "type Groupbuy" not in tenant
    for argv, message in (
        (["--tenant", "nope"], f"--tenant: no tenant 'nope' in the SQLite database {here}"),
        (["--profile", "nope"], "--profile: no profile 'nope' (profiles: default, tea)"),
    ):
        with pytest.raises(SystemExit) as exited:
            schema(*argv)
        assert exited.value.code == 1
        assert capsys.readouterr().err.startswith(f"yutang: {message}")
