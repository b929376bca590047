"""In-process quote cost with full reduction and coupons, as lines (1–100) and active rules
and coupons (1–20) grow, against the same quote with no plugin enabled.

One tenant per rule count N, each with the same catalogue (100 products of one SKU) and the
``fullreduction`` and ``coupons`` plugins, and one more, ``plain``, with no plugin: the
baseline. For N, the tenant has N live full-reduction rules (ladder, 满 1 元减 0.10 元), rule
i scoped to its own 100/N products (live rules may not overlap), and the member holds N
unused coupons of N templates (fixed 0.50 元 off, all products). Quotes are a member's,
every line quantity 1, over the first L products, so each line falls under one rule; no
coupon is chosen, so the coupons step measures every held coupon against the cart for the
quote's hints (the path whose cost grows with coupons).

Two figures per cell, process CPU µs per quote (the median of 5 batches, see
``common.cpu_us``):

* ``quote`` — ``yutang.core.checkout.quote``: reads SKUs and the member, validates, prices;
* ``pipeline`` — ``quote_checkout`` on the already loaded checkout: the plugins' part (the
  rules and coupons reads included).

Linearity is checked with least-squares fits: µs against lines for each N, and µs against
N for each line count.

Run from the repository root: ``.venv/bin/python -m bench.promotions [--db postgres]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from bench.common import (
    PG_DEFAULT,
    counting_sql,
    cpu_us,
    fresh_database,
    load_average,
    machine,
    markdown,
    migrate_and_open,
    one_database,
    say,
    seed_members,
    seed_shop,
    settings_for,
)
from yutang.core.checkout import CheckoutInput, load_checkout, quote, quote_checkout
from yutang.core.contract import LineInput, TenantInfo
from yutang.core.db import close_db
from yutang.core.models import Sku
from yutang.core.runtime import Runtime, build_runtime

RULES = (1, 2, 5, 10, 20)
LINES = (1, 10, 25, 50, 100)
PRODUCTS = 100
PLUGINS_TOML = (
    '[profiles.default]\nplugins = []\n\n[profiles.promo]\nplugins = ["fullreduction", "coupons"]\n'
)


async def seed_promotions(runtime: Runtime, slug: str, count: int) -> tuple[TenantInfo, int]:
    """A tenant with ``count`` disjoint rules and a member holding ``count`` coupons."""
    from yutang.plugins.coupons.issue import claim
    from yutang.plugins.coupons.templates import TemplateInput, create_template
    from yutang.plugins.fullreduction.rules import RuleInput, create_rule
    from yutang.plugins.fullreduction.tiers import Tier

    tenant = await seed_shop(
        runtime, slug, products=PRODUCTS, skus=1, images=0, stock=10**6, profile="promo"
    )
    (member_id, _), *_ = await seed_members(tenant.id, 1)
    products = [r["product_id"] for r in await Sku.filter(tenant_id=tenant.id).values("product_id")]
    products.sort()
    now = datetime.now(UTC)
    for i in range(count):
        await create_rule(
            tenant,
            RuleInput(
                name=f"Rule {i}",
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(days=1),
                tiers=[Tier(threshold=100, off=10)],
                scope="products",
                scope_ids=products[i::count],
            ),
        )
        template = await create_template(
            tenant, TemplateInput(name=f"Coupon {i}", kind="fixed", value=50, valid_days=30)
        )
        await claim(tenant, member_id, template.id)
    return tenant, member_id


def request(skus: list[int], lines: int) -> CheckoutInput:
    """A cart of the first ``lines`` SKUs, quantity 1 each."""
    return CheckoutInput(lines=[LineInput(sku_id=pk, quantity=1) for pk in skus[:lines]])


async def measure(
    runtime: Runtime, shops: dict[int, tuple[TenantInfo, int]], seconds: float
) -> dict[str, dict[int, list[float]]]:
    """µs per quote and per pipeline run, by rule count (0: no plugin), per line count."""
    found: dict[str, dict[int, list[float]]] = {"quote": {}, "pipeline": {}}
    statements: dict[int, list[int]] = {}
    for count, (info, member_id) in shops.items():
        tenant = await runtime.tenants.by_slug(info.slug)
        skus = [r["id"] for r in await Sku.filter(tenant_id=tenant.id).order_by("id").values("id")]
        for kind in found.values():
            kind[count] = []
        statements[count] = []
        for lines in LINES:
            data = request(skus, lines)
            checkout = await load_checkout(tenant, member_id, data)
            priced = await quote_checkout(checkout)
            rules = {a.source for a in priced.adjustments if a.source == "fullreduction"}
            if count and (len(rules) != 1 or not priced.hints):
                raise SystemExit(f"N={count}, {lines} lines: rules or hints missing: {priced}")
            with counting_sql() as counter:
                await quote(tenant, member_id, data)
            statements[count].append(counter.take())
            found["quote"][count].append(
                await cpu_us(partial(quote, tenant, member_id, data), seconds)
            )
            found["pipeline"][count].append(
                await cpu_us(partial(quote_checkout, checkout), seconds)
            )
        say(
            f"  {count:2} rules and coupons: quote "
            + ", ".join(f"{us:,.0f}" for us in found["quote"][count])
            + f" µs at {', '.join(map(str, LINES))} lines; SQL {statements[count]}"
        )
    found["sql"] = {n: [float(c) for c in counts] for n, counts in statements.items()}
    return found


def fit(xs: tuple[int, ...], ys: list[float]) -> tuple[float, float]:
    """Slope and R² of the least-squares line through the points."""
    slope, _ = statistics.linear_regression(xs, ys)
    return slope, statistics.correlation(xs, ys) ** 2


def table(values: dict[int, list[float]], title: str) -> str:
    """µs by rules × lines with quotes/s against no plugin, and both fits."""
    headers = ["rules + coupons", *(f"{n} line{'s' * (n > 1)}" for n in LINES)]
    headers += ["µs/line", "R² (lines)"]
    rows: list[list[object]] = []
    base = values[0]
    for count, row in values.items():
        slope, r2 = fit(LINES, row)
        cells = [
            f"{v:,.0f} ({1e6 / v:,.0f}/s, {b / v:.2f}×)" for v, b in zip(row, base, strict=True)
        ]
        rows.append([count or "none (no plugin)", *cells, f"{slope:.1f}", f"{r2:.4f}"])
    counts = tuple(n for n in values if n)
    per_rule = [fit(counts, [values[n][i] for n in counts]) for i in range(len(LINES))]
    rows.append(["µs per rule + coupon", *(f"{s:.1f}" for s, _ in per_rule), "", ""])
    rows.append(["R² (rules)", *(f"{r2:.4f}" for _, r2 in per_rule), "", ""])
    per_line = [fit(LINES, values[n])[0] for n in counts]
    return (
        f"{title}\n\n{markdown(headers, rows)}\n\n"
        "Cells: µs per quote (quotes/s, × the no-plugin quote of the same cart). "
        f"With plugins, a line costs {min(per_line):.1f}–{max(per_line):.1f} µs across rule "
        f"counts and a rule + coupon {min(s for s, _ in per_rule):.1f}–"
        f"{max(s for s, _ in per_rule):.1f} µs across cart sizes."
    )


async def run(kind: str, workdir: Path, pg: str, seconds: float) -> str:
    """Seed the tenants, measure the grid; the tables."""
    url = await fresh_database(kind, "ytbench_promotions", workdir, pg)
    plugins = workdir / "plugins.toml"
    plugins.write_text(PLUGINS_TOML, encoding="utf-8")
    runtime = build_runtime(settings_for(url, plugins))
    await migrate_and_open(runtime)
    try:
        say(f"  seeding {len(RULES) + 1} tenants of {PRODUCTS} products")
        shops: dict[int, tuple[TenantInfo, int]] = {}
        plain = await seed_shop(runtime, "plain", products=PRODUCTS, skus=1, images=0, stock=10**6)
        (member_id, _), *_ = await seed_members(plain.id, 1)
        shops[0] = (plain, member_id)
        for count in RULES:
            shops[count] = await seed_promotions(runtime, f"promo-{count}", count)
        found = await measure(runtime, shops, seconds)
    finally:
        await close_db()
    return (
        table(found["pipeline"], f"### {kind}: pricing pipeline (CPU µs per quote)")
        + "\n\n"
        + table(found["quote"], f"### {kind}: quote() with its reads (CPU µs per quote)")
        + "\n\nSQL statements per quote (by rules + coupons, at "
        + ", ".join(map(str, LINES))
        + " lines): "
        + "; ".join(
            f"{n or 'none'}: {', '.join(str(int(c)) for c in counts)}"
            for n, counts in found["sql"].items()
        )
        + f".\n\nLoad average {load_average()} at the end."
    )


def main() -> None:
    """Run the benchmark and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL server URL (no database)")
    parser.add_argument("--seconds", type=float, default=0.5, help="CPU seconds per cell")
    args = parser.parse_args()
    kind = one_database("bench.promotions", args.db)
    if kind is None:
        return
    say(machine())
    say(f"== {kind}")
    with tempfile.TemporaryDirectory(prefix="ytbench-") as tmp:
        tables = asyncio.run(run(kind, Path(tmp), args.pg, args.seconds))
    say(f"\n## Full reduction and coupons: quote cost ({kind}, in-process)\n\n{tables}")


if __name__ == "__main__":
    main()
