"""Alipay's open platform (``gateway.do``, RSA2), the protocol alone: the signing
string, signatures both ways, the signed answer's node, yuan amounts. Pure functions
over ``cryptography``; nothing here does I/O.

Alipay hands keys out as bare base64 (its key tool) or as PEM; both are read.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def _der(text: str) -> bytes | None:
    """The DER inside a bare-base64 key, or None when ``text`` is PEM."""
    stripped = "".join(text.split())
    if stripped.startswith("-----BEGIN"):
        return None
    return base64.b64decode(stripped, validate=True)


@functools.lru_cache(maxsize=256)
def private_key(text: str) -> rsa.RSAPrivateKey:
    """The app's private key (PKCS#8 or PKCS#1, PEM or bare base64); ValueError unless
    RSA of 2,048 bits or more. Parsed once per process and key."""
    der = _der(text)
    key = (
        serialization.load_der_private_key(der, password=None)
        if der is not None
        else serialization.load_pem_private_key(text.encode(), password=None)
    )
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
        raise ValueError("not an RSA private key of 2048 bits or more")
    return key


@functools.lru_cache(maxsize=256)
def public_key(text: str) -> rsa.RSAPublicKey:
    """Alipay's public key (PEM or bare base64)."""
    der = _der(text)
    key = (
        serialization.load_der_public_key(der)
        if der is not None
        else serialization.load_pem_public_key(text.encode())
    )
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
        raise ValueError("not an RSA public key of 2048 bits or more")
    return key


def signing_string(
    params: Mapping[str, str], *, leave_out: tuple[str, ...] = ("sign",), empty: bool = False
) -> str:
    """Every parameter but ``leave_out`` sorted, ``k=v&k=v``: requests leave ``sign`` and
    empty values out; notifications are checked as Alipay's SDKs check them, without
    ``sign`` and ``sign_type`` but with empty values (``empty``)."""
    kept = ((k, v) for k, v in sorted(params.items()) if k not in leave_out and (v or empty))
    return "&".join(f"{k}={v}" for k, v in kept)


def sign(key: str, message: str) -> str:
    """RSA2: SHA256withRSA (PKCS#1 v1.5) of ``message``, base64."""
    raw = private_key(key).sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode()


def verify(key: str, message: str, signature: str) -> bool:
    """Whether ``signature`` is Alipay's key's over ``message``."""
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key(key).verify(raw, message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def signed_node(body: str, method: str, key: str) -> dict[str, object] | None:
    """The answer node of ``method`` (``alipay_trade_query_response``) if Alipay's
    ``sign`` covers its exact text, else None (a malformed answer included)."""
    name = f'"{method.replace(".", "_")}_response"'
    try:
        at = body.index(name)
        start = body.index(":", at + len(name)) + 1
        while body[start].isspace():
            start += 1
        node, end = json.JSONDecoder().raw_decode(body, start)
        whole = json.loads(body)
    except (ValueError, IndexError):
        return None
    signature = whole.get("sign") if isinstance(whole, dict) else None
    if not isinstance(node, dict) or not isinstance(signature, str):
        return None
    return node if verify(key, body[start:end], signature) else None


def yuan(fen: int) -> str:
    """``3800`` → ``"38.00"``."""
    return f"{fen // 100}.{fen % 100:02d}"


_YUAN = re.compile(r"(0|[1-9][0-9]{0,12})(\.[0-9]{1,2})?")


def fen(text: object) -> int | None:
    """``"38.00"`` → ``3800``; None for anything that is not a plain yuan amount with at
    most two decimals (no signs, exponents or spaces)."""
    if not isinstance(text, str) or _YUAN.fullmatch(text) is None:
        return None
    whole, _, cents = text.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])
