"""WeChat Pay API v3, the protocol alone: signing requests, verifying what the platform
signs, decrypting notification resources, the mini-program's ``requestPayment``
parameters. Pure functions over ``cryptography``; nothing here does I/O.

Platform verification is in public-key mode (微信支付公钥): the merchant downloads the
platform's public key and its id (``PUB_KEY_ID_…``) from the merchant platform; every
answer and notification names the key that signed it in ``Wechatpay-Serial``.
"""

from __future__ import annotations

import base64
import functools
import secrets
import time
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SCHEME = "WECHATPAY2-SHA256-RSA2048"
MAX_SKEW = 300
"""Seconds a signed answer or notification may be off the clock (replays are older)."""


@functools.lru_cache(maxsize=256)
def private_key(pem: str) -> rsa.RSAPrivateKey:
    """The merchant's API private key (``apiclient_key.pem``); ValueError if it is not an
    RSA key of 2,048 bits or more. Parsed once per process and key."""
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
        raise ValueError("not an RSA private key of 2048 bits or more")
    return key


@functools.lru_cache(maxsize=256)
def public_key(pem: str) -> rsa.RSAPublicKey:
    """The platform's public key; ValueError if it is not an RSA public key."""
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
        raise ValueError("not an RSA public key of 2048 bits or more")
    return key


def sign(key_pem: str, message: str) -> str:
    """SHA256withRSA (PKCS#1 v1.5) of ``message``, base64."""
    signature = private_key(key_pem).sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def verify(key_pem: str, message: str, signature: str) -> bool:
    """Whether ``signature`` (base64) is the platform key's over ``message``."""
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key(key_pem).verify(raw, message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def nonce() -> str:
    """A 32-character random string."""
    return secrets.token_hex(16)


def authorization(
    mchid: str, serial_no: str, key_pem: str, method: str, url: str, body: str
) -> str:
    """The ``Authorization`` header of a request to ``url`` (path and query)."""
    stamp, once = str(int(time.time())), nonce()
    signature = sign(key_pem, f"{method}\n{url}\n{stamp}\n{once}\n{body}\n")
    return (
        f'{SCHEME} mchid="{mchid}",nonce_str="{once}",signature="{signature}",'
        f'timestamp="{stamp}",serial_no="{serial_no}"'
    )


def signed_by_platform(
    headers: Mapping[str, str], body: bytes, key_id: str, key_pem: str, now: float | None = None
) -> bool:
    """Whether an answer or notification was signed by the platform key ``key_id``
    within :data:`MAX_SKEW` seconds of ``now``."""
    found = {k.lower(): v for k, v in headers.items()}
    stamp = found.get("wechatpay-timestamp", "")
    once = found.get("wechatpay-nonce", "")
    signature = found.get("wechatpay-signature", "")
    if found.get("wechatpay-serial") != key_id or not stamp.isdigit() or not signature:
        return False
    if abs((time.time() if now is None else now) - int(stamp)) > MAX_SKEW:
        return False
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return False
    return verify(key_pem, f"{stamp}\n{once}\n{text}\n", signature)


def decrypt(apiv3_key: str, resource: Mapping[str, str]) -> bytes | None:
    """A notification's ``resource`` (AEAD_AES_256_GCM under the APIv3 key) decrypted,
    or None if it does not open with this key."""
    if resource.get("algorithm") != "AEAD_AES_256_GCM":
        return None
    try:
        sealed = base64.b64decode(resource["ciphertext"])
        aad = resource.get("associated_data", "").encode()
        return AESGCM(apiv3_key.encode()).decrypt(resource["nonce"].encode(), sealed, aad)
    except (InvalidTag, KeyError, ValueError):
        return None


def request_payment(appid: str, key_pem: str, prepay_id: str) -> dict[str, str]:
    """The parameters of the mini-program's ``wx.requestPayment`` (and the 公众号's
    ``WeixinJSBridge``) for ``prepay_id``, signed with the merchant's key."""
    stamp, once, package = str(int(time.time())), nonce(), f"prepay_id={prepay_id}"
    return {
        "appId": appid,
        "timeStamp": stamp,
        "nonceStr": once,
        "package": package,
        "signType": "RSA",
        "paySign": sign(key_pem, f"{appid}\n{stamp}\n{once}\n{package}\n"),
    }


def encrypt(public_pem: str, text: str) -> str:
    """A sensitive request field (a payee's name) for the platform: RSA-OAEP (SHA-1, as
    the API v3 specifies) under its public key, base64; the request's
    ``Wechatpay-Serial`` names the key."""
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    return base64.b64encode(public_key(public_pem).encrypt(text.encode(), oaep)).decode()
