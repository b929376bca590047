"""Job queues and recurring jobs, as plugins declare them (re-exported by ``yutang.api``).

Nothing here touches the database: :class:`Cron` computes occurrences, :class:`Recurring`
says which handler runs once per occurrence; the worker schedules and runs them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo


class Queue(StrEnum):
    """The worker's lanes, each with its own concurrency (``YUTANG_JOB_CONCURRENCY``).

    ``events``: outbox deliveries to plugins' event hooks. ``timeouts``: deadlines that
    must not wait behind bulk work (payment timeouts, group-buy expiries), the default of
    ``schedule_job``. ``bulk``: long or numerous work (broadcasts, recurring refreshes).
    ``webhooks``: deliveries to the vendor's own systems, so a slow receiver holds up
    neither plugins' events nor deadlines. ``gateways``: calls to payment gateways
    (reconciliation, closing, refunds), so a gateway outage holds up no deadline.
    """

    EVENTS = "events"
    TIMEOUTS = "timeouts"
    BULK = "bulk"
    WEBHOOKS = "webhooks"
    GATEWAYS = "gateways"


Field = int | tuple[int, ...] | None

# How far ahead an occurrence is looked for: four years covers a 29 February.
_HORIZON_DAYS = 4 * 366


def _values(field: Field, full: range) -> tuple[int, ...]:
    if field is None:
        return tuple(full)
    values = (field,) if isinstance(field, int) else field
    for value in values:
        if value not in full:
            raise ValueError(f"{value} is outside {full.start}..{full.stop - 1}")
    return tuple(sorted(set(values)))


@dataclass(frozen=True, slots=True)
class Cron:
    """A cron-like schedule: a field set matches those values, None matches any.

    ``minute`` 0-59, ``hour`` 0-23, ``day`` of the month 1-31, ``weekday`` 0 (Monday) to
    6. ``Cron(hour=3)`` is 03:00 every day; ``Cron(day=8, hour=0)`` midnight on the 8th;
    ``Cron(minute=(0, 30))`` every half hour. A day field and a weekday field set
    together must both match (unlike cron's either-or).
    """

    minute: Field = 0
    hour: Field = None
    day: Field = None
    weekday: Field = None

    def __post_init__(self) -> None:
        self._fields()

    def _fields(self) -> tuple[tuple[int, ...], ...]:
        return (
            _values(self.minute, range(60)),
            _values(self.hour, range(24)),
            _values(self.day, range(1, 32)),
            _values(self.weekday, range(7)),
        )

    def next_after(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """The first occurrence strictly after ``moment``, in UTC, reading the fields in
        ``zone`` (a local time skipped by a daylight-saving change falls an hour later)."""
        minutes, hours, days, weekdays = self._fields()
        start = moment.astimezone(zone).date()
        for offset in range(_HORIZON_DAYS):
            day = start + timedelta(days=offset)
            if day.day not in days or day.weekday() not in weekdays:
                continue
            for hour in hours:
                for minute in minutes:
                    at = _utc(day, hour, minute, zone)
                    if at > moment:
                        return at
        raise ValueError(f"{self} has no occurrence within {_HORIZON_DAYS} days")


def _utc(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    local = datetime.combine(day, time(hour, minute), tzinfo=zone)
    return local.astimezone(UTC)


RecurringHandler = Callable[[Any, dict[str, Any]], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class Recurring:
    """A job that runs once per occurrence of ``schedule``, whatever the number of workers.

    Return it from ``yutang_jobs`` in place of a plain handler. ``per_tenant`` runs it for
    every tenant that has the plugin enabled (the core's: every tenant), reading the
    schedule in the tenant's time zone unless ``utc``; otherwise once for the platform,
    in UTC, with ``tenant`` None. The handler gets ``{"period": "<occurrence, ISO>"}``.
    """

    handler: RecurringHandler
    schedule: Cron
    queue: Queue = Queue.BULK
    per_tenant: bool = True
    utc: bool = False
