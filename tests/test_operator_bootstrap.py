"""The first platform operator is made with ``yutang operator create`` (through the CLI's
entry point, on a database of its own), and a tenant's first owner with ``createTenant``
by an operator over HTTP, after which the owner logs in."""

from __future__ import annotations

import asyncio
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from yutang import cli
from yutang.core.auth import hash_password, issue_token, verify_password
from yutang.core.db import close_db, init_db
from yutang.core.models import Operator, Tenant
from yutang.core.runtime import build_runtime
from yutang.core.settings import AppSettings
from yutang.testing import PASSWORD, GraphQLClient

OPERATOR_LOGIN = """mutation($name: String!, $password: String!) {
  operatorLogin(username: $name, password: $password) { token errors { code } } }"""
STAFF_LOGIN = """mutation($name: String!, $password: String!) {
  staffLogin(username: $name, password: $password) { token errors { code } } }"""
CREATE_TENANT = """mutation($slug: String!, $owner: String, $password: String) {
  createTenant(slug: $slug, name: "Tea House", ownerUsername: $owner, ownerPassword: $password) {
    tenant { slug } errors { code field message } } }"""


def use_database(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Name the database in ``folder`` through the environment, as ``yutang`` reads it."""
    plugins = folder / "plugins.toml"
    plugins.write_text("[profiles.default]\nplugins = []\n", encoding="utf-8")
    monkeypatch.setenv("YUTANG_PLUGINS_FILE", str(plugins))
    monkeypatch.setenv("YUTANG_DATABASE_URL", f"sqlite://{folder / 'platform.sqlite3'}")


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated by ``yutang migrate``, once for the module."""
    folder = tmp_path_factory.mktemp("platform")
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_database(folder, monkeypatch)
        cli.main(["migrate"])
    return folder / "platform.sqlite3"


@pytest.fixture
def database(
    migrated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AppSettings]:
    """A copy of the migrated database of this test's own."""
    shutil.copy(migrated, tmp_path / "platform.sqlite3")
    use_database(tmp_path, monkeypatch)
    yield AppSettings.from_env()


def yutang(argv: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    cli.main(argv)


async def operator_password_is(settings: AppSettings, username: str, password: str) -> bool:
    """Whether the operator ``username`` exists with ``password``, as operatorLogin checks."""
    runtime = build_runtime(settings)
    await init_db(settings, runtime.registry)
    try:
        row = await Operator.get_or_none(username=username)
        return row is not None and await verify_password(row.password_hash, password)
    finally:
        await close_db()


def test_operator_create_reads_the_password_from_stdin_for_scripts(
    database: AppSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    yutang(["operator", "create", "root", "--password-stdin"], "root-secret\n", monkeypatch)
    assert "operator 'root' created" in capsys.readouterr().out
    assert asyncio.run(operator_password_is(database, "root", "root-secret"))
    # A second operator of the same name, or a short password, is refused by the command.
    for argv, stdin, message in (
        (["operator", "create", "root", "--password-stdin"], "another-1\n", "'root' exists"),
        (["operator", "create", "ops", "--password-stdin"], "short\n", "password: 6 to 128"),
    ):
        with pytest.raises(SystemExit) as exited:
            yutang(argv, stdin, monkeypatch)
        assert exited.value.code == 1
        assert message in capsys.readouterr().err


def test_operator_create_asks_for_the_password_twice(
    database: AppSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    typed = iter(["first-try-1", "first-try-2", "root-secret", "root-secret"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    with pytest.raises(SystemExit) as exited:
        cli.main(["operator", "create", "root"])
    assert exited.value.code == 1
    assert "the passwords do not match" in capsys.readouterr().err
    cli.main(["operator", "create", "root"])
    assert "operator 'root' created" in capsys.readouterr().out
    assert asyncio.run(operator_password_is(database, "root", "root-secret"))


async def test_create_tenant_takes_its_first_owner(http: httpx.AsyncClient) -> None:
    await Tenant.create(slug="home", name="home")
    op = await Operator.create(username="platform", password_hash=hash_password(PASSWORD))
    operator = GraphQLClient(
        http, "/admin/graphql", "home", await issue_token("operator", op.id, None)
    )
    half = await operator(CREATE_TENANT, {"slug": "teahouse", "owner": "boss"})
    assert half["createTenant"]["errors"] == [
        {
            "code": "INVALID",
            "field": "ownerPassword",
            "message": "give the owner's username and password",
        }
    ]
    short = await operator(CREATE_TENANT, {"slug": "teahouse", "owner": "boss", "password": "x"})
    assert short["createTenant"]["errors"][0]["field"] == "ownerPassword"
    assert not await Tenant.exists(slug="teahouse")  # nothing half-made
    made = await operator(
        CREATE_TENANT, {"slug": "teahouse", "owner": "boss", "password": "boss-secret"}
    )
    assert made["createTenant"] == {"tenant": {"slug": "teahouse"}, "errors": []}
    owner = operator.as_(tenant="teahouse")
    login = await owner(STAFF_LOGIN, {"name": "boss", "password": "boss-secret"})
    assert login["staffLogin"]["errors"] == []
    boss = owner.as_(login["staffLogin"]["token"])
    assert await boss("{ staff { username role active } }") == {
        "staff": [{"username": "boss", "role": "owner", "active": True}]
    }
    # Without an owner, a tenant is still created (its owner is added later).
    bare = await operator(CREATE_TENANT, {"slug": "bare"})
    assert bare["createTenant"] == {"tenant": {"slug": "bare"}, "errors": []}
