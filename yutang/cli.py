"""The ``yutang`` command: serve, migrate, worker, jobs, operator, plugins, schema,
makemigrations, new-plugin, secrets."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from yutang.core.contract import TenantInfo
from yutang.core.db import Unreachable, describe, exists, reach
from yutang.core.errors import ConfigError, DomainError
from yutang.core.plugins import PluginSet, installed_version
from yutang.core.runtime import Runtime, build_runtime
from yutang.core.settings import AppSettings


def _say(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def _warn(message: str) -> None:
    sys.stderr.write(f"yutang: warning: {message}\n")


def _note_missing_plugins_file(settings: AppSettings) -> None:
    """Say where ``plugins.toml`` was looked for when it is not there (a named file that
    is missing is an error of its own): without it no tenant has any plugin."""
    if settings.plugins_file is None and not settings.plugins_path().exists():
        _warn(
            f"no plugins.toml in {Path.cwd()}: tenants get no plugins "
            "(YUTANG_PLUGINS_FILE names the file)"
        )


def _reach(runtime: Runtime) -> None:
    """Fail in one line now when the database does not answer."""
    asyncio.run(reach(runtime.settings, runtime.registry))


def _port_free(host: str, port: int) -> None:
    """Bind the address uvicorn will listen on and let it go, so a port in use is said
    before migrations run and before the banner says the server is up."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            sock.bind((host, port))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise DomainError("UNAVAILABLE", f"cannot listen on {host}:{port}: {reason}") from exc


def _progress(event: str, app: str, name: str) -> None:
    if event == "apply_start":
        sys.stdout.write(f"  applying {app}.{name} ... ")
        sys.stdout.flush()
    elif event == "apply_done":
        _say("ok")


async def _prepare(runtime: Runtime, demo: bool) -> None:
    from yutang.core.db import close_db, init_db, run_migrations
    from yutang.core.tenants import ensure_pinned_tenants

    _say(f"migrating {describe(runtime.settings)}")
    await run_migrations(runtime.settings, runtime.registry, progress=_progress)
    await init_db(runtime.settings, runtime.registry)
    try:
        await ensure_pinned_tenants(runtime)
        if demo:
            from yutang.core.demo import load_demo

            _say(f"loading the demo tenant {runtime.settings.default_tenant!r}")
            await load_demo(runtime, runtime.settings.default_tenant, lambda m: _say("  " + m))
    finally:
        await close_db()


def cmd_serve(runtime: Runtime, args: argparse.Namespace) -> None:
    """Apply migrations (embedded SQLite), optionally load the demo, start the server."""
    import uvicorn

    from yutang.app import create_app
    from yutang.edge.cache_store import check_workers

    check_workers(runtime.settings, args.workers)
    _port_free(args.host, args.port)
    _reach(runtime)
    if runtime.settings.is_sqlite or args.demo:
        asyncio.run(_prepare(runtime, args.demo))
    _say(f"Yutang on http://{args.host}:{args.port}/graphql (admin: /admin/graphql)")
    app = (
        create_app(runtime, worker=not args.no_worker)
        if args.workers == 1
        else "yutang.app:serve_app"
    )
    uvicorn.run(
        app,
        factory=args.workers > 1,
        workers=args.workers,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
    )


def cmd_migrate(runtime: Runtime, args: argparse.Namespace) -> None:
    """Apply the core's and every installed plugin's migrations."""
    _reach(runtime)
    asyncio.run(_prepare(runtime, demo=args.demo))
    _say(f"migrated {describe(runtime.settings)}")


def cmd_worker(runtime: Runtime, args: argparse.Namespace) -> None:
    """Run the durable job worker in this process (production: beside the servers)."""
    from yutang.core.db import close_db, init_db
    from yutang.core.worker import Worker

    _reach(runtime)

    async def main() -> None:
        await init_db(runtime.settings, runtime.registry)
        try:
            await Worker(runtime).run_forever(asyncio.Event(), interval=args.interval)
        finally:
            await close_db()

    asyncio.run(main())


def cmd_jobs(runtime: Runtime, args: argparse.Namespace) -> None:
    """Job counts by queue, tenant, name and status; ``prune`` applies retention now
    (done jobs, keys that cannot recur, the settled webhook log), saying how far it is."""
    from datetime import timedelta

    from yutang.core import job_admin, retention
    from yutang.core.db import close_db, init_db

    _reach(runtime)

    async def main() -> None:
        await init_db(runtime.settings, runtime.registry)
        try:
            if args.action == "prune":
                settings = runtime.settings
                done = await retention.apply(
                    timedelta(days=settings.job_retention_days),
                    timedelta(days=settings.webhook_retention_days),
                    lambda kind, n: _say(f"  {n} {kind} deleted ..."),
                )
                _say(
                    f"deleted {done.jobs} jobs done more than {settings.job_retention_days:g} "
                    f"days ago, {done.keys} dedupe keys that cannot recur, and "
                    f"{done.deliveries} webhook deliveries older than "
                    f"{settings.webhook_retention_days:g} days"
                )
                return
            rows = await job_admin.counts(args.status)
            _say(f"{'queue':<9} {'tenant':<20} {'name':<36} {'status':<10} {'count':>8}")
            for row in rows:
                tenant = row.tenant_slug or ("-" if row.tenant_id is None else str(row.tenant_id))
                _say(f"{row.queue:<9} {tenant:<20} {row.name:<36} {row.status:<10} {row.count:>8}")
        finally:
            await close_db()

    asyncio.run(main())


def _new_password(args: argparse.Namespace) -> str:
    """The password of a new account: a line of stdin with ``--password-stdin``, else
    typed twice at a prompt."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("password: ")
    if getpass.getpass("password again: ") != password:
        raise DomainError("INVALID", "the passwords do not match", "password")
    return password


def cmd_operator(runtime: Runtime, args: argparse.Namespace) -> None:
    """Create a platform operator (the first one, who then creates tenants)."""
    from tortoise.exceptions import OperationalError

    from yutang.core.db import close_db, init_db
    from yutang.core.models import Tenant
    from yutang.core.tenants import create_operator

    _reach(runtime)
    password = _new_password(args)

    async def main() -> bool:
        await init_db(runtime.settings, runtime.registry)
        try:
            await create_operator(args.username, password)
            return await Tenant.exists()
        except OperationalError as exc:
            raise ConfigError(f"cannot write ({exc}); has `yutang migrate` run?") from exc
        finally:
            await close_db()

    any_tenant = asyncio.run(main())
    _say(f"operator {args.username!r} created: operatorLogin on /admin/graphql")
    if not any_tenant:  # the admin API is reached through a tenant, even by operators
        _say("no tenant exists yet: pin one in plugins.toml ([tenants.<slug>]), run yutang migrate")


async def _enabling_tenants(runtime: Runtime) -> dict[str, list[str]]:
    """Tenant slugs by enabled plugin, read from the database (profile + overrides)."""
    from yutang.core.db import close_db, init_db
    from yutang.core.models import Tenant

    found: dict[str, list[str]] = {}
    await init_db(runtime.settings, runtime.registry)
    try:
        for row in await Tenant.all().order_by("slug"):
            for plugin in runtime.tenants.from_row(row).plugins:
                found.setdefault(plugin, []).append(row.slug)
    finally:
        await close_db()
    return found


def cmd_plugins(runtime: Runtime, args: argparse.Namespace) -> None:
    """Installed plugins: version, hooks, permissions, error codes, and the profiles and
    tenants enabling them."""
    tenants: dict[str, list[str]] = {}
    if not exists(runtime.settings):  # connecting would create the file
        _say(f"(tenants unknown: {describe(runtime.settings)} does not exist yet)")
    else:
        try:
            tenants = asyncio.run(_enabling_tenants(runtime))
        except Exception as exc:  # an unmigrated database still lists what is installed
            _say(f"(tenants unknown: {' '.join(str(exc).split())})")
    for info in sorted(runtime.registry.plugins.values(), key=lambda p: p.name):
        if info.name == "core":
            continue
        profiles = [n for n, p in runtime.plugins_file.profiles.items() if info.name in p.plugins]
        slugs = tenants.get(info.name, [])
        shown = ", ".join(slugs[:10]) + (f" and {len(slugs) - 10} more" if len(slugs) > 10 else "")
        _say(f"{info.name} {info.version} ({info.distribution})")
        _say(f"  hooks: {', '.join(info.hooks)}")
        for perm in info.permissions:
            _say(f"  permission {perm.name} ({', '.join(perm.roles)}): {perm.description}")
        for code, meaning in sorted(info.error_codes.items()):
            _say(f"  error {code}: {meaning}")
        _say(f"  profiles: {', '.join(profiles) or '-'}")
        _say(f"  tenants: {shown or '-'}")
    if len(runtime.registry.plugins) == 1:
        _say("no plugins installed")


async def _tenant_named(runtime: Runtime, slug: str) -> TenantInfo:
    """The tenant ``slug`` as the server builds it (profile, pin and overrides), whatever
    its status."""
    from tortoise.exceptions import OperationalError

    from yutang.core.db import close_db, init_db
    from yutang.core.models import Tenant

    if not exists(runtime.settings):
        raise DomainError("NOT_FOUND", f"{describe(runtime.settings)} does not exist", "--tenant")
    await reach(runtime.settings, runtime.registry)
    await init_db(runtime.settings, runtime.registry)
    try:
        row = await Tenant.get_or_none(slug=slug)
    except OperationalError as exc:
        raise ConfigError(f"cannot read tenants ({exc}); has `yutang migrate` run?") from exc
    finally:
        await close_db()
    if row is None:
        where = describe(runtime.settings)
        raise DomainError("NOT_FOUND", f"no tenant {slug!r} in {where}", "--tenant")
    return runtime.tenants.from_row(row)


def _schema_plugins(runtime: Runtime, args: argparse.Namespace) -> PluginSet:
    """The plugin set ``yutang schema`` prints: a tenant's, a profile's, the named
    plugins, or every installed plugin."""
    from yutang.core.plugins import hooks_of

    registry = runtime.registry
    if args.plugins is not None:
        return registry.plugin_set(n.strip() for n in args.plugins.split(",") if n.strip())
    if args.profile is not None:
        profile = runtime.plugins_file.profiles.get(args.profile)
        if profile is None:
            known = ", ".join(sorted(runtime.plugins_file.profiles))
            message = f"no profile {args.profile!r} (profiles: {known})"
            raise DomainError("NOT_FOUND", message, "--profile")
        return registry.plugin_set(profile.plugins)
    if args.tenant is not None:
        return hooks_of(asyncio.run(_tenant_named(runtime, args.tenant)))
    return registry.everything()


def cmd_schema(runtime: Runtime, args: argparse.Namespace) -> None:
    """Print the SDL of a schema: every installed plugin enabled, or one tenant's,
    profile's or list's plugin set (code generation per merchant)."""
    from yutang.graphql.schema import build_schema

    _say(build_schema(args.surface, _schema_plugins(runtime, args)).as_str())


def cmd_makemigrations(runtime: Runtime, args: argparse.Namespace) -> None:
    """Write new migrations for the core or a plugin (into that plugin's package).

    The core app is always loaded with the named plugins: their models reference it.
    """
    from tortoise.cli.cli import CLIContext, makemigrations

    os.environ.setdefault("YUTANG_DATABASE_URL", "sqlite://:memory:")
    asyncio.run(
        makemigrations(
            CLIContext("yutang.core.db.TORTOISE_ORM", None),
            tuple(dict.fromkeys(["core", *args.apps])) if args.apps else (),
            False,
            args.name,
        )
    )


def cmd_secrets(runtime: Runtime, args: argparse.Namespace) -> None:
    """``key`` prints a new key for ``YUTANG_SECRET_KEYS``; ``rotate`` seals every stored
    secret again under the first key, saying how far it is."""
    from yutang.core import gateways, sealing
    from yutang.core.db import close_db, init_db

    if args.action == "key":
        _say(sealing.new_key())
        return
    _reach(runtime)

    async def main() -> None:
        await init_db(runtime.settings, runtime.registry)
        try:
            sealing.seal(b"")  # refuse at once without keys, before reading anything
            done = await gateways.reseal_all(
                lambda n, total: _say(f"  {n} of {total} resealed ...") if n % 100 == 0 else None
            )
            _say(f"resealed {done} stored credentials under the first key of {sealing.ENV}")
        finally:
            await close_db()

    asyncio.run(main())


def cmd_new_plugin(args: argparse.Namespace) -> None:
    """Write a ready-to-install plugin distribution, ``yutang-<name>/``, into ``--dir``."""
    from yutang.scaffold import render

    root = render(args.name, Path(args.dir))
    package = f"yutang_{args.name}"
    _say(f"wrote {root}")
    _say(f"  {package}/__init__.py  hooks: settings, error codes, GraphQL")
    _say(f"  {package}/models.py    its table, with the first migration in {package}/migrations")
    _say('next: pip install -e ".[test]" && pytest (in that folder)')


def cmd_hook_reference(args: argparse.Namespace) -> bool:
    """Write the hook reference of ``docs/plugins.md`` from the docstrings; with
    ``--check``, only say whether it is up to date. False when it was (or is) stale."""
    from yutang.core.reference import render, updated

    root = Path(args.root)
    guide = root / "docs" / "plugins.md"
    text = guide.read_text(encoding="utf-8")
    fresh = updated(text, render(root))
    if fresh == text:
        _say(f"{guide}: the hook reference is up to date")
        return True
    if args.check:
        _say(f"{guide}: the hook reference is stale; run yutang hook-reference")
        return False
    guide.write_text(fresh, encoding="utf-8")
    _say(f"{guide}: hook reference written")
    return True


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``yutang`` command."""
    parser = argparse.ArgumentParser(prog="yutang", description="Yutang commerce engine")
    parser.add_argument("--version", action="version", version=f"yutang {installed_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--demo", action="store_true", help="load the demo tenant first")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-worker", action="store_true", help="no in-process job worker")
    serve.add_argument(
        "--workers", type=int, default=1, help="server processes (several: no in-process jobs)"
    )
    serve.set_defaults(run=cmd_serve)
    migrate = sub.add_parser("migrate", help="apply migrations")
    migrate.add_argument("--demo", action="store_true", help="load the demo tenant too")
    migrate.set_defaults(run=cmd_migrate)
    worker = sub.add_parser("worker", help="run the durable job worker")
    worker.add_argument("--interval", type=float, default=0.5)
    worker.set_defaults(run=cmd_worker)
    jobs = sub.add_parser("jobs", help="job counts; `jobs prune` applies retention now")
    jobs.add_argument("action", nargs="?", default="counts", choices=["counts", "prune"])
    jobs.add_argument("--status", help="only jobs in this status (failed, pending, ...)")
    jobs.set_defaults(run=cmd_jobs)
    secrets = sub.add_parser(
        "secrets", help="`secrets key` makes a key; `secrets rotate` reseals under the first"
    )
    secrets.add_argument("action", choices=["key", "rotate"])
    secrets.set_defaults(run=cmd_secrets)
    operator = sub.add_parser("operator", help="manage platform operators")
    operator_sub = operator.add_subparsers(dest="action", required=True)
    create = operator_sub.add_parser("create", help="create a platform operator")
    create.add_argument("username")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin (scripts)"
    )
    create.set_defaults(run=cmd_operator)
    sub.add_parser("plugins", help="list installed plugins").set_defaults(run=cmd_plugins)
    schema = sub.add_parser("schema", help="print a schema's SDL")
    schema.add_argument("surface", nargs="?", default="storefront", choices=["storefront", "admin"])
    of = schema.add_mutually_exclusive_group()
    of.add_argument("--tenant", metavar="SLUG", help="that tenant's plugins (from the database)")
    of.add_argument("--profile", metavar="NAME", help="that plugins.toml profile's plugins")
    of.add_argument("--plugins", metavar="A,B", help="these plugins (empty: the core only)")
    schema.set_defaults(run=cmd_schema)
    mk = sub.add_parser("makemigrations", help="write migrations for the core or plugins")
    mk.add_argument("apps", nargs="*", help="app labels: core or plugin names")
    mk.add_argument("-n", "--name")
    mk.set_defaults(run=cmd_makemigrations)
    new = sub.add_parser("new-plugin", help="write a new plugin distribution to start from")
    new.add_argument("name", help="the plugin's name: a lower-case identifier")
    new.add_argument("--dir", default=".", help="where to write yutang-<name>/ (default: here)")
    ref = sub.add_parser("hook-reference", help="write the plugin guide's hook reference")
    ref.add_argument("--root", default=".", help="the source tree (default: here)")
    ref.add_argument("--check", action="store_true", help="fail when stale; write nothing")
    args = parser.parse_args(argv)
    if args.command == "hook-reference":
        if not cmd_hook_reference(args):
            parser.exit(1)
        return
    if args.command == "new-plugin":
        try:
            cmd_new_plugin(args)
        except (ValueError, FileExistsError) as exc:
            parser.exit(2, f"yutang: {exc}\n")
        return
    try:
        settings = AppSettings.from_env()
        runtime = build_runtime(settings)
        _note_missing_plugins_file(settings)
        args.run(runtime, args)
    except ConfigError as exc:
        parser.exit(2, f"yutang: configuration error: {exc}\n")
    except Unreachable as exc:
        parser.exit(1, f"yutang: {exc}\n")
    except DomainError as exc:
        parser.exit(1, f"yutang: {exc.field + ': ' if exc.field else ''}{exc.message}\n")
