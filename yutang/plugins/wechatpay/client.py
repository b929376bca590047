"""The merchant's WeChat Pay credentials and one signed call to the API v3, its answer
checked against the platform's key: what payments and transfers share.

``YUTANG_WECHATPAY_API`` points the deployment at another gateway address (a test
double); by default the real one.
"""

from __future__ import annotations

import asyncio
import os
from typing import Annotated, Any

import httpx
import msgspec

from yutang import api
from yutang.plugins.wechatpay import protocol

NAME = "wechatpay"
API = "https://api.mch.weixin.qq.com"
TIMEOUT = 10.0


class Credentials(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A merchant's WeChat Pay credentials (merchant platform → 账户中心 → API安全)."""

    appid: Annotated[str, msgspec.Meta(max_length=32)]
    """The mini-program's (or 公众号's) AppID the merchant is bound to."""
    mchid: Annotated[str, msgspec.Meta(max_length=32)]
    """The merchant id (商户号)."""
    serial_no: Annotated[str, msgspec.Meta(max_length=64)]
    """The serial number of the merchant's API certificate."""
    private_key: Annotated[str, msgspec.Meta(max_length=8000)]
    """The API private key, PEM (``apiclient_key.pem``)."""
    apiv3_key: Annotated[str, msgspec.Meta(min_length=32, max_length=32)]
    """The 32-character APIv3 key that encrypts notifications."""
    platform_public_key: Annotated[str, msgspec.Meta(max_length=4000)]
    """The WeChat Pay public key, PEM (微信支付公钥)."""
    platform_public_key_id: Annotated[str, msgspec.Meta(max_length=64)]
    """Its id, ``PUB_KEY_ID_…``."""


def gateway_error(what: str) -> api.DomainError:
    """GATEWAY_ERROR, saying what WeChat Pay did."""
    return api.DomainError("GATEWAY_ERROR", f"WeChat Pay: {what}")


def refusal(status: int, found: dict[str, Any]) -> api.DomainError:
    """GATEWAY_ERROR with the platform's own code and message."""
    return gateway_error(f"{found.get('code', status)}: {found.get('message', '')}")


async def call(
    ctx: api.GatewayContext, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    """One signed call; its status and the JSON the platform signed (checked). The
    ``Wechatpay-Serial`` header names the platform key that any sensitive field in
    ``body`` was encrypted with."""
    c: Credentials = ctx.credentials
    text = msgspec.json.encode(body).decode() if body is not None else ""
    headers = {
        "Authorization": protocol.authorization(
            c.mchid, c.serial_no, c.private_key, method, path, text
        ),
        "Accept": "application/json",
        "Content-Type": "application/json",
        "Wechatpay-Serial": c.platform_public_key_id,
        "User-Agent": "yutang",
    }
    base = os.environ.get("YUTANG_WECHATPAY_API", API).rstrip("/")
    try:
        async with (
            asyncio.timeout(TIMEOUT),
            httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as http,
        ):
            answer = await http.request(method, base + path, content=text, headers=headers)
    except (httpx.HTTPError, TimeoutError) as err:
        raise gateway_error(f"no answer ({type(err).__name__})") from err
    signed = protocol.signed_by_platform(
        answer.headers, answer.content, c.platform_public_key_id, c.platform_public_key
    )
    if not signed:
        raise gateway_error(f"an answer ({answer.status_code}) not signed by the platform")
    if not answer.content:
        return answer.status_code, {}
    try:
        found = msgspec.json.decode(answer.content)
    except msgspec.DecodeError as err:
        raise gateway_error("an answer that is not JSON") from err
    return answer.status_code, found if isinstance(found, dict) else {}
