"""The client's address: the peer's, or behind trusted load balancers the nearest address
in ``X-Forwarded-For`` that is not one of theirs.

Without trusted proxies the header is ignored: anyone can write it, and a limit per
address that believed it would be no limit at all. Behind a load balancer that is not
trusted, every shopper has the balancer's address.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from yutang.core.errors import ConfigError

Network = IPv4Network | IPv6Network


def trusted_networks(setting: str) -> tuple[Network, ...]:
    """``YUTANG_TRUSTED_PROXIES`` parsed: comma-separated CIDRs or single addresses."""
    try:
        return tuple(ip_network(p.strip(), strict=False) for p in setting.split(",") if p.strip())
    except ValueError as exc:
        raise ConfigError(f"YUTANG_TRUSTED_PROXIES: {exc}") from exc


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        found = ip_address(address)
    except ValueError:
        return False
    return any(found in network for network in trusted)


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[Network]
) -> str:
    """The address a request counts against: ``peer`` unless it is a trusted proxy, then
    the rightmost ``X-Forwarded-For`` hop (over every such header) that is not trusted,
    since each proxy appends the address it saw and only those on the left can be forged."""
    address = peer or "unknown"
    if not _trusted(address, trusted):
        return address
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = hop[:64]
        if not _trusted(address, trusted):
            break
    return address
