"""Wake-up of idle workers: PostgreSQL ``LISTEN`` on a direct connection, polling else.

``yutang.core.outbox`` sends ``NOTIFY yutang_jobs, '<queue>'`` in the transaction that
queues a job due now, so a listening worker starts it at commit instead of at its next
poll. The listener holds one connection of its own for as long as the worker runs:
through PgBouncer in transaction mode it would not receive notifications (the server
connection behind it changes between transactions), hence ``YUTANG_JOBS_LISTEN_URL``,
a DSN straight to PostgreSQL when the pool's goes through a pooler. Polling stays: on
SQLite, while the listener is down, and for jobs scheduled for later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from yutang.core.outbox import CHANNEL

log = logging.getLogger("yutang.worker")

RECONNECT_AFTER = 5.0  # seconds between attempts while the database does not answer
KEEPALIVE = 30.0  # seconds between checks that the listening connection still answers


def asyncpg_dsn(url: str) -> str:
    """A tortoise database URL (``postgres://``, ``asyncpg://``) as asyncpg takes it."""
    scheme, _, rest = url.partition("://")
    if scheme in ("asyncpg", "psycopg", "postgresql", "postgres"):
        return f"postgresql://{rest}"
    return url


class Wakeup:
    """One event per queue, set by a notification or by the worker itself."""

    def __init__(self, queues: list[str]) -> None:
        self.events = {queue: asyncio.Event() for queue in queues}
        self.listening = asyncio.Event()

    def wake(self, queue: str | None = None) -> None:
        """Wake ``queue``'s loop (None: every loop)."""
        for name, event in self.events.items():
            if queue is None or name == queue:
                event.set()

    async def wait(self, queue: str, poll: float) -> None:
        """Return when ``queue`` is woken or after ``poll`` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.events[queue].wait(), poll)

    def _notified(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self.wake(payload if payload in self.events else None)

    async def listen(self, dsn: str, stop: asyncio.Event) -> None:
        """Hold a ``LISTEN`` connection until ``stop``; reconnect when it drops, waking
        every queue on reconnecting (notifications sent meanwhile are lost)."""
        import asyncpg  # type: ignore[import-untyped]

        while not stop.is_set():
            try:
                connection = await asyncpg.connect(asyncpg_dsn(dsn))
            except Exception as exc:  # any failure to connect: poll, and try again
                log.warning("job listener cannot connect (%r); polling meanwhile", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RECONNECT_AFTER)
                continue
            try:
                await self._hold(connection, stop)
            except Exception as exc:  # the connection broke under it: reconnect
                log.warning("job listener lost its connection (%r); reconnecting", exc)
            finally:
                self.listening.clear()
                with contextlib.suppress(Exception):
                    await connection.close(timeout=2)

    async def _hold(self, connection: Any, stop: asyncio.Event) -> None:
        """Listen on ``connection`` until ``stop`` or until the connection drops."""
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _: lost.set())
        await connection.add_listener(CHANNEL, self._notified)
        self.listening.set()
        self.wake()
        stopping = asyncio.ensure_future(stop.wait())
        dropped = asyncio.ensure_future(lost.wait())
        try:
            while not (stopping.done() or dropped.done()):
                await asyncio.wait(
                    {stopping, dropped}, timeout=KEEPALIVE, return_when=asyncio.FIRST_COMPLETED
                )
                if not (stopping.done() or dropped.done()):  # a half-open connection raises
                    await asyncio.wait_for(connection.fetchval("SELECT 1"), RECONNECT_AFTER)
        finally:
            stopping.cancel()
            dropped.cancel()
