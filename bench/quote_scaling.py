"""In-process quote cost as enabled plugins (0–10) and cart lines (1–100) grow.

Every plugin is a copy of one simple price step — 1% off the eligible lines at the
promotion stage — registered the way the engine takes extras:
``build_runtime(extra_plugins=[(f"p{i}", module_i), ...])``. For N plugins a runtime with N
copies is built and the tenant enables them with ``set_tenant_plugins``; N = 0 (the core
alone) is the baseline. Two figures per cell, process CPU µs per quote (anonymous, every
line quantity 1):

* ``quote`` — ``yutang.core.checkout.quote``: reads the SKUs (one query), validates, prices;
* ``pipeline`` — ``quote_checkout`` on the already loaded checkout: the plugins' part.

Linearity is checked with least-squares fits: µs against lines for each N, and µs against
N for each line count.

Run from the repository root: ``.venv/bin/python -m bench.quote_scaling [--db postgres]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from functools import partial
from pathlib import Path
from types import ModuleType

from bench.common import (
    PG_DEFAULT,
    cpu_us,
    fresh_database,
    load_average,
    machine,
    markdown,
    migrate_and_open,
    one_database,
    say,
    seed_shop,
    settings_for,
)
from yutang import api
from yutang.core.checkout import CheckoutInput, load_checkout, quote, quote_checkout
from yutang.core.contract import LineInput
from yutang.core.db import close_db
from yutang.core.models import Sku
from yutang.core.runtime import build_runtime
from yutang.core.settings import AppSettings
from yutang.core.tenants import set_tenant_plugins

PLUGINS = (0, 1, 2, 4, 6, 8, 10)
LINES = (1, 10, 25, 50, 100)
SLUG = "quote"


def price_step_plugin(index: int) -> ModuleType:
    """A plugin module whose one price step takes 1% off the eligible lines."""
    module = ModuleType(f"bench_price_step_{index}")
    label = f"p{index} 1% off"

    def one_percent_off(draft: api.Draft) -> None:
        lines = draft.eligible()
        draft.discount(api.percent_of(sum(ln.amount for ln in lines), 1), lines, label)

    @api.hookimpl
    def yutang_price_steps() -> list[api.PriceStep]:
        return [api.PriceStep(api.Stage.PROMOTION, one_percent_off, priority=100 + index)]

    module.yutang_price_steps = yutang_price_steps  # type: ignore[attr-defined]
    return module


def fit(xs: tuple[int, ...], ys: list[float]) -> tuple[float, float]:
    """Slope and R² of the least-squares line through the points."""
    slope, _ = statistics.linear_regression(xs, ys)
    return slope, statistics.correlation(xs, ys) ** 2


async def measure(settings: AppSettings, seconds: float) -> dict[str, dict[int, list[float]]]:
    """µs per quote and per pipeline run, by plugin count, one value per line count."""
    found: dict[str, dict[int, list[float]]] = {"quote": {}, "pipeline": {}}
    for count in PLUGINS:
        extras = [(f"p{i}", price_step_plugin(i)) for i in range(count)]
        runtime = build_runtime(settings, entry_points=False, extra_plugins=extras)
        await set_tenant_plugins(runtime, SLUG, plugins=[name for name, _ in extras])
        tenant = await runtime.tenants.by_slug(SLUG)
        skus = [r["id"] for r in await Sku.filter(tenant_id=tenant.id).order_by("id").values("id")]
        for kind in found.values():
            kind[count] = []
        for lines in LINES:
            data = CheckoutInput(lines=[LineInput(sku_id=pk, quantity=1) for pk in skus[:lines]])
            checkout = await load_checkout(tenant, None, data)
            priced = await quote_checkout(checkout)
            if len([a for a in priced.adjustments if a.source.startswith("p")]) != count:
                raise SystemExit(f"{count} plugins did not all apply: {priced.adjustments}")
            found["quote"][count].append(await cpu_us(partial(quote, tenant, None, data), seconds))
            found["pipeline"][count].append(
                await cpu_us(partial(quote_checkout, checkout), seconds)
            )
        say(
            f"  {count:2} plugins: pipeline "
            + ", ".join(f"{us:,.0f}" for us in found["pipeline"][count])
            + f" µs at {', '.join(map(str, LINES))} lines"
        )
    return found


def table(values: dict[int, list[float]], title: str) -> str:
    """µs by plugins × lines, with the per-line fit of each row and per-plugin fit of
    each column."""
    headers = ["plugins", *(f"{n} line{'s' * (n > 1)}" for n in LINES), "µs/line", "R² (lines)"]
    headers += [f"× core at {LINES[-1]} lines"]
    base = values[0][-1]
    rows: list[list[object]] = []
    for count, row in values.items():
        slope, r2 = fit(LINES, row)
        rows.append(
            [
                count,
                *(f"{v:,.0f}" for v in row),
                f"{slope:.1f}",
                f"{r2:.4f}",
                f"{row[-1] / base:.2f}×",
            ]
        )
    per_plugin = [fit(PLUGINS, [values[n][i] for n in PLUGINS]) for i in range(len(LINES))]
    rows.append(["µs/plugin", *(f"{s:.1f}" for s, _ in per_plugin), "", "", ""])
    rows.append(["R² (plugins)", *(f"{r2:.4f}" for _, r2 in per_plugin), "", "", ""])
    return f"{title}\n\n{markdown(headers, rows)}"


async def run(kind: str, workdir: Path, pg: str, seconds: float) -> str:
    """Seed a tenant with 100 SKUs, measure the grid; the tables."""
    url = await fresh_database(kind, "ytbench_quote", workdir, pg)
    plugins = workdir / "plugins.toml"
    plugins.write_text("[profiles.default]\nplugins = []\n", encoding="utf-8")
    runtime = build_runtime(settings_for(url, plugins), entry_points=False)
    await migrate_and_open(runtime)
    try:
        await seed_shop(runtime, SLUG, products=25, skus=4, images=0)
        found = await measure(runtime.settings, seconds)
    finally:
        await close_db()
    return (
        table(found["pipeline"], f"### {kind}: pricing pipeline (CPU µs per quote)")
        + "\n\n"
        + table(found["quote"], f"### {kind}: quote() with its SKU read (CPU µs per quote)")
        + f"\n\nLoad average {load_average()} at the end."
    )


def main() -> None:
    """Run the benchmark and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL server URL (no database)")
    parser.add_argument("--seconds", type=float, default=0.6, help="CPU seconds per cell")
    args = parser.parse_args()
    kind = one_database("bench.quote_scaling", args.db)
    if kind is None:
        return
    say(machine())
    say(f"== {kind}")
    with tempfile.TemporaryDirectory(prefix="ytbench-") as tmp:
        tables = asyncio.run(run(kind, Path(tmp), args.pg, args.seconds))
    say(f"\n## Quote scaling ({kind}, in-process)\n\n{tables}")


if __name__ == "__main__":
    main()
