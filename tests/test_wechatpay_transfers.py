"""Distributor withdrawals paid out by WeChat Pay merchant transfer (商家转账), end to end:
the real app on loopback, the fake WeChat Pay gateway (its own platform keys, real
signatures and encryption) creating transfer bills, the promoter confirming one as the
mini-program would, and the platform's notification coming back to Yutang's callback.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fake_wechatpay import FakeWeChatPay
from test_wechatpay import Shop, gateway, new_merchant, open_shop
from tortoise.exceptions import IntegrityError

from yutang.core.clock import FrozenClock
from yutang.core.contract import TenantInfo
from yutang.core.models import Job, Member, Tenant
from yutang.core.worker import Worker
from yutang.plugins.distributor.models import DistributorPromoter, DistributorWithdrawal
from yutang.plugins.distributor.withdrawals import PAYOUT_ASKS
from yutang.plugins.wechatpay.models import WeChatPayTransfer
from yutang.testing import MakeTenant, create_member

__all__ = ["gateway"]  # the fake gateway's fixture, shared with the payment tests

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
SCENE = {"transfer_scene_id": "1005", "perception": "劳务报酬"}
WITHDRAW = """mutation($amount: Int!, $key: String!) {
  requestDistributorWithdrawal(
    input: {amount: $amount, account: "微信零钱", idempotencyKey: $key}
  ) {
    withdrawal { id status } errors { code field } } }"""
REVIEW = """mutation($id: ID!) { reviewDistributorWithdrawal(withdrawalId: $id, approve: true) {
  withdrawal { status } errors { code field } } }"""
MARK_PAID = """mutation($id: ID!) { markDistributorWithdrawalPaid(withdrawalId: $id) {
  withdrawal { status } errors { code field } } }"""
TRANSFERS = """{ myWeChatPayTransfers { edges { node {
  reference amount { amount } status failReason paidAt } } } }"""
RECEIVE = """mutation($reference: String!, $openid: String!, $name: String) {
  receiveWeChatPayTransfer(reference: $reference, openid: $openid, name: $name) {
    transfer { status } confirmation { mchId appId package } errors { code field message } } }"""


@pytest_asyncio.fixture
async def tenant(make_tenant: MakeTenant) -> TenantInfo:
    """The shop, with distributor and wechatpay, paying withdrawals by transfer."""
    return await make_tenant(
        "shop", plugins=["distributor", "wechatpay"], settings={"wechatpay": SCENE}
    )


@pytest_asyncio.fixture
async def shop(
    secret_keys: str,
    tenant: TenantInfo,
    gateway: FakeWeChatPay,
    web: httpx.AsyncClient,
    make_product: Any,
) -> Shop:
    """The shop's merchant set up, and a promoter (its buyer) with 3,000 yuan of
    available commission."""
    merchant = new_merchant("1900000109", "wx0d678ef567a06787", "a" * 32)
    shop = await open_shop(tenant, merchant, gateway, web, make_product, "13900000001")
    member = await Member.get(tenant_id=tenant.id, phone="13900000001")
    await DistributorPromoter.create(
        tenant_id=tenant.id,
        member_id=member.id,
        status="active",
        source="apply",
        code="PROMO1",
        joined_at=member.created_at,
        available=300_000,
    )
    return shop


async def approved_withdrawal(shop: Shop, worker: Worker, amount: int, key: str = "w-1") -> str:
    """A withdrawal asked for and approved, its payout job run once; its id."""
    asked = (await shop.me(WITHDRAW, {"amount": amount, "key": key}))[
        "requestDistributorWithdrawal"
    ]
    assert asked["errors"] == [], asked
    wid: str = asked["withdrawal"]["id"]
    reviewed = await shop.owner(REVIEW, {"id": wid})
    assert reviewed["reviewDistributorWithdrawal"]["errors"] == []
    await worker.run_until_idle()
    return wid


async def transfers(shop: Shop) -> list[dict[str, Any]]:
    found = await shop.me(TRANSFERS)
    return [e["node"] for e in found["myWeChatPayTransfers"]["edges"]]


async def receive(shop: Shop, reference: str, **extra: Any) -> dict[str, Any]:
    variables = {"reference": reference, "openid": OPENID, **extra}
    answer: dict[str, Any] = (await shop.me(RECEIVE, variables))["receiveWeChatPayTransfer"]
    return answer


async def test_a_withdrawal_is_paid_out_once_the_promoter_confirms_the_transfer(
    shop: Shop, gateway: FakeWeChatPay, worker: Worker, frozen_clock: FrozenClock
) -> None:
    wid = await approved_withdrawal(shop, worker, 5_000)
    [waiting] = await transfers(shop)
    assert (waiting["status"], waiting["amount"]["amount"]) == ("AWAITING", 5_000)
    assert gateway.transfers == {}  # the payee starts the bill: it needs their openid
    row = await DistributorWithdrawal.get()
    assert (row.status, row.payout_reference) == ("approved", waiting["reference"])
    # Taken by WeChat Pay: staff cannot also pay it by hand.
    by_hand = await shop.owner(MARK_PAID, {"id": wid})
    assert by_hand["markDistributorWithdrawalPaid"]["errors"] == [
        {"code": "DISTRIBUTOR_PAYOUT_UNDER_WAY", "field": "withdrawalId"}
    ]

    got = await receive(shop, waiting["reference"])
    assert got["errors"] == [] and got["transfer"]["status"] == "OPEN"
    [bill] = gateway.transfers.values()
    assert got["confirmation"] == {
        "mchId": shop.merchant.mchid,
        "appId": shop.merchant.appid,
        "package": bill.package_info,
    }
    assert (bill.openid, bill.transfer_amount, bill.transfer_scene_id) == (OPENID, 5_000, "1005")
    assert bill.user_recv_perception == "劳务报酬"
    assert {i["info_type"] for i in bill.transfer_scene_report_infos} == {"岗位类型", "报酬说明"}
    assert bill.notify_url is not None and bill.notify_url.endswith("/wechatpay/callback")
    # Asking again (the promoter closed the sheet) answers the same bill.
    again = await receive(shop, waiting["reference"])
    assert again["confirmation"] == got["confirmation"]
    assert len(gateway.transfers) == 1

    answer = await gateway.confirm_transfer(bill.out_bill_no)
    assert answer is not None and answer.status_code == 204
    [paid] = await transfers(shop)
    assert paid["status"] == "PAID" and paid["paidAt"] is not None
    frozen_clock.advance(PAYOUT_ASKS[0])
    await worker.run_until_idle()
    row = await DistributorWithdrawal.get()
    assert row.status == "paid"
    promoter = await DistributorPromoter.get()
    assert (promoter.available, promoter.withdrawing, promoter.withdrawn) == (295_000, 0, 5_000)
    # The notification again, and more asks, change nothing.
    assert (await gateway.notify_transfer(bill.out_bill_no)).status_code == 204
    received = await receive(shop, waiting["reference"])
    assert received["errors"][0]["code"] == "ILLEGAL_TRANSITION"
    assert len(gateway.transfers) == 1


async def test_a_failed_transfer_ends_its_attempt_and_a_confirmation_without_notice_is_found(
    shop: Shop, gateway: FakeWeChatPay, worker: Worker, frozen_clock: FrozenClock
) -> None:
    await approved_withdrawal(shop, worker, 8_000)
    [waiting] = await transfers(shop)
    first = await receive(shop, waiting["reference"])
    [bill] = gateway.transfers.values()
    answer = await gateway.confirm_transfer(bill.out_bill_no, fail="NAME_NOT_CORRECT")
    assert answer is not None and answer.status_code == 204
    [failed] = await transfers(shop)
    assert (failed["status"], failed["failReason"]) == ("AWAITING", "NAME_NOT_CORRECT")

    second = await receive(shop, waiting["reference"])
    assert second["errors"] == [] and second["confirmation"] != first["confirmation"]
    assert len(gateway.transfers) == 2
    newer = next(b for b in gateway.transfers.values() if b.state == "WAIT_USER_CONFIRM")
    # Confirmed, but the notification is lost: the payout's next ask finds it paid.
    await gateway.confirm_transfer(newer.out_bill_no, notify=False)
    frozen_clock.advance(PAYOUT_ASKS[0])
    await worker.run_until_idle()
    assert (await DistributorWithdrawal.get()).status == "paid"
    assert (await WeChatPayTransfer.get()).transfer_bill_no == newer.transfer_bill_no
    # The failed bill's notification again (late) leaves the paid transfer alone.
    assert (await gateway.notify_transfer(bill.out_bill_no)).status_code == 204
    assert (await WeChatPayTransfer.get()).status == "paid"


async def test_a_large_transfer_carries_the_payees_name_encrypted_for_the_platform(
    shop: Shop, gateway: FakeWeChatPay, worker: Worker
) -> None:
    await approved_withdrawal(shop, worker, 250_000)
    [waiting] = await transfers(shop)
    nameless = await receive(shop, waiting["reference"])
    assert nameless["errors"][0]["field"] == "name"
    assert gateway.transfers == {}
    named = await receive(shop, waiting["reference"], name="张三")
    assert named["errors"] == []
    [bill] = gateway.transfers.values()
    assert bill.user_name == "张三"  # the fake opened it with the platform's private key
    assert "张三" not in str(await WeChatPayTransfer.get().values())


async def test_only_the_payee_receives_and_only_genuine_notifications_count(
    shop: Shop,
    gateway: FakeWeChatPay,
    worker: Worker,
    web: httpx.AsyncClient,
    make_tenant: MakeTenant,
    make_product: Any,
) -> None:
    await approved_withdrawal(shop, worker, 5_000)
    [waiting] = await transfers(shop)
    # Another member of the shop, and another shop's merchant on the same gateway.
    other = new_merchant("1900000110", "wx0123456789abcdef", shop.merchant.apiv3_key)
    there = await make_tenant("other", plugins=["wechatpay"])
    await open_shop(there, other, gateway, web, make_product, "13900000002")
    _, token = await create_member(shop.tenant, "13900000009")
    stranger = dataclasses.replace(shop, me=shop.me.as_(token))
    theirs = await receive(stranger, waiting["reference"])
    assert theirs["errors"][0]["code"] == "NOT_FOUND"

    await receive(shop, waiting["reference"])
    [bill] = gateway.transfers.values()
    await gateway.confirm_transfer(bill.out_bill_no, notify=False)
    refused = {
        "tampered": await gateway.notify_transfer(bill.out_bill_no, tamper=True),
        "stale": await gateway.notify_transfer(bill.out_bill_no, timestamp=int(time.time()) - 600),
        "other merchant": await gateway.notify_transfer(bill.out_bill_no, merchant=other.mchid),
    }
    for why, answer in refused.items():
        assert answer.status_code == 500, why
    assert (await WeChatPayTransfer.get()).status == "open"
    assert (await gateway.notify_transfer(bill.out_bill_no)).status_code == 204
    assert (await WeChatPayTransfer.get()).status == "paid"


async def test_a_payee_who_never_confirms_is_asked_about_for_days_then_the_job_fails(
    shop: Shop, gateway: FakeWeChatPay, worker: Worker, frozen_clock: FrozenClock
) -> None:
    await approved_withdrawal(shop, worker, 5_000)
    [waiting] = await transfers(shop)
    await receive(shop, waiting["reference"])
    for wait in PAYOUT_ASKS:
        frozen_clock.advance(wait)
        await worker.run_until_idle()
        assert (await DistributorWithdrawal.get()).status == "approved"
    asks = [r for r in gateway.requests if r[0] == "GET" and "out-bill-no" in r[1]]
    assert len(asks) == len(PAYOUT_ASKS)
    assert sum(PAYOUT_ASKS, timedelta()) > timedelta(days=7)
    for _ in range(12):  # past the budget: the job's own retries, then failed for staff
        frozen_clock.advance(timedelta(hours=1))
        await worker.run_until_idle()
    [job] = await Job.filter(status="failed")
    assert "not paid after" in (job.last_error or "")


async def test_without_a_transfer_scene_staff_pay_withdrawals_by_hand(
    shop: Shop, gateway: FakeWeChatPay, worker: Worker
) -> None:
    await Tenant.filter(id=shop.tenant.id).update(settings={}, settings_version=99)
    wid = await approved_withdrawal(shop, worker, 5_000)
    assert await transfers(shop) == []
    paid = await shop.owner(MARK_PAID, {"id": wid})
    assert paid["markDistributorWithdrawalPaid"]["withdrawal"]["status"] == "PAID"
    assert gateway.transfers == {} and await WeChatPayTransfer.all().count() == 0


async def test_the_table_refuses_a_status_it_does_not_know(shop: Shop, worker: Worker) -> None:
    await approved_withdrawal(shop, worker, 5_000)
    row = await WeChatPayTransfer.get()
    with pytest.raises(IntegrityError):  # a CHECK constraint, a trigger on SQLite
        await WeChatPayTransfer.filter(id=row.id).update(status="lost")
    await WeChatPayTransfer.filter(id=row.id).update(status="open")
