"""What members, staff and operators share: password rules, logging in with a throttled
check that costs the same for an unknown account, and changing a password.

A login names an account by phone (members) or username (staff, operators); failures
are counted against that name and the client address before any hash is checked, so
guessing is slowed per account and per address alike, and the argon2 check runs off the
event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import msgspec
from tortoise.transactions import in_transaction

from yutang.core import auth
from yutang.core.auth import IssuedToken, Principal
from yutang.core.errors import DomainError
from yutang.core.inputs import bounded
from yutang.core.models import Member, Operator, Staff
from yutang.core.throttle import Throttle

Phone = Annotated[str, msgspec.Meta(min_length=5, max_length=32, pattern=r"^\+?[0-9-]+$")]
PASSWORD_LENGTH = (6, 128)
Password = Annotated[
    str, msgspec.Meta(min_length=PASSWORD_LENGTH[0], max_length=PASSWORD_LENGTH[1])
]

AccountRow = Member | Staff | Operator
# The model of each kind of account and the column it logs in with.
_KINDS: dict[str, tuple[type[AccountRow], str]] = {
    "member": (Member, "phone"),
    "staff": (Staff, "username"),
    "operator": (Operator, "username"),
}


@dataclass(frozen=True, slots=True)
class Gate:
    """How a request's login attempts are held: the app's counters, the client address
    they count against, and how many days a session it opens lasts."""

    throttle: Throttle
    address: str
    token_days: int


@dataclass(frozen=True, slots=True)
class Account:
    """One account's login name and stored hash."""

    kind: str
    id: int
    tenant_id: int | None
    name: str
    password_hash: str

    @property
    def key(self) -> str:
        """What its failed logins are counted by."""
        return _key(self.kind, self.tenant_id, self.name)


def checked_password(password: str, field: str) -> str:
    """``password`` if it meets the rules of every account's password; INVALID naming
    ``field`` otherwise."""
    shortest, longest = PASSWORD_LENGTH
    if not shortest <= len(password) <= longest:
        raise DomainError("INVALID", f"{shortest} to {longest} characters", field)
    return password


def _key(kind: str, tenant_id: int | None, name: str) -> str:
    return f"{kind}:{'-' if tenant_id is None else tenant_id}:{name}"


async def _find(kind: str, tenant_id: int | None, name: str) -> Account | None:
    """The account logging in as ``name``: a member by phone, an active staff member or
    an operator by username."""
    model, column = _KINDS[kind]
    query = model.filter(**{column: name})
    if kind == "staff":
        query = query.filter(active=True)
    if tenant_id is not None:
        query = query.filter(tenant_id=tenant_id)
    row = await query.first()
    return None if row is None else _account(kind, tenant_id, row)


def _account(kind: str, tenant_id: int | None, row: AccountRow) -> Account:
    _, column = _KINDS[kind]
    name: str = getattr(row, column)
    return Account(kind, row.id, tenant_id, name, row.password_hash)


async def log_in(
    gate: Gate, kind: str, tenant_id: int | None, name: str, password: str, wrong: str
) -> tuple[Account, IssuedToken]:
    """A session for the account ``name`` if ``password`` is its own; INVALID_CREDENTIALS
    (with the message ``wrong``) otherwise, TOO_MANY_ATTEMPTS while it or the address is
    out of attempts, even with the right password."""
    model, column = _KINDS[kind]
    bounded(name, column, model._meta.fields_map[column].max_length)  # type: ignore[attr-defined]
    bounded(password, "password", PASSWORD_LENGTH[1])
    key = _key(kind, tenant_id, name)
    await gate.throttle.before_login(key, gate.address)
    account = await _find(kind, tenant_id, name)
    matched = await auth.verify_password(account.password_hash if account else None, password)
    if account is None or not matched:
        await gate.throttle.login_failed(key, gate.address)
        raise DomainError("INVALID_CREDENTIALS", wrong, "password")
    await gate.throttle.login_passed(key)
    return account, await auth.open_session(kind, account.id, tenant_id, gate.token_days)


async def change_password(
    gate: Gate, principal: Principal, token: str, current: str, new: str
) -> None:
    """Replace the caller's password; every other session of the account ends at once.

    A wrong ``current`` counts as a failed login of the account (a stolen session cannot
    guess the password faster than a login could)."""
    model, _ = _KINDS[principal.kind]
    row = await model.get(id=principal.id)
    account = _account(principal.kind, principal.tenant_id, row)
    password = checked_password(new, "newPassword")
    await gate.throttle.before_login(account.key, gate.address)
    if not await auth.verify_password(account.password_hash, current):
        await gate.throttle.login_failed(account.key, gate.address)
        raise DomainError("INVALID_CREDENTIALS", "wrong current password", "currentPassword")
    await gate.throttle.login_passed(account.key)
    await set_password(account, await auth.hash_in_thread(password), keep=token)


async def set_password(account: Account, password_hash: str, *, keep: str | None) -> None:
    """Store a new hash and end the account's sessions but ``keep`` (in the caller's
    transaction if there is one)."""
    model, _ = _KINDS[account.kind]
    async with in_transaction():
        await model.filter(id=account.id).update(password_hash=password_hash)
        await auth.revoke_sessions(account.kind, account.id, account.tenant_id, keep=keep)
