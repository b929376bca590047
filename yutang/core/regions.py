"""Region codes: the 6-digit administrative division codes of China (province, city,
district), where a delivery goes, and matching a region against code prefixes.

``330000`` is Zhejiang, ``330100`` Hangzhou, ``330106`` Xihu district. A code stands for
every region under it: ``330000`` covers ``33xxxx``, ``330100`` covers ``3301xx``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

import msgspec

from yutang.core.errors import DomainError

RegionCode = Annotated[str, msgspec.Meta(pattern=r"^[1-9][0-9]{5}$")]


def prefix(code: str) -> str:
    """The prefix a code stands for: ``330000`` → ``33``, ``330100`` → ``3301``."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def most_specific(region: str, codes: Iterable[str]) -> str | None:
    """The code among ``codes`` that covers ``region`` with the longest prefix, if any."""
    best: str | None = None
    for code in codes:
        p = prefix(code)
        if region.startswith(p) and (best is None or len(p) > len(prefix(best))):
            best = code
    return best


def check_hierarchy(province: str, city: str, district: str, field: str) -> None:
    """Refuse codes that do not nest: a province, a city in it, a district in that city."""
    if not province.endswith("0000"):
        raise DomainError("INVALID", "not a province code (like 330000)", f"{field}.province")
    if city and (prefix(city) == city or len(prefix(city)) != 4 or city[:2] != province[:2]):
        raise DomainError("INVALID", "not a city of this province", f"{field}.city")
    if district and (not city or len(prefix(district)) != 6 or district[:4] != city[:4]):
        raise DomainError("INVALID", "not a district of this city", f"{field}.district")


class Destination(msgspec.Struct, frozen=True):
    """Where a delivery goes. A quote needs only the region codes; a placed order also
    the receiver, their phone and the street address."""

    province: str
    city: str = ""
    district: str = ""
    receiver: str = ""
    phone: str = ""
    detail: str = ""

    @property
    def region(self) -> str:
        """The most specific code given."""
        return self.district or self.city or self.province

    def missing(self) -> str | None:
        """The first field a delivery still needs, or None when complete."""
        for name in ("receiver", "phone", "city", "detail"):
            if not getattr(self, name):
                return name
        return None
