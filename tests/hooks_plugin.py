"""A test plugin implementing every hook of the contract, one line activity kind, one
fulfilment method and one reward kind, written as a third party would: against
``yutang.api`` (and msgspec, the schema language the settings and input hooks take).

Each instance records what every implementation was called with in ``calls`` (in call
order, across hooks and owned objects) and raises what ``raising`` names for a call, so
tests can assert on both. An in-transaction call that raises first writes a marker job
(``<name>.job``), so a test can see the plugin's own write rolled back too.

Everything the core memoizes per plugin set (price steps, owned objects, providers,
input schemas) is built once here and reads the instance's knobs when it runs, so one
instance registered for the whole session serves every test; :meth:`reset` restores it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec

from yutang import api


class HooksSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``off``: what each price step takes off the eligible lines."""

    off: int = 0


class CheckoutIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    note: Annotated[str, msgspec.Meta(max_length=20)]


class RegisterIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    invite: str


class AnswerSpecs:
    """A hook of this plugin's own, declared through ``yutang_add_hookspecs``."""

    @staticmethod
    @api.hookspec(firstresult=True)
    def yutang_hooks_answer(tenant: api.TenantInfo) -> str | None:  # type: ignore[empty-body]
        """An answer for ``api.first_answer``."""


class HookActivity(api.Activity[list[int]]):
    """Lines of ``kind`` cost ``plugin.activity_off`` less; every method is recorded."""

    def __init__(self, plugin: HooksPlugin, kind: str) -> None:
        self.plugin = plugin
        self.kind = kind

    async def resolve(self, checkout: api.CheckoutContext, lines: list[api.CheckoutLine]) -> Any:
        claim = [ln.index for ln in lines]
        await self.plugin.act(
            "activity.resolve", checkout.tenant.id, checkout=checkout, lines=lines
        )
        self.plugin.claims.append(claim)
        return claim

    async def admit(
        self, tenant: api.TenantInfo, member_id: int, lines: Mapping[int, api.LineInput]
    ) -> None:
        self.plugin.hit("activity.admit", tenant=tenant, member_id=member_id, lines=lines)

    def price(self, draft: api.Draft, claim: list[int]) -> None:
        self.plugin.hit("activity.price", claim=claim)
        for index in claim:
            line = draft.lines[index]
            draft.set_activity_price(line, line.unit_price - self.plugin.activity_off, "活动价")

    def payment_deadline(self, checkout: api.CheckoutContext, claim: list[int]) -> datetime | None:
        self.plugin.hit("activity.payment_deadline", checkout=checkout, claim=claim)
        if self.plugin.deadline is None:
            return None
        return checkout.now + self.plugin.deadline

    def payment_plan(
        self, checkout: api.CheckoutContext, claim: list[int], total: int
    ) -> list[api.Instalment] | None:
        self.plugin.hit("activity.payment_plan", claim=claim, total=total)
        if self.plugin.deposit is None:
            return None
        opens, due = (checkout.now + t for t in self.plugin.balance_window)
        plan = [api.Instalment("定金", self.plugin.deposit)]
        if self.plugin.middle:  # a third part, in the day after the balance window
            plan.append(api.Instalment("中款", self.plugin.middle, opens, due))
            opens, due = due, due + timedelta(days=1)
        rest = total - self.plugin.deposit - self.plugin.middle
        return [*plan, api.Instalment("尾款", rest, opens, due)]

    async def reserve(self, checkout: api.CheckoutContext, claim: list[int], order_id: int) -> None:
        await self.plugin.act(
            "activity.reserve", checkout.tenant.id, claim=claim, order_id=order_id
        )

    async def release(
        self, tenant: api.TenantInfo, order_id: int, lines: list[api.ReleasedLine], reason: str
    ) -> None:
        await self.plugin.act(
            "activity.release", tenant.id, order_id=order_id, lines=lines, reason=reason
        )

    async def accept_payment(
        self, tenant: api.TenantInfo, order_id: int, paid_at: datetime
    ) -> None:
        await self.plugin.act(
            "activity.accept_payment", tenant.id, order_id=order_id, paid_at=paid_at
        )

    async def claim_payment(self, tenant: api.TenantInfo, order_id: int, payment_id: int) -> bool:
        await self.plugin.act(
            "activity.claim_payment", tenant.id, order_id=order_id, payment_id=payment_id
        )
        return self.plugin.claim

    async def hold(self, tenant: api.TenantInfo, order_id: int) -> str | None:
        await self.plugin.act("activity.hold", tenant.id, order_id=order_id)
        return self.plugin.activity_hold


class HookMethod(api.FulfilmentMethod[str]):
    """A method that goes to an address (when ``needs_address`` says so), charges
    ``plugin.fee`` and holds its orders while ``plugin.method_hold`` says why."""

    delivers = True

    def __init__(self, plugin: HooksPlugin, name: str) -> None:
        self.plugin = plugin
        self.name = name
        self.label = f"{name} label"

    async def resolve(self, checkout: api.CheckoutContext) -> Any:
        await self.plugin.act("method.resolve", checkout.tenant.id, checkout=checkout)
        choice = f"choice-{len(self.plugin.calls)}"
        self.plugin.choices.append(choice)
        return choice

    def needs_address(self, checkout: api.CheckoutContext, choice: str) -> bool:
        self.plugin.hit("method.needs_address", choice=choice)
        return self.plugin.needs_address

    def store_of(self, choice: str) -> int | None:
        self.plugin.hit("method.store_of", choice=choice)
        return self.plugin.store

    async def fee(self, draft: api.Draft, choice: str) -> None:
        self.plugin.hit("method.fee", choice=choice)
        draft.add_fee(self.plugin.name, self.plugin.fee, "运费")

    async def reserve(self, checkout: api.CheckoutContext, choice: str, order_id: int) -> None:
        await self.plugin.act(
            "method.reserve", checkout.tenant.id, choice=choice, order_id=order_id
        )

    async def release(
        self, tenant: api.TenantInfo, order_id: int, lines: list[api.ReleasedLine], reason: str
    ) -> None:
        await self.plugin.act(
            "method.release", tenant.id, order_id=order_id, lines=lines, reason=reason
        )

    async def paid(self, tenant: api.TenantInfo, order_id: int) -> None:
        await self.plugin.act("method.paid", tenant.id, order_id=order_id)

    async def hold(self, tenant: api.TenantInfo, order_id: int) -> str | None:
        await self.plugin.act("method.hold", tenant.id, order_id=order_id)
        return self.plugin.method_hold


class HookReward(api.RewardKind):
    def __init__(self, plugin: HooksPlugin, kind: str) -> None:
        self.plugin = plugin
        self.kind = kind

    async def grant(self, tenant: api.TenantInfo, member_id: int, reward: api.Reward) -> None:
        await self.plugin.act("reward.grant", tenant.id, member_id=member_id, reward=reward)

    async def revoke(self, tenant: api.TenantInfo, member_id: int, reward: api.Reward) -> None:
        await self.plugin.act("reward.revoke", tenant.id, member_id=member_id, reward=reward)


class HookPayments:
    """Captures at once while ``plugin.capture``; else through a callback whose body is
    ``{"reference", "amount"}``. Refunds are done while ``plugin.refunded``."""

    credentials = None

    def __init__(self, plugin: HooksPlugin) -> None:
        self.plugin = plugin
        self.name = f"{plugin.name}pay"

    def check_credentials(self, credentials: Any) -> str:
        return ""

    async def create(
        self, ctx: api.GatewayContext, payment: api.PaymentRequest
    ) -> api.PaymentIntent:
        self.plugin.hit("payment.create", reference=payment.reference, amount=payment.amount)
        return api.PaymentIntent(
            client_data={"reference": payment.reference}, captured=self.plugin.capture
        )

    async def query(self, ctx: api.GatewayContext, reference: str) -> api.GatewayPayment:
        return api.GatewayPayment("pending")

    async def close(self, ctx: api.GatewayContext, reference: str) -> api.GatewayPayment:
        self.plugin.hit("payment.close", reference=reference)
        return api.GatewayPayment("closed")

    async def refund(self, ctx: api.GatewayContext, refund: api.RefundRequest) -> api.RefundState:
        self.plugin.hit(
            "payment.refund",
            reference=refund.payment_reference,
            amount=refund.amount,
            refund_ref=refund.refund_reference,
        )
        return "refunded" if self.plugin.refunded else "pending"

    async def notification(
        self, ctx: api.GatewayContext, headers: Mapping[str, str], body: bytes
    ) -> api.Notification | None:
        self.plugin.hit("payment.verify_callback", body=body)
        data = json.loads(body)
        return api.Notification(capture=api.Capture(data["reference"], data["amount"]))

    def answer(self, accepted: bool) -> api.CallbackAnswer:
        status = b'{"status":"ok"}' if accepted else b'{"status":"rejected"}'
        return api.CallbackAnswer(200 if accepted else 400, status)


class HookCodes:
    def __init__(self, plugin: HooksPlugin) -> None:
        self.plugin = plugin
        self.name = f"{plugin.name}sms"

    async def send(self, tenant: api.TenantInfo, phone: str, code: str, purpose: str) -> None:
        self.plugin.hit("verification.send", phone=phone, code=code, purpose=purpose)


class HooksPlugin:
    """Every hook; ``steps`` are the (stage, priority) of its price steps."""

    def __init__(
        self,
        name: str,
        *,
        steps: tuple[tuple[api.Stage, int], ...] = ((api.Stage.PROMOTION, 50),),
        specs: bool = False,
        models: str | None = None,
        kind: str | None = None,
        method: str | None = None,
        reward: str | None = None,
        field: str | None = None,
        codes: Mapping[str, str] | None = None,
        raising: Mapping[str, BaseException] | None = None,
    ) -> None:
        self.name = name
        self.specs = specs
        self.models = models
        self.activity = HookActivity(self, kind or f"{name}act")
        self.method = HookMethod(self, method or f"{name}ship")
        self.reward = HookReward(self, reward or f"{name}gift")
        self.payments = HookPayments(self)
        self.codes_sender = HookCodes(self)
        self.field = field or f"{name}Ping"
        upper = name.upper()
        declared = {f"{upper}_VETO": "a test veto", f"{upper}_REFUSED": "a test refusal"}
        self.codes = api.ErrorCodes(name, {**declared, **(codes or {})})
        self.steps = [self._step(stage, priority) for stage, priority in steps]
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.claims: list[list[int]] = []
        self.choices: list[str] = []
        self.reset(raising)

    def reset(self, raising: Mapping[str, BaseException] | None = None) -> None:
        """Forget every call and restore the defaults."""
        self.calls.clear()
        self.claims.clear()
        self.choices.clear()
        self.raising: dict[str, BaseException] = dict(raising or {})
        self.keep: Any = None
        self.activity_off = 100
        self.deadline: timedelta | None = None
        self.deposit: int | None = None
        self.middle = 0
        self.balance_window = (timedelta(days=1), timedelta(days=2))
        self.claim = False
        self.activity_hold: str | None = None
        self.method_hold: str | None = None
        self.needs_address = False
        self.store: int | None = None
        self.fee = 0
        self.capture = True
        self.refunded = True
        self.answer: str | None = None
        self.next_change: datetime | None = None

    # --- recording ---------------------------------------------------------------------

    def seen(self, what: str) -> list[dict[str, Any]]:
        """The arguments of every call of ``what``, in order."""
        return [kwargs for name, kwargs in self.calls if name == what]

    def order(self) -> list[str]:
        """What was called, in order."""
        return [name for name, _ in self.calls]

    def hit(self, what: str, **kwargs: Any) -> None:
        """Record a call; raise what ``raising`` names for it."""
        self.calls.append((what, kwargs))
        error = self.raising.get(what)
        if error is not None:
            raise error

    async def act(self, what: str, tenant_id: int, **kwargs: Any) -> None:
        """Record an in-transaction call; before raising, write a marker job."""
        self.calls.append((what, kwargs))
        error = self.raising.get(what)
        if error is not None:
            await api.schedule_job(tenant_id, f"{self.name}.job", {"marker": what}, api.now())
            raise error

    def _step(self, stage: api.Stage, priority: int) -> api.PriceStep:
        label = f"{self.name} {stage.name} {priority}"

        def apply(draft: api.Draft) -> None:
            self.hit("step", label=label)
            off = draft.checkout.tenant.setting(self.name, HooksSettings).off
            if off:
                draft.discount(off, draft.eligible(), label)
            if self.keep is not None:
                draft.keep(self.keep)

        return api.PriceStep(stage, apply, priority)

    # --- registration ------------------------------------------------------------------

    @api.hookimpl
    def yutang_add_hookspecs(self, plugin_manager: Any) -> None:
        self.hit("yutang_add_hookspecs", plugin_manager=plugin_manager)
        if self.specs:
            plugin_manager.add_hookspecs(AnswerSpecs)

    @api.hookimpl
    def yutang_hooks_answer(self, tenant: api.TenantInfo) -> str | None:
        self.hit("yutang_hooks_answer", tenant=tenant)
        return self.answer

    @api.hookimpl
    def yutang_models(self) -> str | None:
        self.hit("yutang_models")
        return self.models

    @api.hookimpl
    def yutang_settings_schema(self) -> type[HooksSettings]:
        self.hit("yutang_settings_schema")
        return HooksSettings

    @api.hookimpl
    def yutang_input_schema(self, operation: str) -> type[msgspec.Struct] | None:
        self.hit("yutang_input_schema", operation=operation)
        return {"checkout": CheckoutIn, "register": RegisterIn}.get(operation)

    @api.hookimpl
    def yutang_graphql_storefront(self) -> api.GraphQLContribution:
        self.hit("yutang_graphql_storefront")
        name = self.name

        def ping(info: api.Info) -> str:
            return f"{name}:{info.context.tenant.slug}"

        return api.GraphQLContribution(query=[api.field(ping, name=self.field)])

    @api.hookimpl
    def yutang_graphql_admin(self) -> api.GraphQLContribution:
        self.hit("yutang_graphql_admin")
        permission = f"{self.name}.manage"

        async def admin_ping(info: api.Info) -> str:
            caller = await info.context.principal()
            return f"{caller.kind if caller else None}:{permission}"

        ping = api.field(admin_ping, name=f"{self.name}AdminPing", permission=permission)
        return api.GraphQLContribution(query=[ping])

    @api.hookimpl
    def yutang_price_steps(self) -> list[api.PriceStep]:
        self.hit("yutang_price_steps")
        return self.steps

    @api.hookimpl
    def yutang_jobs(self) -> dict[str, api.JobHandler]:
        self.hit("yutang_jobs")

        async def job(tenant: api.TenantInfo | None, payload: dict[str, Any]) -> None:
            self.hit("job", tenant=tenant, payload=payload)

        return {f"{self.name}.job": job}

    @api.hookimpl
    def yutang_activities(self) -> list[api.Activity[Any]]:
        self.hit("yutang_activities")
        return [self.activity]

    @api.hookimpl
    def yutang_fulfilment_methods(self) -> list[api.FulfilmentMethod[Any]]:
        self.hit("yutang_fulfilment_methods")
        return [self.method]

    @api.hookimpl
    def yutang_reward_kinds(self) -> list[api.RewardKind]:
        self.hit("yutang_reward_kinds")
        return [self.reward]

    @api.hookimpl
    def yutang_payment_providers(self) -> list[api.PaymentProvider]:
        self.hit("yutang_payment_providers")
        return [self.payments]

    @api.hookimpl
    def yutang_verification_providers(self) -> list[api.VerificationProvider]:
        self.hit("yutang_verification_providers")
        return [self.codes_sender]

    @api.hookimpl
    def yutang_permissions(self) -> list[api.Permission]:
        self.hit("yutang_permissions")
        return [api.Permission(f"{self.name}.manage", "test permission", ("manager",))]

    @api.hookimpl
    def yutang_error_codes(self) -> api.ErrorCodes:
        self.hit("yutang_error_codes")
        return self.codes

    # --- in-transaction (may veto) ---------------------------------------------------------

    @api.hookimpl
    async def yutang_validate_checkout(self, checkout: api.CheckoutContext) -> None:
        await self.act("yutang_validate_checkout", checkout.tenant.id, checkout=checkout)

    @api.hookimpl
    async def yutang_reserve(
        self, checkout: api.CheckoutContext, order_id: int, state: Any
    ) -> None:
        await self.act("yutang_reserve", checkout.tenant.id, order_id=order_id, state=state)

    @api.hookimpl
    async def yutang_release(
        self, tenant: api.TenantInfo, order_id: int, lines: list[api.ReleasedLine], reason: str
    ) -> None:
        await self.act("yutang_release", tenant.id, order_id=order_id, lines=lines, reason=reason)

    @api.hookimpl
    async def yutang_refund_policy(
        self, tenant: api.TenantInfo, order_id: int, lines: list[api.ReleasedLine], reason: str
    ) -> None:
        await self.act(
            "yutang_refund_policy", tenant.id, order_id=order_id, lines=lines, reason=reason
        )

    @api.hookimpl
    async def yutang_accept_member(
        self, tenant: api.TenantInfo, member_id: int, extensions: dict[str, Any]
    ) -> None:
        await self.act(
            "yutang_accept_member", tenant.id, member_id=member_id, extensions=extensions
        )

    # --- query -----------------------------------------------------------------------------

    @api.hookimpl
    async def yutang_next_price_change(
        self, tenant: api.TenantInfo, now: datetime
    ) -> datetime | None:
        self.hit("yutang_next_price_change", tenant=tenant, now=now)
        return self.next_change

    # --- set-up ---------------------------------------------------------------------------

    @api.hookimpl
    async def yutang_demo_data(self, tenant: api.TenantInfo, shop: api.DemoShop) -> str:
        self.hit("yutang_demo_data", tenant=tenant, shop=shop)
        return f"{self.name}: {len(shop.skus_for(self.name))} SKU(s) of its own"

    # --- events after commit ---------------------------------------------------------------

    def _event(self, hook: str, event: api.Event, tenant: api.TenantInfo) -> None:
        self.hit(hook, event=event, tenant=tenant)

    @api.hookimpl
    def yutang_order_placed(self, event: api.Event, tenant: api.TenantInfo) -> None:
        self._event("yutang_order_placed", event, tenant)

    @api.hookimpl
    def yutang_order_paid(self, event: api.Event, tenant: api.TenantInfo) -> None:
        self._event("yutang_order_paid", event, tenant)

    @api.hookimpl
    def yutang_instalment_paid(self, event: api.Event, tenant: api.TenantInfo) -> None:
        self._event("yutang_instalment_paid", event, tenant)

    @api.hookimpl
    def yutang_instalment_opened(self, event: api.Event, tenant: api.TenantInfo) -> None:
        self._event("yutang_instalment_opened", event, tenant)

    @api.hookimpl
    def yutang_order_forfeited(self, event: api.Event, tenant: api.TenantInfo) -> None:
        self._event("yutang_order_forfeited", event, tenant)

    @api.hookimpl
    def yutang_order_cancelled(self, event: api.Event, tenant: api.TenantInfo) -> None:
        self._event("yutang_order_cancelled", event, tenant)

    @api.hookimpl
    def yutang_order_fulfilled(self, event: api.Event, tenant: api.TenantInfo) -> None:
        self._event("yutang_order_fulfilled", event, tenant)

    @api.hookimpl
    def yutang_order_completed(self, event: api.Event, tenant: api.TenantInfo) -> None:
        self._event("yutang_order_completed", event, tenant)

    @api.hookimpl
    def yutang_order_refunded(self, event: api.Event, tenant: api.TenantInfo) -> None:
        self._event("yutang_order_refunded", event, tenant)

    @api.hookimpl
    def yutang_after_sale_closed(self, event: api.Event, tenant: api.TenantInfo) -> None:
        self._event("yutang_after_sale_closed", event, tenant)

    @api.hookimpl
    def yutang_member_registered(self, event: api.Event, tenant: api.TenantInfo) -> None:
        self._event("yutang_member_registered", event, tenant)

    @api.hookimpl
    def yutang_member_referred(self, event: api.Event, tenant: api.TenantInfo) -> None:
        self._event("yutang_member_referred", event, tenant)
