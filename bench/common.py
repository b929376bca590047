"""Plumbing shared by the benchmarks: databases, seeding, servers, wrk runs, counting, tables."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from importlib.metadata import entry_points, version
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from litestar.testing import AsyncTestClient
from litestar.types import ASGIApp

from yutang.core.catalog import ProductInput, SkuInput, save_product
from yutang.core.contract import TenantInfo
from yutang.core.db import init_db, run_migrations
from yutang.core.runtime import Runtime
from yutang.core.settings import AppSettings
from yutang.core.tenants import create_tenant

REPO = Path(__file__).resolve().parent.parent
WRK_DIR = REPO / "bench" / "wrk"
PLUGIN_DIST = REPO / "tests" / "plugin_dist"
PG_DEFAULT = "postgres://postgres@127.0.0.1:5432"
# On a machine with 2+ CPUs the server gets CPU 0 and wrk CPU 1 (PostgreSQL floats).
SERVER_CPU, CLIENT_CPU = 0, 1
SQL_LOGGERS = ("tortoise.db_client", "bench.rawdb")
COLOURS = ("red", "green", "blue", "black")
SIZES = ("S", "M", "L")
# Litestar configures logging when an app is made in-process; keep the output to progress.
for _name in ("httpx", "tortoise"):
    logging.getLogger(_name).setLevel(logging.WARNING)


def say(message: str) -> None:
    """Progress on stdout, flushed."""
    print(message, flush=True)


@dataclass(frozen=True)
class Timing:
    """Seconds of warm-up, then ``runs`` measured wrk runs of ``duration`` seconds."""

    warmup: int
    runs: int
    duration: int


def arguments(
    description: str, *, db: str, warmup: int, runs: int, duration: int
) -> argparse.ArgumentParser:
    """The options every HTTP benchmark takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default=db)
    parser.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL server URL (no database)")
    parser.add_argument("--warmup", type=int, default=warmup, help="seconds")
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--duration", type=int, default=duration, help="seconds per run")
    parser.add_argument("--connections", type=int, default=16)
    return parser


def one_database(module: str, choice: str) -> str | None:
    """The database to run in this process. With ``--db both`` the benchmark runs once per
    database in a child process instead (tortoise keeps the SQL of the first backend it
    meets for the life of a process), and this returns None."""
    if choice != "both":
        return choice
    for kind in ("sqlite", "postgres"):
        cmd = [sys.executable, "-m", module, *sys.argv[1:], "--db", kind]
        subprocess.run(cmd, cwd=REPO, check=True)
    return None


def timing(args: argparse.Namespace) -> Timing:
    """The run lengths from the parsed options."""
    return Timing(args.warmup, args.runs, args.duration)


def need_wrk() -> None:
    """Exit with a hint when wrk is missing."""
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk")


def machine() -> str:
    """The commit, CPU, Python and library versions, and installed plugins, for the report."""
    cpu = platform.processor() or "unknown"
    with Path("/proc/cpuinfo").open(encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    libs = ["litestar", "strawberry-graphql", "graphql-core", "tortoise-orm", "msgspec"]
    libs += ["uvicorn", "uvloop", "httptools", "asyncpg", "aiosqlite"]
    wrk = "no wrk"
    if shutil.which("wrk"):
        wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    plugins = sorted(ep.name for ep in entry_points(group="yutang.plugins"))
    return (
        f"Yutang {commit}; {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        + ", ".join(f"{name} {version(name)}" for name in libs)
        + f", {wrk.split(' [')[0]}; installed plugins: {', '.join(plugins) or 'none'}"
    )


async def fresh_database(kind: str, name: str, workdir: Path, pg: str) -> str:
    """The URL of an empty database: a new SQLite file, or PostgreSQL ``name`` recreated."""
    if kind == "sqlite":
        return f"sqlite://{workdir / name}.sqlite3"
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(f"{pg}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{pg}/{name}"


def use_plugin_dist() -> None:
    """Put ``tests/plugin_dist`` on ``sys.path`` so the example plugin's entry point is found."""
    if str(PLUGIN_DIST) not in sys.path:
        sys.path.insert(0, str(PLUGIN_DIST))


def settings_for(url: str, plugins_file: Path) -> AppSettings:
    """Production settings on this database and plugins file, the response cache off: these
    benchmarks measure the work a request does (``bench.response_cache`` measures the cache)."""
    return AppSettings(
        database_url=url, plugins_file=str(plugins_file), production=True, response_cache=False
    )


async def migrate_and_open(runtime: Runtime) -> None:
    """``yutang migrate``, then open the pool in this process."""
    await run_migrations(runtime.settings, runtime.registry)
    await init_db(runtime.settings, runtime.registry)


def product_input(slug: str, index: int, skus: int, images: int, stock: int) -> ProductInput:
    """A published product with ``skus`` colour/size SKUs and ``images`` images."""
    return ProductInput(
        name=f"Product {index}",
        description=f"Product {index} of {slug}",
        published=True,
        spec_names=["colour", "size"],
        images=[f"https://img.example.com/{slug}/{index}-{k}.jpg" for k in range(images)],
        skus=[
            SkuInput(
                price=1000 + 100 * index + k,
                stock=stock,
                specs={"colour": COLOURS[k % 4], "size": SIZES[k // 4 % 3]},
                code=f"{slug}-{index}-{k}",
            )
            for k in range(skus)
        ],
    )


async def seed_shop(
    runtime: Runtime,
    slug: str,
    *,
    products: int,
    skus: int,
    images: int,
    stock: int = 1000,
    profile: str = "default",
) -> TenantInfo:
    """A tenant made as an operator makes one, with its catalogue saved by the core."""
    await create_tenant(runtime, slug, f"Bench {slug}", profile=profile)
    tenant = await runtime.tenants.by_slug(slug)
    for i in range(products):
        await save_product(tenant, product_input(slug, i, skus, images, stock))
    return tenant


async def seed_members(tenant_id: int, count: int, *, points: int = 0) -> list[tuple[int, str]]:
    """``count`` members of the tenant (with ``points``), each with a bearer token; their
    ids and tokens. One transaction, so thousands take seconds."""
    from tortoise.transactions import in_transaction

    from yutang.core.auth import hash_password, issue_token
    from yutang.core.models import Member

    password = hash_password("bench-password")
    found = []
    async with in_transaction():
        for i in range(count):
            member = await Member.create(
                tenant_id=tenant_id, phone=f"139{i:08d}", password_hash=password, points=points
            )
            found.append((member.id, await issue_token("member", member.id, tenant_id)))
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pinned(cmd: list[str], cpu: int) -> list[str]:
    """``cmd`` under ``taskset`` on ``cpu`` when there are CPUs to spare."""
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        return ["taskset", "-c", str(cpu), *cmd]
    return cmd


class Server:
    """A ``python -m bench.server MODE`` process (YUTANG_ENV=production, with the dev
    payment provider let on: benchmarks pay with it), pinned to one CPU; ``env`` adds
    environment variables (e.g. a Redis URL)."""

    def __init__(
        self,
        mode: str,
        settings: AppSettings,
        *,
        plugins: bool = False,
        env: dict[str, str] | None = None,
    ) -> None:
        self.mode = mode
        self.port = _free_port()
        paths = [str(REPO), *([str(PLUGIN_DIST)] if plugins else [])]
        self.env = os.environ | {
            "YUTANG_DATABASE_URL": settings.database_url,
            "YUTANG_PLUGINS_FILE": settings.plugins_file,
            "YUTANG_DB_POOL_SIZE": str(settings.db_pool_size),
            "YUTANG_ENV": "production",
            "YUTANG_DEV_PAYMENTS": "on",
            "YUTANG_RESPONSE_CACHE": "on" if settings.response_cache else "off",
            "YUTANG_CACHE_PREFIX": settings.cache_prefix,
            "YUTANG_REDIS_URL": settings.redis_url or "",
            "PYTHONPATH": os.pathsep.join(paths),
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        # the server's stderr, shown if it fails to start; closed in __exit__
        self.log = tempfile.TemporaryFile()  # noqa: SIM115

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        cmd = [sys.executable, "-m", "bench.server", self.mode, "--port", str(self.port)]
        self.proc = subprocess.Popen(
            pinned(cmd, SERVER_CPU),
            cwd=REPO,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                sys.stderr.write(self.log.read().decode(errors="replace"))
                raise RuntimeError(f"{self.mode} server exited with {self.proc.returncode}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.mode} server did not start")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.proc is not None
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def rss_mb(self) -> float:
        """The server's resident memory now, in MiB."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def cpu_seconds(self) -> float:
        """User + system CPU the server has used so far (all its threads)."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
        """One request outside the load, for checks; the decoded JSON body."""
        headers = {"content-type": "application/json", **headers}
        response = httpx.post(self.url + path, content=body, headers=headers, timeout=30)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data


@dataclass(frozen=True)
class WrkRun:
    """One wrk run: completed requests, latency percentiles, failures, script counters."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    counters: dict[str, Any] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds


def _interrupted(cmd: list[str], until: Path) -> str:
    """Run wrk until its script creates ``until``, then interrupt it (wrk reports on
    SIGINT); its output."""
    with subprocess.Popen(
        cmd, cwd=WRK_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        while proc.poll() is None and not until.exists():
            time.sleep(0.01)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate()
    if proc.returncode not in (0, -signal.SIGINT):
        raise RuntimeError(f"wrk failed ({proc.returncode}): {stderr}")
    return stdout


def wrk(
    url: str,
    script: str,
    args: Sequence[str],
    seconds: int,
    connections: int,
    threads: int,
    until: Path | None = None,
) -> WrkRun:
    """Run wrk with a script of ``bench/wrk`` (which prints a ``RESULT {json}`` line);
    with ``until``, stop it as soon as the script creates that file (``seconds`` is then
    only a cap)."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    cmd += ["-s", script, url, "--", *args]
    if until is None:
        done = subprocess.run(
            pinned(cmd, CLIENT_CPU), cwd=WRK_DIR, capture_output=True, text=True, check=True
        )
        stdout = done.stdout
    else:
        stdout = _interrupted(pinned(cmd, CLIENT_CPU), until)
    lines = stdout.splitlines()
    data = json.loads(next(ln for ln in lines if ln.startswith("RESULT ")).removeprefix("RESULT "))
    failed = [ln.removeprefix("FAILED ") for ln in lines if ln.startswith("FAILED ")]
    if failed:
        data["failed_sample"] = failed[0]
    return WrkRun(
        requests=data.pop("requests"),
        seconds=data.pop("duration_us") / 1e6,
        p50_ms=data.pop("p50_us") / 1000,
        p99_ms=data.pop("p99_us") / 1000,
        errors=data.pop("errors"),
        counters=data,
    )


def _rate(run: WrkRun, counter: str | None) -> float:
    return run.rps if counter is None else int(run.counters[counter]) / run.seconds


@dataclass(frozen=True)
class Result:
    """The measured runs of one configuration with the server's CPU and memory."""

    label: str
    runs: list[WrkRun]
    cpu_seconds: float
    rss_mb: float

    def per_second(self, counter: str | None = None) -> float:
        """Median over the runs of requests (or of a script counter) per second."""
        return statistics.median(_rate(r, counter) for r in self.runs)

    @property
    def rps(self) -> float:
        """Median requests per second."""
        return self.per_second()

    @property
    def p50_ms(self) -> float:
        """Median of the runs' p50 latencies."""
        return statistics.median(r.p50_ms for r in self.runs)

    @property
    def p99_ms(self) -> float:
        """Median of the runs' p99 latencies."""
        return statistics.median(r.p99_ms for r in self.runs)

    @property
    def spread(self) -> float:
        """(max − min) / median of the runs' throughput."""
        rates = [r.rps for r in self.runs]
        return (max(rates) - min(rates)) / self.rps

    @property
    def errors(self) -> int:
        """Socket errors, timeouts and non-2xx responses over the measured runs."""
        return sum(r.errors for r in self.runs)

    def counter(self, name: str) -> int:
        """A script counter summed over the measured runs."""
        return sum(int(r.counters.get(name, 0)) for r in self.runs)

    def cpu_us(self, counter: str | None = None) -> float:
        """Server CPU µs per request (or per unit of a script counter)."""
        count = sum(r.requests for r in self.runs) if counter is None else self.counter(counter)
        return self.cpu_seconds * 1e6 / max(count, 1)

    def failed_sample(self) -> str | None:
        """The first failed response a script kept, if any."""
        samples = (r.counters.get("failed_sample") for r in self.runs)
        return next((str(x) for x in samples if x), None)


def ratio(result: Result, baseline: Result, counter: str | None = None) -> float:
    """Median over rounds of the throughput ratio (a round's runs ran back to back)."""
    return statistics.median(
        _rate(r, counter) / _rate(b, counter)
        for r, b in zip(result.runs, baseline.runs, strict=True)
    )


@dataclass(frozen=True)
class Load:
    """One configuration to measure: wrk with ``script`` and ``args`` on a server's path."""

    label: str
    server: Server
    path: str
    script: str
    args: Sequence[str]
    threads: int = 1


def measure(loads: Sequence[Load], times: Timing, connections: int) -> dict[str, Result]:
    """Warm every load up, then ``times.runs`` rounds of one wrk run per load, interleaved
    so that a noisy neighbour slows every configuration alike; CPU is the server's during
    each load's own runs."""
    for load in loads:
        say(f"  {load.label}: warm-up {times.warmup}s")
        wrk(
            load.server.url + load.path,
            load.script,
            load.args,
            times.warmup,
            connections,
            load.threads,
        )
    runs: dict[str, list[WrkRun]] = {load.label: [] for load in loads}
    cpu = dict.fromkeys(runs, 0.0)
    rss = dict.fromkeys(runs, 0.0)
    for i in range(times.runs):
        for load in loads:
            before = load.server.cpu_seconds()
            run = wrk(
                load.server.url + load.path,
                load.script,
                load.args,
                times.duration,
                connections,
                load.threads,
            )
            cpu[load.label] += load.server.cpu_seconds() - before
            rss[load.label] = load.server.rss_mb()
            runs[load.label].append(run)
            say(
                f"  {load.label}: round {i + 1}/{times.runs}: {run.rps:,.0f} req/s, "
                f"p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms, errors {run.errors}"
            )
    return {label: Result(label, done, cpu[label], rss[label]) for label, done in runs.items()}


def load_average() -> str:
    """The 1-minute load average (other processes share the machine)."""
    return f"{os.getloadavg()[0]:.1f}"


class SqlCounter(logging.Handler):
    """Counts SQL statements logged by tortoise and by the raw baseline (BEGIN/COMMIT and
    savepoints are not logged by either, so they are not counted)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if not str(record.msg).startswith(("Created connection", "Closed connection")):
            self.count += 1

    def take(self) -> int:
        """Statements since the last take."""
        count, self.count = self.count, 0
        return count


@contextmanager
def counting_sql() -> Iterator[SqlCounter]:
    """Count SQL statements in this process while the block runs."""
    counter = SqlCounter()
    loggers = [logging.getLogger(name) for name in SQL_LOGGERS]
    saved = [(lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.addHandler(counter)
        lg.setLevel(logging.DEBUG)
        lg.propagate = False
    try:
        yield counter
    finally:
        for lg, (level, propagate) in zip(loggers, saved, strict=True):
            lg.removeHandler(counter)
            lg.setLevel(level)
            lg.propagate = propagate


async def cpu_us(step: Callable[[], Awaitable[object]], seconds: float) -> float:
    """Process CPU µs per call (threads included): the median of 5 batches sized to take
    about ``seconds`` in all, after a warm-up."""
    for _ in range(10):
        await step()
    start = time.process_time()
    calls = 0
    while time.process_time() - start < seconds / 6:
        await step()
        calls += 1
    batch = max(calls, 5)
    samples = []
    for _ in range(5):
        start = time.process_time()
        for _ in range(batch):
            await step()
        samples.append((time.process_time() - start) * 1e6 / batch)
    return statistics.median(samples)


async def asgi_post(app: ASGIApp, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """One POST straight into an ASGI app, without a server or an HTTP client."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)  # type: ignore[arg-type]
    return b"".join(chunks)


def markdown(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def graphql_body(query: str, variables: dict[str, Any] | None = None) -> bytes:
    """A GraphQL POST body."""
    return json.dumps({"query": query, "variables": variables or {}}).encode()


@asynccontextmanager
async def in_process(mode: str, settings: AppSettings) -> AsyncIterator[AsyncTestClient[Any]]:
    """A server's app in this process, lifespan run, for one-off checks such as counting
    the SQL statements of a request."""
    if mode == "yutang":
        from yutang.app import create_app
        from yutang.core.runtime import build_runtime

        app = create_app(build_runtime(settings), worker=False)
    elif mode == "marketing":
        from bench.bare_marketing import create_app as create_marketing

        app = create_marketing(settings)
    else:
        from bench.baselines import create_app as create_bare

        app = create_bare(mode, settings)
    async with AsyncTestClient(app) as client:
        yield client
