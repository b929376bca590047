"""The pricing pipeline: a quote is a pure function of cart, member, tenant, time, plugins.

The lines' activities price first (stage ACTIVITY, from their claims), then plugins'
:class:`PriceStep`s in fixed, named stages, with the fulfilment method's fee opening
stage FEES. Each step reads the :class:`Draft` and calls its methods, which record every
adjustment with its source plugin, label and per-line shares. Order-level discounts are
apportioned to lines by largest remainder so each line knows exactly what it paid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import msgspec

from yutang.core import activities, methods
from yutang.core.contract import CheckoutContext, Draft, PriceStep, Quote, Stage, TenantInfo
from yutang.core.errors import DomainError
from yutang.core.plugins import hooks_of


@dataclass(frozen=True, slots=True)
class Priced:
    """A checkout's quote and what each plugin's steps kept for its reservation."""

    quote: Quote
    kept: dict[str, Any]


def price_steps(tenant: TenantInfo) -> list[tuple[str, PriceStep]]:
    """The tenant's steps in run order: stage, priority, then plugin name."""
    cache = hooks_of(tenant).memo
    steps: list[tuple[str, PriceStep]] | None = cache.get("price_steps")
    if steps is None:
        steps = [
            (plugin, step)
            for plugin, result in hooks_of(tenant).collect("yutang_price_steps")
            for step in result
        ]
        steps.sort(key=lambda ps: (ps[1].stage, ps[1].priority, ps[0]))
        cache["price_steps"] = steps
    return steps


async def run_pipeline(
    checkout: CheckoutContext, claims: Mapping[str, Any], chosen: methods.Chosen
) -> Priced:
    """Price the checkout: activities, the tenant's steps, the method's fee; pure (reads
    only)."""
    draft = Draft(checkout)
    registry = hooks_of(checkout.tenant).registry
    steps = price_steps(checkout.tenant)
    for stage in Stage:
        draft.stage = stage
        if stage == Stage.ACTIVITY:
            await activities.price(draft, claims)
        if stage == Stage.FEES:
            await methods.fee(draft, chosen)
        for plugin, step in steps:
            if step.stage != stage:
                continue
            draft.source = plugin
            await registry.invoke(plugin, f"step {stage.name}", partial(step.apply, draft), {})
        if stage == Stage.ACTIVITY:
            for ln in draft.lines:
                if ln.line.activity is not None and ln.activity_source is None:
                    raise DomainError(
                        "NOT_APPLICABLE",
                        f"activity {ln.line.activity.ref!r} does not apply to this SKU now",
                        f"lines[{ln.index}].activity",
                    )
        if stage == Stage.MEMBER_PRICE:
            draft.source = ""
            draft._settle_offers()
    quote = draft.finish(checkout.tenant.currency)
    plan = await activities.payment_plan(checkout, claims, quote.total)
    if plan:
        quote = msgspec.structs.replace(quote, instalments=plan).sealed()
    return Priced(quote, draft.kept)
