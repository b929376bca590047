"""Goods that ship nothing (deposits, e-tickets, services): the core's ``virtual`` method.

A checkout whose products are all virtual takes this method unless it names another
virtual one (a ticket plugin's). It needs no address and costs no fee. Once the order is
paid, a job hands it over and completes it, in that order and after the payment commits,
so ``yutang_order_fulfilled`` and ``yutang_order_completed`` follow ``yutang_order_paid``
and everything that waits for completion (the after-sale window, commissions, points)
runs as for shipped goods.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from yutang.core import clock, outbox
from yutang.core.contract import CheckoutContext, FulfilmentMethod, TenantInfo
from yutang.core.errors import DomainError
from yutang.core.fulfilment import complete_order, fulfil_order
from yutang.core.models import Order
from yutang.core.plugins import hooks_of
from yutang.core.shipping import VIRTUAL

JOB = "core.hand_over_virtual"
RETRY = timedelta(hours=1)  # an activity's hold (a group-buy team) is asked again then


class Virtual(FulfilmentMethod[None]):
    """Handed over the moment the order is paid."""

    name = VIRTUAL
    label = "无需配送"
    virtual = True

    async def resolve(self, checkout: CheckoutContext) -> None:
        """Nothing to choose."""
        return

    async def paid(self, tenant: TenantInfo, order_id: int) -> None:
        """Hand the order over after the payment commits."""
        await outbox.schedule(
            tenant.id, JOB, {"order_id": order_id}, clock.now(), dedupe_key=f"{JOB}:{order_id}"
        )


async def hand_over(tenant: TenantInfo, payload: dict[str, Any]) -> None:
    """Job: fulfil and complete a paid virtual order; while an activity holds it, try again
    later."""
    order = await Order.get(tenant_id=tenant.id, id=payload["order_id"])
    if order.status != "paid":
        return
    owner = hooks_of(tenant).registry.owner("yutang_fulfilment_methods", order.fulfilment)
    method = owner.obj if owner is not None else None
    try:
        await fulfil_order(tenant, order.id, by=method)
    except DomainError as err:
        if err.code != "FULFILMENT_HELD":
            raise
        later = clock.now() + RETRY
        await outbox.schedule(
            tenant.id, JOB, payload, later, dedupe_key=f"{JOB}:{order.id}:{later:%Y%m%d%H%M}"
        )
        return
    await complete_order(tenant, order.id, None)
