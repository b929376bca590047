"""Pickup tables: what a store needs for pickup, the orders picked up there, their codes.

Store, SKU and order ids are plain columns, not foreign keys into the core: a
plugin's rows must not block (or vanish with) the core's edits. Times are stored in UTC.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint

from yutang.api import TenantModel, Timestamped


class PickupStore(TenantModel):
    """A core store's pickup details: where it is, when it is open, its slots.

    ``hours`` holds [weekday, opens, closes] (ISO weekday, minutes after local midnight),
    ``closed_days`` local dates, ``slots`` dicts of weekday, starts, ends and capacity.
    """

    store_id = fields.BigIntField()
    enabled = fields.BooleanField(default=True)
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    phone = fields.CharField(max_length=32, default="")
    hours: list[list[int]] = fields.JSONField(default=list)
    closed_days: list[str] = fields.JSONField(default=list)
    slots: list[dict[str, int]] = fields.JSONField(default=list)
    all_skus = fields.BooleanField(default=False)

    class Meta:
        table = "pickup_store"
        unique_together = (("tenant", "store_id"),)


class PickupStoreSku(TenantModel):
    """A SKU a store offers for pickup (unless the store offers every SKU)."""

    store_id = fields.BigIntField()
    sku_id = fields.BigIntField()

    class Meta:
        table = "pickup_store_sku"
        unique_together = (("tenant", "store_id", "sku_id"),)


class PickupSlotUsage(TenantModel):
    """Orders holding one occurrence of a store's slot, raised only by a conditional UPDATE."""

    store_id = fields.BigIntField()
    starts_at = fields.DatetimeField()
    taken = fields.IntField(default=0)

    class Meta:
        table = "pickup_slot_usage"
        unique_together = (("tenant", "store_id", "starts_at"),)
        constraints = (CheckConstraint(check="taken >= 0", name="pickup_slot_taken_not_negative"),)


class PickupOrder(Timestamped):
    """An order to be picked up at a store, with its code once paid.

    Status: placed, awaiting (paid, code issued), picked_up, expired (completed at the
    deadline), refunded or cancelled. Leaving awaiting is a conditional UPDATE, so a code
    is used once.
    """

    order_id = fields.BigIntField()
    store_id = fields.BigIntField()
    slot_starts_at = fields.DatetimeField(null=True)
    slot_ends_at = fields.DatetimeField(null=True)
    slot_released = fields.BooleanField(default=False)
    status = fields.CharField(max_length=16, default="placed")
    code = fields.CharField(max_length=32, null=True)
    deadline_at = fields.DatetimeField(null=True)

    class Meta:
        table = "pickup_order"
        unique_together = (("tenant", "order_id"), ("tenant", "code"))


class PickupHandover(TenantModel):
    """The log of how a pickup order ended: who (actor, role), when, and at which store.

    ``action`` is picked_up, auto_completed or auto_refunded, at most one per order. ``at``
    is the core clock's time.
    """

    at = fields.DatetimeField()
    order_id = fields.BigIntField()
    store_id = fields.BigIntField()
    action = fields.CharField(max_length=16)
    actor = fields.CharField(max_length=64)
    role = fields.CharField(max_length=16, default="")

    class Meta:
        table = "pickup_handover"
        unique_together = (("tenant", "order_id"),)


class PickupLookupCount(TenantModel):
    """Code lookups by one staff member (``kind:id``) in one minute: the rate limit's counter."""

    actor = fields.CharField(max_length=64)
    window = fields.DatetimeField()
    count = fields.IntField(default=0)

    class Meta:
        table = "pickup_lookup_count"
        unique_together = (("tenant", "actor", "window"),)
