"""Webhook requests out of the deployment, safe against server-side request forgery.

A merchant's URL must not reach what only the deployment can reach (its database, a
cloud metadata service, an admin port on loopback): unless the operator allows it
(``YUTANG_WEBHOOK_ALLOW_PRIVATE``), every address the host name resolves to must be
global, checked when the subscription is saved and again before every attempt; the
request then connects to the checked address itself (the name is sent only as ``Host``
and for TLS), so a name that resolves differently a moment later (DNS rebinding) cannot
slip through. Redirects are never followed, and an attempt is bounded in time
(``YUTANG_WEBHOOK_TIMEOUT``) and in what it reads of the response.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from types import MappingProxyType
from typing import NamedTuple
from urllib.parse import urlsplit

import httpx

from yutang.core.errors import DomainError
from yutang.core.inputs import bounded
from yutang.core.settings import WebhookSettings

MAX_URL = 2000
EXCERPT_BYTES = 1024
"""What is read of a response, and kept of it in the delivery log."""
RESOLVE_SECONDS = 5.0
_PORTS = MappingProxyType({"http": 80, "https": 443})


class Target(NamedTuple):
    """A checked URL: where to connect (``address``) and what to name (``host``)."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


class Outcome(NamedTuple):
    """What one attempt got: a 2xx is ``ok``; ``error`` says why there was no answer."""

    ok: bool
    status_code: int | None
    duration_ms: int
    error: str | None
    excerpt: str


def parse(url: str, settings: WebhookSettings, field: str = "url") -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of a URL a webhook may be sent to; INVALID
    naming ``field`` otherwise."""
    bounded(url, field, MAX_URL)
    if not url.strip().isprintable() or " " in url.strip():  # no URL holds them
        raise DomainError("INVALID", "not a URL", field)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise DomainError("INVALID", "not a URL", field) from exc
    allowed = ("https", "http") if settings.allow_http else ("https",)
    if parts.scheme not in allowed:
        raise DomainError("INVALID", "the URL must start with https://", field)
    host = (parts.hostname or "").rstrip(".")
    if not host or parts.username is not None or parts.password is not None or parts.fragment:
        raise DomainError("INVALID", "a URL such as https://erp.example.com/hooks", field)
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise DomainError("INVALID", "not a host name", field) from exc
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return parts.scheme, host, port or _PORTS[parts.scheme], path


def forbidden(address: str) -> bool:
    """Whether ``address`` is anything but a global unicast address (loopback, private,
    link-local, shared, reserved, multicast, unspecified, or one mapped onto those)."""
    ip = ipaddress.ip_address(address.partition("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:  # judged by the IPv4 address it reaches
            ip = embedded
    return not ip.is_global or ip.is_multicast


_CARRY_IPV4 = (
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64
    ipaddress.IPv6Network("64:ff9b:1::/48"),  # local-use NAT64
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible (::a.b.c.d), deprecated
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated
)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, 6to4, Teredo, NAT64, compatible,
    translated): a route to it reaches that IPv4 host."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in network for network in _CARRY_IPV4):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


async def resolve(url: str, settings: WebhookSettings, field: str = "url") -> Target:
    """The checked target of ``url``: INVALID naming ``field`` when it is malformed, does
    not resolve, or resolves to any forbidden address the settings do not allow."""
    scheme, host, port, path = parse(url, settings, field)
    try:
        literal: str | None = str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(RESOLVE_SECONDS):
                found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError) as exc:
            raise DomainError("INVALID", f"{host} does not resolve", field) from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        if not addresses:
            raise DomainError("INVALID", f"{host} does not resolve", field)
    if not settings.allow_private and any(forbidden(a) for a in addresses):
        raise DomainError(
            "INVALID",
            f"{host} resolves to a private, loopback or link-local address; "
            "webhooks go to public addresses only",
            field,
        )
    return Target(scheme, host, port, path, addresses[0])


async def post(
    target: Target, headers: dict[str, str], body: bytes, settings: WebhookSettings
) -> Outcome:
    """POST ``body`` to the checked address, never following a redirect, reading at most
    :data:`EXCERPT_BYTES` of the answer, within ``settings.timeout``. Never raises for
    the receiver's faults: they are the outcome's ``error``."""
    shown = f"[{target.address}]" if ":" in target.address else target.address
    url = f"{target.scheme}://{shown}:{target.port}{target.path}"
    host = target.host if ":" not in target.host else f"[{target.host}]"
    default = _PORTS[target.scheme] == target.port
    sent = {
        **headers,
        "Host": host if default else f"{host}:{target.port}",
        "Content-Type": "application/json",
        "User-Agent": "Yutang-Webhooks/1",
        "Accept-Encoding": "identity",
    }
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    timeout = httpx.Timeout(settings.timeout)
    started = time.perf_counter()
    status: int | None = None
    excerpt = b""
    try:
        async with (
            asyncio.timeout(settings.timeout),
            httpx.AsyncClient(trust_env=False, follow_redirects=False, timeout=timeout) as client,
            client.stream("POST", url, content=body, headers=sent, extensions=extensions) as got,
        ):
            status = got.status_code
            async for chunk in got.aiter_raw():
                excerpt += chunk
                if len(excerpt) >= EXCERPT_BYTES:
                    break
        error = None if 200 <= status < 300 else f"HTTP {status}"
    except TimeoutError:
        error = f"no answer within {settings.timeout:g} s"
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # a failed attempt
        error = f"{type(exc).__name__}: {exc}"[:500]
    elapsed = int((time.perf_counter() - started) * 1000)
    text = excerpt[:EXCERPT_BYTES].decode("utf-8", "replace")
    return Outcome(error is None, status, elapsed, error, text)
