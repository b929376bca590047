"""Durable jobs and the event outbox share one table, run by the worker loop."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class Job(Model):
    """A unit of deferred work. Its effect commits in the same transaction as ``done``.

    ``queue`` (events, timeouts, bulk) decides which of the worker's lanes runs it, each
    with its own concurrency; within a queue, tenants take turns (``yutang.core.claims``).
    """

    id = fields.BigIntField(primary_key=True)
    tenant_id = fields.BigIntField(null=True)
    queue = fields.CharField(max_length=16, default="timeouts", db_default="timeouts")
    name = fields.CharField(max_length=128)
    payload: dict[str, Any] = fields.JSONField(default=dict)
    plugins: list[str] = fields.JSONField(default=list)
    dedupe_key = fields.CharField(max_length=200, null=True, unique=True)
    status = fields.CharField(max_length=16, default="pending")
    run_at = fields.DatetimeField()
    attempts = fields.IntField(default=0)
    max_attempts = fields.IntField(default=10)
    locked_by = fields.CharField(max_length=64, null=True)
    locked_until = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    done_at = fields.DatetimeField(null=True)

    class Meta:
        table = "job"
        indexes = (
            ("status", "run_at"),
            Index(fields=["queue", "status", "tenant_id", "run_at"]),
            Index(fields=["status", "done_at"]),
        )


class JobKey(Model):
    """A dedupe key once scheduled, kept after its job's row is deleted by retention.

    Scheduling a key inserts it here first (the primary key refuses a second), so a
    deduplicated job such as ``payment_timeout:{order}`` runs at most once, ever.
    ``forget_after``, when its scheduler set one, is when the key can no longer be
    scheduled again (a recurring occurrence once its time passed): retention forgets
    it then, once its job's row is gone too. Without one the key is kept for good.
    """

    key = fields.CharField(max_length=200, primary_key=True)
    tenant_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    forget_after = fields.DatetimeField(null=True)

    class Meta:
        table = "job_key"
        indexes = (("forget_after",),)


class JobLane(Model):
    """When a tenant's jobs of one queue were last claimed: claims serve the longest
    waiting tenant first (``yutang.core.claims``). Only claims write it, never enqueues."""

    id = fields.BigIntField(primary_key=True)
    queue = fields.CharField(max_length=16)
    tenant_key = fields.BigIntField()
    served = fields.BigIntField(default=0)

    class Meta:
        table = "job_lane"
        unique_together = (("queue", "tenant_key"),)
