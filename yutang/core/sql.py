"""Plain SQL on the ORM's connection, for the reads on every request's path.

Through tortoise's query builder and value conversion a one-row lookup costs several
times what the driver does; the catalogue page, the request's tenant and caller, and the
idempotency key of every order refused before its transaction are read this way, and so
are products by tag (JSON matching differs by dialect). Everything else goes through the ORM.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from tortoise import connections


class Statement:
    """SQL text and its arguments, with the placeholders of the connection's dialect (the
    current transaction's connection inside one)."""

    def __init__(self) -> None:
        self.conn = connections.get("default")
        self.postgres = self.conn.capabilities.dialect == "postgres"
        self.args: list[Any] = []

    def arg(self, value: Any) -> str:
        """A placeholder bound to ``value``."""
        self.args.append(value)
        return f"${len(self.args)}" if self.postgres else "?"

    def any_of(self, values: Sequence[int]) -> str:
        """``= ANY($n)`` on PostgreSQL, ``IN (?, …)`` on SQLite."""
        if self.postgres:
            return f"= ANY({self.arg(list(values))})"
        return f"IN ({', '.join(self.arg(v) for v in values)})"

    async def rows(self, sql: str) -> list[dict[str, Any]]:
        """The rows of ``sql``, written with this statement's placeholders."""
        found: list[dict[str, Any]] = await self.conn.execute_query_dict(sql, self.args)
        return found


def json_value(value: Any) -> Any:
    """A JSON column's value: both drivers return the text of plain SQL's JSON columns."""
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


def moment(value: datetime | str) -> datetime:
    """A timestamp column's value, aware as the ORM gives it: SQLite's driver returns the
    text tortoise stored, and a value without an offset is UTC."""
    found = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


async def advisory_lock(name: str, *, shared: bool = False) -> None:
    """On PostgreSQL, hold the advisory lock named ``name`` to the end of the current
    transaction (of the statement itself outside one); on SQLite transactions are already
    serialized, so nothing is taken. The lock is 64 bits of the name's sha256; a collision
    only makes two names wait for each other."""
    q = Statement()
    if q.postgres:
        digest = hashlib.sha256(name.encode()).digest()
        lock = q.arg(int.from_bytes(digest[:8], "big", signed=True))
        function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        await q.rows(f"SELECT {function}({lock})")
