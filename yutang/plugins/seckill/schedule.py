"""When sessions are open: occurrences of daily and one-off slots, in UTC.

A daily slot is two times of day in the tenant's zone; it recurs on every local date and
crosses midnight when its end is not after its start. Every occurrence is clipped to its
activity's window; its clipped start identifies it (the key of its activity stock).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from yutang.plugins.seckill.models import SeckillActivity, SeckillSession

DAY = timedelta(days=1)
TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Slot:
    """One occurrence of a session, ``[starts_at, ends_at)`` in UTC."""

    session_id: int
    starts_at: datetime
    ends_at: datetime

    def is_open(self, now: datetime) -> bool:
        """True while the slot sells: from its first second up to, not including, its end."""
        return self.starts_at <= now < self.ends_at


def parse_time_of_day(text: str) -> int | None:
    """Seconds after midnight of ``"HH:MM"`` or ``"HH:MM:SS"``; None if malformed."""
    try:
        value = time.fromisoformat(text)
    except ValueError:
        return None
    if len(text) not in (5, 8) or value.tzinfo is not None or value.microsecond:
        return None
    return value.hour * 3600 + value.minute * 60 + value.second


def format_time_of_day(seconds: int) -> str:
    """``"HH:MM"`` (or ``"HH:MM:SS"`` when seconds are set) of seconds after midnight."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def _local(day: date, seconds: int, zone: ZoneInfo) -> datetime:
    moment = datetime.combine(day, time(seconds // 3600, seconds // 60 % 60, seconds % 60), zone)
    return moment.astimezone(UTC)


def _raw(session: SeckillSession, zone: ZoneInfo, lo: datetime, hi: datetime) -> Iterable[Slot]:
    """Unclipped occurrences that may overlap ``[lo, hi)``."""
    if session.daily_start is None or session.daily_end is None:
        assert session.starts_at is not None and session.ends_at is not None
        yield Slot(session.id, session.starts_at, session.ends_at)
        return
    start, end = session.daily_start, session.daily_end
    day = lo.astimezone(zone).date() - DAY
    last = hi.astimezone(zone).date()
    while day <= last:
        yield Slot(
            session.id,
            _local(day, start, zone),
            _local(day + DAY if end <= start else day, end, zone),
        )
        day += DAY


def slots(
    session: SeckillSession,
    activity: SeckillActivity,
    zone: ZoneInfo,
    lo: datetime,
    hi: datetime,
) -> list[Slot]:
    """The session's occurrences overlapping ``[lo, hi)``, clipped to the activity window,
    in time order (whether or not the activity was stopped)."""
    lo, hi = max(lo, activity.starts_at), min(hi, activity.ends_at)
    if lo >= hi:
        return []
    found = []
    for raw in _raw(session, zone, lo, hi):
        start = max(raw.starts_at, activity.starts_at)
        end = min(raw.ends_at, activity.ends_at)
        if start < end and start < hi and end > lo:
            found.append(Slot(session.id, start, end))
    return found


def open_slot(
    session: SeckillSession, activity: SeckillActivity, zone: ZoneInfo, now: datetime
) -> Slot | None:
    """The occurrence selling at ``now``, if any (never for a stopped activity)."""
    if activity.stopped_at is not None:
        return None
    return next(iter(slots(session, activity, zone, now, now + TICK)), None)


def current_or_next(
    session: SeckillSession, activity: SeckillActivity, zone: ZoneInfo, now: datetime
) -> Slot | None:
    """The occurrence open at ``now``, else the next one, else the last one there was."""
    every = slots(session, activity, zone, activity.starts_at, activity.ends_at)
    return next((s for s in every if s.ends_at > now), every[-1] if every else None)


def overlaps(a: list[Slot], b: list[Slot]) -> tuple[Slot, Slot] | None:
    """The first pair of overlapping slots of two time-ordered lists, or None."""
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i].starts_at < b[j].ends_at and b[j].starts_at < a[i].ends_at:
            return a[i], b[j]
        if a[i].ends_at <= b[j].ends_at:
            i += 1
        else:
            j += 1
    return None


def next_boundary(
    session: SeckillSession, activity: SeckillActivity, zone: ZoneInfo, now: datetime
) -> datetime | None:
    """The first start or end of an occurrence after ``now``: when a price changes."""
    lo = max(now, activity.starts_at)
    hi = activity.ends_at if session.daily_start is None else lo + 2 * DAY
    for slot in slots(session, activity, zone, lo, hi):
        for moment in (slot.starts_at, slot.ends_at):
            if moment > now:
                return moment
    return None
