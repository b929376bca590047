"""A member's own profile: nickname, avatar, birthday, gender and region, changed by the
member, checked field by field so a refusal names the field and writes nothing."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlsplit

import msgspec
from msgspec import UNSET, UnsetType

from yutang.core import clock
from yutang.core.contract import TenantInfo
from yutang.core.errors import DomainError
from yutang.core.models import Member
from yutang.core.models.members import GENDERS

NICKNAME_LENGTH = 100
AVATAR_LENGTH = 500
EARLIEST_BIRTHDAY = date(1900, 1, 1)
_REGION = re.compile(r"^[1-9][0-9]{5}$")


class ProfileInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a member changes: a field left out stays as it is; null clears it (the
    gender back to ``unknown``); a nickname cannot be cleared, only replaced."""

    nickname: str | UnsetType = UNSET
    avatar_url: str | UnsetType | None = UNSET
    birthday: date | UnsetType | None = UNSET
    gender: str | UnsetType | None = UNSET
    region: str | UnsetType | None = UNSET


def _nickname(value: str, field: str) -> str:
    nickname = value.strip()
    if not nickname:
        raise DomainError("INVALID", "a nickname cannot be blank", field)
    if len(nickname) > NICKNAME_LENGTH:
        raise DomainError("INVALID", f"at most {NICKNAME_LENGTH} characters", field)
    return nickname


def _avatar(value: str | None, field: str) -> str:
    if value is None or not value.strip():
        return ""
    url = value.strip()
    parts = urlsplit(url)
    if len(url) > AVATAR_LENGTH:
        raise DomainError("INVALID", f"at most {AVATAR_LENGTH} characters", field)
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in url:
        raise DomainError("INVALID", "an image address starting with https://", field)
    return url


def _birthday(tenant: TenantInfo, value: date | None, field: str) -> date | None:
    if value is None:
        return None
    today = clock.now().astimezone(tenant.zone).date()
    if value > today:
        raise DomainError("INVALID", "a birthday cannot be in the future", field)
    if value < EARLIEST_BIRTHDAY:
        raise DomainError("INVALID", f"a birthday after {EARLIEST_BIRTHDAY}", field)
    return value


def _gender(value: str | None, field: str) -> str:
    if value is None:
        return "unknown"
    if value not in GENDERS:
        raise DomainError("INVALID", "one of " + ", ".join(GENDERS), field)
    return value


def _region(value: str | None, field: str) -> str:
    if value is None or value == "":
        return ""
    if not _REGION.match(value):
        raise DomainError("INVALID", "a 6-digit region code, like 330106", field)
    return value


def changes_of(tenant: TenantInfo, data: ProfileInput, prefix: str) -> dict[str, object]:
    """The columns ``data`` sets, each checked; INVALID naming ``prefix.<field>`` for the
    first one that is not acceptable."""
    out: dict[str, object] = {}
    if not isinstance(data.nickname, UnsetType):
        out["nickname"] = _nickname(data.nickname, f"{prefix}.nickname")
    if not isinstance(data.avatar_url, UnsetType):
        out["avatar_url"] = _avatar(data.avatar_url, f"{prefix}.avatarUrl")
    if not isinstance(data.birthday, UnsetType):
        out["birthday"] = _birthday(tenant, data.birthday, f"{prefix}.birthday")
    if not isinstance(data.gender, UnsetType):
        out["gender"] = _gender(data.gender, f"{prefix}.gender")
    if not isinstance(data.region, UnsetType):
        out["region"] = _region(data.region, f"{prefix}.region")
    return out


async def update_profile(
    tenant: TenantInfo, member_id: int, data: ProfileInput, prefix: str = "input"
) -> Member:
    """Change the member's profile in one statement (nothing when every field is left
    out); the member as it is now."""
    changes = changes_of(tenant, data, prefix)
    if changes:
        await Member.filter(tenant_id=tenant.id, id=member_id).update(**changes)
    return await Member.get(tenant_id=tenant.id, id=member_id)
