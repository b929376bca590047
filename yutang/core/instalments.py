"""Orders paid in parts: the instalments of a payment plan.

An activity's :meth:`~yutang.core.contract.Activity.payment_plan` splits an order's total
(a presale's deposit and balance). The order takes its stock once, when placed; it is
``deposit_paid`` from its first instalment to its last, then ``paid``. A later instalment
still unpaid when its window closes forfeits the order: its stock goes back and what was
paid stays with the merchant (staff may still refund it): :mod:`yutang.core.balances`.
Each instalment has at most one open payment attempt at a time
(:mod:`yutang.core.payments`).
"""

from __future__ import annotations

from yutang.core import clock
from yutang.core.contract import Instalment as Planned
from yutang.core.contract import TenantInfo
from yutang.core.errors import DomainError
from yutang.core.models import Instalment, Order


def has_plan(order: Order) -> bool:
    """Whether the order is paid in parts (read from its quote, no query)."""
    return bool(order.quote.get("instalments"))


async def create(tenant: TenantInfo, order: Order, plan: list[Planned]) -> None:
    """The order's instalment rows, at placement; the first is due by its deadline, and
    a plan whose second window closes by then is the activity's bug."""
    second = plan[1].due_at
    if second is None or second <= order.payment_deadline:
        raise RuntimeError("the payment plan's second window closes before the first is due")
    now = clock.now()
    await Instalment.bulk_create(
        [
            Instalment(
                tenant_id=tenant.id,
                order_id=order.id,
                position=i,
                label=part.label,
                amount=part.amount,
                opens_at=part.opens_at or now,
                due_at=part.due_at or order.payment_deadline,
            )
            for i, part in enumerate(plan)
        ]
    )


async def payable(tenant: TenantInfo, order: Order) -> Instalment:
    """The instalment a payment of ``order`` would pay now, or why there is none."""
    if order.status not in ("pending_payment", "deposit_paid"):
        raise DomainError(
            "ILLEGAL_TRANSITION", f"an order that is {order.status} cannot be paid", "orderId"
        )
    part = (
        await Instalment.filter(tenant_id=tenant.id, order_id=order.id, status="pending")
        .order_by("position")
        .first()
    )
    if part is None:
        raise DomainError("ILLEGAL_TRANSITION", "an order that is paid cannot be paid", "orderId")
    now = clock.now()
    if part.opens_at > now:
        raise DomainError(
            "INSTALMENT_NOT_OPEN",
            f"the {part.label} can be paid from {part.opens_at.isoformat()}",
            "orderId",
        )
    if part.due_at <= now:
        raise DomainError("PAYMENT_EXPIRED", "the time to pay has run out", "orderId")
    return part


async def end_pending(tenant: TenantInfo, order_id: int, status: str) -> None:
    """Close an ending order's unpaid instalments (``cancelled`` or ``forfeited``)."""
    await Instalment.filter(tenant_id=tenant.id, order_id=order_id, status="pending").update(
        status=status
    )
