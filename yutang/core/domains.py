"""Merchants' own domains: the tenant a request's host names, and per-tenant CORS origins.

A SaaS vendor serves each merchant's storefront (and its API) on the merchant's domain.
A platform operator sets a tenant's host names and the browser origins its storefront
pages run on (:func:`set_domains`); a request to one of those hosts is the tenant's
without ``X-Tenant``, and a preflight to it — which carries no ``X-Tenant`` — is answered
for the tenant's origins, because the host names the tenant.

Each worker keeps what it looked up for :data:`TTL` seconds (:class:`Domains`): a change
takes effect at once on the worker that made it and within that time on every other.
"""

from __future__ import annotations

import ipaddress
import re
import time
from types import MappingProxyType
from typing import TypeVar
from urllib.parse import urlsplit

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from yutang.core.errors import DomainError, NotFound
from yutang.core.inputs import bounded
from yutang.core.models import Tenant, TenantDomain

TTL = 5.0
"""Seconds a worker trusts a host's tenant or a tenant's origins it looked up."""
MAX_HOSTS = 20
MAX_ORIGINS = 20
MAX_REMEMBERED = 10_000
"""Hosts (or tenants) a worker remembers; it forgets them all when there are more."""

K = TypeVar("K")
V = TypeVar("V")
DEFAULT_PORTS = MappingProxyType({"http": 80, "https": 443})
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_ORIGIN_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def normal_host(value: str, field: str) -> str:
    """A domain name as a ``Host`` header carries it: lower-case, ASCII (IDNA), no port,
    no trailing dot, at least two labels; INVALID naming ``field`` otherwise."""
    bounded(value, field, 253)
    try:
        host = value.strip().rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise DomainError("INVALID", "not a domain name", field) from exc
    if not _HOST.fullmatch(host) or len(host) > 253:
        raise DomainError("INVALID", "a domain name such as shop.example.com", field)
    return host


def normal_origin(value: str, field: str) -> str:
    """An origin as browsers send it (``https://m.example.com``, ``http://localhost:5173``);
    INVALID naming ``field`` for anything with a path, a query or credentials, or ``*``."""
    bounded(value, field, 300)
    parts = urlsplit(value.strip().rstrip("/"))
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError as exc:
        raise DomainError("INVALID", "not a port number", field) from exc
    if (
        parts.scheme not in ("http", "https")
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username is not None
        or not (_ORIGIN_HOST.fullmatch(host) or _is_ip(host))
    ):
        raise DomainError("INVALID", "an origin such as https://m.example.com", field)
    shown = f"[{host}]" if ":" in host else host
    shown_port = "" if port in (None, DEFAULT_PORTS[parts.scheme]) else f":{port}"
    return f"{parts.scheme}://{shown}{shown_port}"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def request_host(value: bytes | None) -> str | None:
    """The host of a ``Host`` header, as :func:`normal_host` stores it (no port); None
    for an IP address or anything no domain could be, which is never looked up."""
    if not value:
        return None
    host = value.decode("latin-1").strip().lower().partition(":")[0].rstrip(".")
    return host if _HOST.fullmatch(host) else None  # an address or junk names no tenant


async def set_domains(
    slug: str, hosts: list[str], cors_origins: list[str], domains: Domains
) -> tuple[list[str], list[str]]:
    """Make ``hosts`` and ``cors_origins`` the tenant's (replacing what it had), in one
    transaction; a host another tenant has is DOMAIN_TAKEN naming it."""
    bounded(slug, "slug", 64)
    if len(hosts) > MAX_HOSTS:
        raise DomainError("INVALID", f"at most {MAX_HOSTS} host names", "hosts")
    if len(cors_origins) > MAX_ORIGINS:
        raise DomainError("INVALID", f"at most {MAX_ORIGINS} origins", "corsOrigins")
    clean_hosts = _unique([normal_host(h, f"hosts[{i}]") for i, h in enumerate(hosts)], "hosts")
    origins = [normal_origin(o, f"corsOrigins[{i}]") for i, o in enumerate(cors_origins)]
    clean_origins = _unique(origins, "corsOrigins")
    try:
        async with in_transaction():
            tenant = await Tenant.filter(slug=slug).select_for_update().first()
            if tenant is None:
                raise NotFound(f"tenant {slug!r}", "slug")
            taken = await TenantDomain.filter(host__in=clean_hosts).exclude(tenant_id=tenant.id)
            if taken:
                at = clean_hosts.index(taken[0].host)
                raise DomainError("DOMAIN_TAKEN", "another tenant has this host", f"hosts[{at}]")
            await TenantDomain.filter(tenant_id=tenant.id).exclude(host__in=clean_hosts).delete()
            kept = await TenantDomain.filter(tenant_id=tenant.id).values_list("host", flat=True)
            have = {str(host) for host in kept}
            for host in clean_hosts:
                if host not in have:
                    await TenantDomain.create(host=host, tenant_id=tenant.id)
            tenant.cors_origins = clean_origins or None
            await tenant.save(update_fields=["cors_origins"])
    except IntegrityError as exc:  # another tenant took one of them meanwhile
        raise DomainError("DOMAIN_TAKEN", "another tenant has one of these hosts", "hosts") from exc
    domains.forget()
    return clean_hosts, clean_origins


async def domains_of(slug: str) -> tuple[list[str], list[str]]:
    """The tenant's host names and CORS origins."""
    tenant = await Tenant.get_or_none(slug=slug)
    if tenant is None:
        raise NotFound(f"tenant {slug!r}", "slug")
    hosts = await TenantDomain.filter(tenant_id=tenant.id).order_by("host")
    return [d.host for d in hosts], list(tenant.cors_origins or [])


def _unique(values: list[str], field: str) -> list[str]:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise DomainError("DUPLICATE", f"{value} is named twice", f"{field}[{i}]")
        seen.add(value)
    return values


class Domains:
    """This worker's view of hosts and origins, each answer trusted for :data:`TTL`.

    Every request that could name a tenant by its host asks, so what is remembered is
    read without awaiting (:meth:`remembered_host`, :meth:`remembered_origins`), from
    plain dicts of (expiry, answer) keyed by the raw ``Host`` value; the database is
    asked only for what is not remembered."""

    def __init__(self, ttl: float = TTL) -> None:
        self.ttl = ttl
        self._hosts: dict[bytes, tuple[float, str | None]] = {}
        self._origins: dict[str, tuple[float, frozenset[str]]] = {}

    def remembered_host(self, raw: bytes) -> tuple[float, str | None] | None:
        """(expiry, the slug of the tenant whose domain it is, or None) while trusted."""
        found = self._hosts.get(raw)
        return found if found is not None and found[0] > time.monotonic() else None

    async def tenant_of_host(self, raw: bytes) -> str | None:
        """The slug of the tenant whose domain the ``Host`` value ``raw`` names, if any."""
        found = self.remembered_host(raw)
        if found is not None:
            return found[1]
        host = request_host(raw)
        slug = None
        if host is not None:
            slugs = await TenantDomain.filter(host=host).values_list("tenant__slug", flat=True)
            slug = str(slugs[0]) if slugs else None
        _keep(self._hosts, raw, (time.monotonic() + self.ttl, slug))
        return slug

    def remembered_origins(self, slug: str) -> frozenset[str] | None:
        """The tenant's own origins while trusted, else None."""
        found = self._origins.get(slug)
        return found[1] if found is not None and found[0] > time.monotonic() else None

    async def origins_of(self, slug: str) -> frozenset[str]:
        """The origins the tenant's storefront pages may call the API from."""
        found = self.remembered_origins(slug)
        if found is not None:
            return found
        if "\x00" in slug:  # PostgreSQL cannot compare it; no slug holds one
            return frozenset()
        rows = await Tenant.filter(slug=slug).values_list("cors_origins", flat=True)
        origins = frozenset(rows[0] or ()) if rows else frozenset()
        _keep(self._origins, slug, (time.monotonic() + self.ttl, origins))
        return origins

    def forget(self) -> None:
        """Drop every answer (this worker changed a tenant's domains)."""
        self._hosts.clear()
        self._origins.clear()


def _keep(memo: dict[K, V], key: K, value: V) -> None:
    if len(memo) >= MAX_REMEMBERED:
        memo.clear()
    memo[key] = value
