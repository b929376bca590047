"""Global object IDs (``base64("Product:12")``) so frontend caches normalise by id.

Cursors are the same shape (``base64("c:12")``). Both decode to a primary key, which the
database compares as a signed 64-bit integer: a number outside ``1 .. 2**63 - 1`` is
refused here as INVALID, before it reaches a query (SQLite raised OverflowError and
asyncpg a DataError).
"""

from __future__ import annotations

import base64
import binascii

from yutang.core.errors import DomainError

MAX_PK = 2**63 - 1
_MAX_DIGITS = len(str(MAX_PK))


def to_global(type_name: str, pk: int) -> str:
    """The global ID of a ``type_name`` row with primary key ``pk``."""
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def decode_tagged(value: str) -> tuple[str, int] | None:
    """(tag, number) of ``base64("tag:number")`` with a plain decimal number in
    ``1 .. MAX_PK``; None for anything else."""
    try:
        tag, _, digits = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not (digits.isascii() and digits.isdigit() and len(digits) <= _MAX_DIGITS):
        return None
    number = int(digits)
    return (tag, number) if 0 < number <= MAX_PK else None


def from_global(value: str, expected: str | None = None, field: str = "id") -> tuple[str, int]:
    """(type name, primary key) of a global ID; INVALID naming ``field`` if malformed."""
    decoded = decode_tagged(value)
    if decoded is None:
        raise DomainError("INVALID", "not a valid ID", field)
    type_name, number = decoded
    if expected is not None and type_name != expected:
        raise DomainError("INVALID", f"expected a {expected} ID", field)
    return type_name, number


def pk_of(value: str, expected: str, field: str = "id") -> int:
    """The primary key of a global ID of type ``expected``."""
    return from_global(value, expected, field)[1]
