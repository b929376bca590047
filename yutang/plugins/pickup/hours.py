"""Opening hours, closed days, pickup slots and distances: pure functions of a store's
details and the time.

Merchants think in their own time zone, so hours and slots are minutes after local
midnight on an ISO weekday (1 = Monday); a slot is identified by its local start,
``"2026-06-02T10:00"``, which is what a checkout sends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from yutang import api
from yutang.plugins.pickup.errors import CODES

DAY_MINUTES = 24 * 60
EARTH_RADIUS_M = 6_371_000


@dataclass(frozen=True, slots=True)
class SlotTime:
    """One occurrence of a store's slot: its key, ``[starts_at, ends_at)`` in UTC, capacity."""

    key: str
    starts_at: datetime
    ends_at: datetime
    capacity: int


def parse_minutes(text: str, field: str, *, end: bool = False) -> int:
    """Minutes after midnight of ``"HH:MM"`` (``"24:00"`` too when ``end``)."""
    if end and text == "24:00":
        return DAY_MINUTES
    try:
        value = time.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or len(text) != 5 or value.tzinfo is not None:
        raise api.DomainError("INVALID", "a time of day like 09:30 is required", field)
    return value.hour * 60 + value.minute


def format_minutes(minutes: int) -> str:
    """``"HH:MM"`` of minutes after midnight (``"24:00"`` for the end of the day)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def local_now(zone: ZoneInfo, now: datetime) -> datetime:
    """``now`` on the tenant's wall clock."""
    return now.astimezone(zone)


def is_open(hours: list[list[int]], closed_days: list[str], zone: ZoneInfo, now: datetime) -> bool:
    """True when ``now`` falls in one of today's opening intervals and today is not closed."""
    here = local_now(zone, now)
    if here.date().isoformat() in closed_days:
        return False
    minute = here.hour * 60 + here.minute
    return any(
        day == here.isoweekday() and opens <= minute < closes for day, opens, closes in hours
    )


def _at(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    return (datetime.combine(day, time(), zone) + timedelta(minutes=minutes)).astimezone(UTC)


def upcoming_slots(
    slots: list[dict[str, int]], closed_days: list[str], zone: ZoneInfo, now: datetime, days: int
) -> list[SlotTime]:
    """Occurrences not yet over on the next ``days`` local dates (today first), in order."""
    today = local_now(zone, now).date()
    found = []
    for offset in range(days):
        day = today + timedelta(days=offset)
        if day.isoformat() in closed_days:
            continue
        for s in slots:
            if s["weekday"] != day.isoweekday():
                continue
            ends_at = _at(day, s["ends"], zone)
            if ends_at > now:
                key = f"{day.isoformat()}T{format_minutes(s['starts'])}"
                found.append(SlotTime(key, _at(day, s["starts"], zone), ends_at, s["capacity"]))
    return sorted(found, key=lambda t: t.starts_at)


def find_slot(
    slots: list[dict[str, int]],
    closed_days: list[str],
    zone: ZoneInfo,
    now: datetime,
    days: int,
    key: str,
    field: str,
) -> SlotTime:
    """The bookable occurrence a checkout names by its local start; INVALID naming ``field``."""
    try:
        wanted = datetime.fromisoformat(key)
    except ValueError:
        raise api.DomainError(
            "INVALID", "a slot like 2026-06-02T10:00 is required", field
        ) from None
    if wanted.tzinfo is not None:
        wanted = wanted.astimezone(zone).replace(tzinfo=None)
    text = f"{wanted.date().isoformat()}T{format_minutes(wanted.hour * 60 + wanted.minute)}"
    for slot in upcoming_slots(slots, closed_days, zone, now, days):
        if slot.key == text and not wanted.second and not wanted.microsecond:
            return slot
    raise CODES.error(
        "PICKUP_SLOT_UNAVAILABLE", "this store has no such pickup slot open for booking", field
    )


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> int:
    """Great-circle distance in whole metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return round(2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a))))
