"""Durable jobs and the event outbox share one table, run by the worker loop."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Job(Model):
    """A unit of deferred work. Its effect commits in the same transaction as ``done``."""

    id = fields.BigIntField(primary_key=True)
    tenant_id = fields.BigIntField(null=True)
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
        indexes = (("status", "run_at"),)
