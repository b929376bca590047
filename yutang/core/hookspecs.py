"""Every hook a Yutang plugin may implement.

Each hook is one of these kinds, named in its docstring:

- **registration**: called once per process while the app is built (sync; no I/O);
- **in-transaction (may veto)**: awaited inside the database transaction of the
  operation that calls it; raising :class:`yutang.api.DomainError` rolls the whole
  operation back and reports the error to the caller;
- **event after commit**: written to the outbox in the transaction of the change, then
  delivered by the job worker after commit, at least once. Handlers must be idempotent
  (``event.id`` identifies a delivery). A handler that raises is retried with backoff;
- **set-up**: awaited once, outside any transaction, while the demo tenant is first
  loaded (``yutang serve --demo``).

Line activities, fulfilment methods and reward kinds are not hooks but *owned objects*
(see :mod:`yutang.core.contract`), registered by ``yutang_activities``,
``yutang_fulfilment_methods`` and ``yutang_reward_kinds``: the core calls only the owner of
a line, of an order's fulfilment, of a reward's kind.

Implementations may be ``async def``; the core awaits them. Event hooks receive the
``event`` and the ``tenant`` it belongs to (its settings, its plugin set). Arguments are passed by
name and an implementation may accept any subset of them. Hookwrappers are refused.

| hook | kind |
|---|---|
| yutang_add_hookspecs | registration |
| yutang_models | registration |
| yutang_settings_schema | registration |
| yutang_input_schema | registration |
| yutang_graphql_storefront | registration |
| yutang_graphql_admin | registration |
| yutang_price_steps | registration |
| yutang_jobs | registration |
| yutang_activities | registration |
| yutang_fulfilment_methods | registration |
| yutang_reward_kinds | registration |
| yutang_payment_providers | registration |
| yutang_verification_providers | registration |
| yutang_permissions | registration |
| yutang_error_codes | registration |
| yutang_validate_checkout | in-transaction (may veto) |
| yutang_reserve | in-transaction (may veto) |
| yutang_release | in-transaction (may veto) |
| yutang_refund_policy | in-transaction (may veto) |
| yutang_accept_member | in-transaction (may veto) |
| yutang_next_price_change | query (outside any transaction) |
| yutang_demo_data | set-up (outside any transaction) |
| yutang_order_placed | event after commit |
| yutang_order_paid | event after commit |
| yutang_instalment_paid | event after commit |
| yutang_instalment_opened | event after commit |
| yutang_order_forfeited | event after commit |
| yutang_order_cancelled | event after commit |
| yutang_order_fulfilled | event after commit |
| yutang_order_completed | event after commit |
| yutang_order_refunded | event after commit |
| yutang_after_sale_closed | event after commit |
| yutang_member_registered | event after commit |
| yutang_member_referred | event after commit |
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import msgspec

    from yutang.core.contract import (
        Activity,
        CheckoutContext,
        DemoShop,
        ErrorCodes,
        Event,
        FulfilmentMethod,
        GraphQLContribution,
        JobHandler,
        Permission,
        PriceStep,
        ReleasedLine,
        RewardKind,
        TenantInfo,
        VerificationProvider,
    )
    from yutang.core.payment_contract import PaymentProvider
    from yutang.core.schedules import Recurring

hookspec = pluggy.HookspecMarker("yutang")
hookimpl = pluggy.HookimplMarker("yutang")

# --- registration -----------------------------------------------------------------


@hookspec(historic=True)
def yutang_add_hookspecs(plugin_manager: pluggy.PluginManager) -> None:
    """Declare hookspecs of this plugin's own for other plugins to implement.

    Kind: registration. Called once when the plugin is registered; call
    ``plugin_manager.add_hookspecs(module)`` (e.g. a distributor's payout provider).

    Example::

        class PayoutSpecs:
            @staticmethod
            @api.hookspec(firstresult=True)
            def yutang_stamps_payout(tenant, amount):
                pass  # pay ``amount`` out; True when done


        @api.hookimpl
        def yutang_add_hookspecs(plugin_manager):
            plugin_manager.add_hookspecs(PayoutSpecs)
    """


@hookspec(firstresult=True)
def yutang_models() -> str | None:
    """Return the dotted module holding this plugin's tortoise models, or None.

    Kind: registration. The plugin becomes its own tortoise app labelled with the
    plugin's name; its migrations live in the sibling ``migrations`` package and every
    table name must start with ``<plugin>_``. Migrations are applied whether or not a
    tenant enables the plugin (tables exist; rows are per tenant).

    Example::

        @api.hookimpl
        def yutang_models():
            return "yutang_stamps.models"
    """


@hookspec(firstresult=True)
def yutang_settings_schema() -> type[msgspec.Struct] | None:
    """Return the msgspec Struct that validates this plugin's settings.

    Kind: registration. Settings come from ``plugins.toml`` (profile, then tenant) and
    from per-tenant overrides stored by platform operators; every layer is validated by
    this Struct. A plugin reads them with ``tenant.setting(name, Struct)``.

    Example::

        class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
            stamps_per_card: int = 10


        @api.hookimpl
        def yutang_settings_schema():
            return Settings
    """


@hookspec(firstresult=True)
def yutang_input_schema(operation: str) -> type[msgspec.Struct] | None:
    """Return the Struct that validates this plugin's input for ``operation``.

    Kind: registration. ``operation`` is ``"checkout"`` (quote, placeOrder, the cart) or
    ``"register"``. The Struct becomes the GraphQL input type ``<Plugin><Operation>Input``
    (``StampsCheckoutInput``), the field ``<plugin>`` of ``CheckoutExtensionsInput`` or
    ``RegisterExtensionsInput``, in every tenant's schema; a type GraphQL cannot carry fails
    registration. The client sends ``extensions: {<plugin>: {...}}``; the core refuses it
    (``PLUGIN_DISABLED``) where the tenant does not enable the plugin, else validates it
    with this Struct, and errors name ``extensions.<plugin>.<field>``.

    Example::

        class CardInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
            card: str


        @api.hookimpl
        def yutang_input_schema(operation):
            return CardInput if operation == "checkout" else None
    """


@hookspec
def yutang_graphql_storefront() -> GraphQLContribution | None:
    """Return this plugin's storefront GraphQL contribution (fields, types, extensions).

    Kind: registration. Present only in the schemas of tenants that enable the plugin.
    Fields that touch the database must batch through a DataLoader from
    ``info.context.loader(...)``.

    Example::

        def stamp_count(info: api.Info) -> int:
            return 0


        @api.hookimpl
        def yutang_graphql_storefront():
            return api.GraphQLContribution(query=[api.field(stamp_count, name="stampCount")])
    """


@hookspec
def yutang_graphql_admin() -> GraphQLContribution | None:
    """Return this plugin's admin GraphQL contribution.

    Kind: registration. As :func:`yutang_graphql_storefront`, for ``/admin/graphql``.

    Example::

        def stamp_cards(info: api.Info) -> int:
            return 0


        @api.hookimpl
        def yutang_graphql_admin():
            return api.GraphQLContribution(query=[api.field(stamp_cards, name="stampCards")])
    """


@hookspec
def yutang_price_steps() -> list[PriceStep] | None:
    """Return the pricing steps this plugin runs, each with its stage and priority.

    Kind: registration (the steps themselves run in the quote, which is pure: they read,
    never write). Stages run in the fixed order activity → member price → promotions →
    coupons → points → fees; within a stage, ascending priority, then plugin name.

    Example::

        def members_off(draft):
            if draft.checkout.member is not None:
                draft.discount(100, draft.eligible(), "会员立减")


        @api.hookimpl
        def yutang_price_steps():
            return [api.PriceStep(api.Stage.PROMOTION, members_off, priority=50)]
    """


@hookspec
def yutang_jobs() -> dict[str, JobHandler | Recurring] | None:
    """Return durable job handlers by name (``"<plugin>.<job>"``).

    Kind: registration. Schedule with ``yutang.api.schedule_job`` inside a transaction
    (``queue=api.Queue.BULK`` for long or numerous work; deadlines stay in the default
    ``timeouts``). A handler runs inside the transaction that marks the job done, so its
    database effect happens exactly once; it runs even after the tenant disabled the
    plugin. An :class:`yutang.api.Recurring` in place of a handler runs once per
    occurrence of its schedule for every tenant that enables the plugin.

    Example::

        async def expire(tenant, payload):
            pass


        @api.hookimpl
        def yutang_jobs():
            return {
                "stamps.expire": expire,
                "stamps.nightly": api.Recurring(expire, api.Cron(hour=3)),
            }
    """


@hookspec
def yutang_activities() -> list[Activity[Any]] | None:
    """Return the line activity kinds this plugin owns (seckill, group buy, bargain).

    Kind: registration. Each is an :class:`yutang.api.Activity` whose ``kind`` (a
    lower-case identifier no other plugin registers) is what a checkout line names in
    ``activity.plugin``. The core resolves a kind's lines once per checkout into its
    claim and calls the kind's methods for those lines and their orders only.

    Example::

        class Stamped(api.Activity[None]):
            kind = "stamps"

            async def resolve(self, checkout, lines):
                return None

            def price(self, draft, claim):
                for ln in draft.lines:
                    if ln.line.activity is not None and ln.line.activity.plugin == self.kind:
                        draft.set_activity_price(ln, ln.unit_price, "集点价")

            async def reserve(self, checkout, claim, order_id):
                return None

            async def release(self, tenant, order_id, lines, reason):
                return None


        @api.hookimpl
        def yutang_activities():
            return [Stamped()]
    """


@hookspec
def yutang_fulfilment_methods() -> list[FulfilmentMethod[Any]] | None:
    """Return the fulfilment methods this plugin owns (the core owns ``delivery``).

    Kind: registration. Each is an :class:`yutang.api.FulfilmentMethod`; a checkout picks
    one by ``name`` and the core calls only that one: its fee, whether it needs an
    address, its reservation, its hold.

    Example::

        class Courier(api.FulfilmentMethod[None]):
            name = "courier"
            label = "同城配送"

            async def resolve(self, checkout):
                return None


        @api.hookimpl
        def yutang_fulfilment_methods():
            return [Courier()]
    """


@hookspec
def yutang_reward_kinds() -> list[RewardKind] | None:
    """Return the reward kinds this plugin grants (the core grants ``points``).

    Kind: registration. Each is an :class:`yutang.api.RewardKind`; ``api.grant_reward``
    and ``api.revoke_reward`` call the one of the reward's ``kind``.

    Example::

        class StampReward(api.RewardKind):
            kind = "stamp"

            async def grant(self, tenant, member_id, reward):
                pass

            async def revoke(self, tenant, member_id, reward):
                pass


        @api.hookimpl
        def yutang_reward_kinds():
            return [StampReward()]
    """


@hookspec
def yutang_payment_providers() -> list[PaymentProvider] | None:
    """Return payment providers (real gateways) this plugin adds.

    Kind: registration. See :class:`yutang.api.PaymentProvider` for the contract: each
    call gets the tenant with its own credentials (a Struct the provider declares, set
    by the tenant's owner through the admin API); create, query and close a payment,
    refund (asked again to learn how it stands), verify a notification, and own the
    answer the gateway gets. Calls run outside any database transaction.

    Example::

        class Offline:
            name = "offline"
            credentials = None

            def check_credentials(self, credentials):
                return ""

            async def create(self, ctx, payment):
                return api.PaymentIntent(client_data={"reference": payment.reference})

            async def query(self, ctx, reference):
                return api.GatewayPayment("pending")

            async def close(self, ctx, reference):
                return api.GatewayPayment("closed")

            async def refund(self, ctx, refund):
                return "pending"

            async def notification(self, ctx, headers, body):
                return None

            def answer(self, accepted):
                return api.CallbackAnswer(200 if accepted else 400, b"")


        @api.hookimpl
        def yutang_payment_providers():
            return [Offline()]
    """


@hookspec
def yutang_verification_providers() -> list[VerificationProvider] | None:
    """Return providers that deliver one-time codes to phones (SMS gateways).

    Kind: registration. See :class:`yutang.api.VerificationProvider`: a provider only
    sends; the core makes each code, stores its hash, expires it, counts its attempts and
    limits how often codes are sent. A tenant picks one by name with the core setting
    ``verification_provider``.

    Example::

        class Sms:
            name = "sms"

            async def send(self, tenant, phone, code, purpose):
                pass


        @api.hookimpl
        def yutang_verification_providers():
            return [Sms()]
    """


@hookspec(firstresult=True)
def yutang_permissions() -> list[Permission] | None:
    """Return the permissions this plugin's admin fields require, or None.

    Kind: registration. Each is ``api.Permission("<plugin>.<what>", description, roles)``,
    ``roles`` the built-in roles (manager, clerk) holding it by default; operators and
    owners hold every permission, and a role an owner makes holds what they chose.
    ``store_scoped=True`` limits a store-bound role to its own stores' objects. An admin
    field names one with ``api.field(..., permission=...)``, checked before its resolver.

    Example::

        @api.hookimpl
        def yutang_permissions():
            return [api.Permission("stamps.manage", "set up stamp cards", ("manager",))]
    """


@hookspec(firstresult=True)
def yutang_error_codes() -> ErrorCodes | None:
    """Return ``api.ErrorCodes("<plugin>", {code: meaning})``, this plugin's own codes.

    Kind: registration. Every code is ``<PLUGIN>_<WHAT>`` (upper case) and unique across
    plugins; raise one with ``codes.error(code, message, field)``, which refuses an
    undeclared code. The core's shared codes (``INVALID``, ``NOT_FOUND``, ...) need none.

    Example::

        CODES = api.ErrorCodes("stamps", {"STAMPS_CARD_FULL": "the card has every stamp"})


        @api.hookimpl
        def yutang_error_codes():
            return CODES
    """


# --- in-transaction (may veto) ------------------------------------------------------------


@hookspec
def yutang_validate_checkout(checkout: CheckoutContext) -> None:
    """Check a quote or order; raise DomainError naming the field to veto.

    Kind: in-transaction (may veto). Runs after the activities resolved their lines and
    the fulfilment method its choice, before pricing, for quote and placeOrder (in
    placeOrder's transaction). ``checkout.lines[i]`` carries sku, product, quantity and
    the line's activity reference; raise with ``field=f"lines[{i}]..."``.

    Example::

        @api.hookimpl
        def yutang_validate_checkout(checkout):
            for ln in checkout.lines:
                if ln.quantity > 20:
                    field = f"lines[{ln.index}].quantity"
                    raise api.DomainError("LIMIT_EXCEEDED", "at most 20", field)
    """


@hookspec
def yutang_reserve(checkout: CheckoutContext, order_id: int, state: Any) -> None:
    """Take what the order holds of this plugin's (lock the coupon it uses, record the
    points it earned) for a placed order.

    Kind: in-transaction (may veto). Runs in placeOrder's transaction after the core took
    SKU stock and the activities and the fulfilment method reserved theirs. ``state`` is
    what this plugin's price steps kept for this checkout with ``draft.keep`` (None if
    nothing): the core hands it over, so no step needs a side channel.

    Example::

        @api.hookimpl
        async def yutang_reserve(checkout, order_id, state):
            if state:  # what this plugin's price step kept with draft.keep(...)
                await api.schedule_job(checkout.tenant.id, "stamps.award", {"order_id": order_id})
    """


@hookspec
def yutang_release(
    tenant: TenantInfo, order_id: int, lines: list[ReleasedLine], reason: str
) -> None:
    """Give back what this plugin's :func:`yutang_reserve` took, for lines of an order
    being cancelled or refunded.

    Kind: in-transaction (may veto). ``lines`` are :class:`yutang.api.ReleasedLine`s with
    the units going back; ``reason`` is ``"cancelled"``, ``"refunded"`` or
    ``"forfeited"`` (an instalment went unpaid). Called for
    every plugin that took part in the order, even if since disabled.

    Example::

        @api.hookimpl
        async def yutang_release(tenant, order_id, lines, reason):
            if reason == "cancelled":
                pass  # give back what yutang_reserve took for these lines
    """


@hookspec
def yutang_refund_policy(
    tenant: TenantInfo, order_id: int, lines: list[ReleasedLine], reason: str
) -> None:
    """Refuse a member's refund request this plugin's terms do not allow (a forfeited
    deposit, a ticket already used), with a coded reason.

    Kind: in-transaction (may veto), in the request's transaction, for the plugins that
    took part in the order and those enabled. ``lines`` are the units asked for back;
    ``reason`` is the member's. Raise DomainError with the plugin's own code (declared in
    ``yutang_error_codes``) to refuse: the request is not recorded and the member gets the
    code. Staff refunding an order directly are not asked.

    Example::

        @api.hookimpl
        async def yutang_refund_policy(tenant, order_id, lines, reason):
            if any(ln.activity is not None and ln.activity.plugin == "stamps" for ln in lines):
                raise api.DomainError("STAMPS_FINAL", "stamp cards are final", "orderId")
    """


@hookspec
def yutang_accept_member(
    tenant: TenantInfo, member_id: int, extensions: dict[str, msgspec.Struct]
) -> None:
    """Record what a sign-up brought (an invite code) before the member can act.

    Kind: in-transaction (may veto), in the registration's transaction, after the member
    row is written and before the token is issued: what this hook writes is in force for
    the member's very first request (``yutang_member_registered`` comes later). Each value
    of ``extensions`` is the validated register input of the plugin it is keyed by.
    Raising DomainError refuses the registration.

    Example::

        @api.hookimpl
        async def yutang_accept_member(tenant, member_id, extensions):
            invite = extensions.get("stamps")
            if invite is not None:
                pass  # bind the invite in the registration's transaction
    """


@hookspec
def yutang_next_price_change(tenant: TenantInfo, now: datetime) -> datetime | None:
    """Return the next moment a price this plugin controls changes, or None.

    Kind: query, outside any transaction. A response cache must not serve a catalogue
    response past the earliest answer (a seckill session's start or end).

    Example::

        @api.hookimpl
        async def yutang_next_price_change(tenant, now):
            return None  # or when a price this plugin shows next changes
    """


# --- set-up ------------------------------------------------------------------------


@hookspec
def yutang_demo_data(tenant: TenantInfo, shop: DemoShop) -> str | None:
    """Make this plugin's play live in the demo tenant; return one line saying what.

    Kind: set-up, outside any transaction, once, when ``yutang serve --demo`` (or
    ``migrate --demo``) first loads the demo tenant, after the core's catalogue, stores
    and members. A plugin creates what a newcomer tries at once (an activity running now)
    with its own code, exactly as its admin mutations would, and sets its activities on
    ``shop.skus_for(<its name>)`` so no two plugins share a product. Raising stops the
    demo load with the error.

    Example::

        @api.hookimpl
        async def yutang_demo_data(tenant, shop):
            sku = shop.skus_for("stamps")[0]
            ...  # create a stamp card for ``sku`` running from ``shop.now``
            return f"stamps: a card on {sku.product_name}"
    """


# --- events after commit ---------------------------------------------------------------


@hookspec
def yutang_order_placed(event: Event, tenant: TenantInfo) -> None:
    """An order was placed. Kind: event after commit.

    Example::

        @api.hookimpl
        async def yutang_order_placed(event, tenant):
            pass  # idempotent per event.id
    """


@hookspec
def yutang_order_paid(event: Event, tenant: TenantInfo) -> None:
    """An order was paid (``event.data["amount"]``). Kind: event after commit.

    Example::

        @api.hookimpl
        async def yutang_order_paid(event, tenant):
            if event.member_id is not None:
                reference = f"order:{event.order_id}"
                await api.change_points(tenant, event.member_id, 10, "stamps", reference)
    """


@hookspec
def yutang_instalment_paid(event: Event, tenant: TenantInfo) -> None:
    """An instalment of an order paid in parts was paid and another is due
    (``data["position"]``, ``data["amount"]``, and ``data["next"]``: its ``position``,
    ``label``, ``amount``, ``opensAt``, ``dueAt``). The last instalment is
    ``yutang_order_paid`` instead. Kind: event after commit.

    Example::

        @api.hookimpl
        async def yutang_instalment_paid(event, tenant):
            due = event.data["next"]["dueAt"]  # e.g. tell the member when the balance is due
    """


@hookspec
def yutang_instalment_opened(event: Event, tenant: TenantInfo) -> None:
    """A later instalment's window opened and it is unpaid (``data``: ``position``,
    ``label``, ``amount``, ``opensAt``, ``dueAt``): the moment for a reminder. Kind:
    event after commit.

    Example::

        @api.hookimpl
        async def yutang_instalment_opened(event, tenant):
            amount = event.data["amount"]  # e.g. queue "pay the balance" to the member
    """


@hookspec
def yutang_order_forfeited(event: Event, tenant: TenantInfo) -> None:
    """An order paid in parts was forfeited: a later instalment's window closed unpaid;
    its stock went back and ``data["kept"]`` (what was paid) stays with the merchant.
    Kind: event after commit.

    Example::

        @api.hookimpl
        async def yutang_order_forfeited(event, tenant):
            kept = event.data["kept"]  # refund it with api.refund_order if policy says so
    """


@hookspec
def yutang_order_cancelled(event: Event, tenant: TenantInfo) -> None:
    """An unpaid order was cancelled (``data["reason"]``). Kind: event after commit.

    Example::

        @api.hookimpl
        async def yutang_order_cancelled(event, tenant):
            reason = event.data["reason"]  # "payment_timeout", "member", ...
    """


@hookspec
def yutang_order_fulfilled(event: Event, tenant: TenantInfo) -> None:
    """An order was shipped or picked up. Kind: event after commit.

    Example::

        @api.hookimpl
        async def yutang_order_fulfilled(event, tenant):
            pass  # e.g. queue a "shipped" message
    """


@hookspec
def yutang_order_completed(event: Event, tenant: TenantInfo) -> None:
    """An order was completed (received). Kind: event after commit.

    Example::

        @api.hookimpl
        async def yutang_order_completed(event, tenant):
            pass  # e.g. open a review window
    """


@hookspec
def yutang_order_refunded(event: Event, tenant: TenantInfo) -> None:
    """A refund was approved and booked on the order's lines; the money itself returns
    through the payment provider asynchronously. ``data`` holds ``refund_id``, ``amount``,
    ``lines`` (line_id, quantity, amount, points each) and ``full`` (nothing is left to
    refund: every line that cost money or points went back, and the order's free lines,
    such as gifts, are in ``lines`` with this last refund).

    Kind: event after commit.

    Example::

        @api.hookimpl
        async def yutang_order_refunded(event, tenant):
            if event.data["full"]:
                pass  # revoke what the order earned
    """


@hookspec
def yutang_after_sale_closed(event: Event, tenant: TenantInfo) -> None:
    """The after-sale window of a completed order closed; fires once per order.

    Kind: event after commit.

    Example::

        @api.hookimpl
        async def yutang_after_sale_closed(event, tenant):
            pass  # what the order earned is final now
    """


@hookspec
def yutang_member_registered(event: Event, tenant: TenantInfo) -> None:
    """A member registered (``data["extensions"]`` holds validated register input).

    Kind: event after commit.

    Example::

        @api.hookimpl
        async def yutang_member_registered(event, tenant):
            extensions = event.data.get("extensions", {})
    """


@hookspec
def yutang_member_referred(event: Event, tenant: TenantInfo) -> None:
    """A member registered with a referrer (``data["referrer_id"]``). Kind: event after commit.

    Example::

        @api.hookimpl
        async def yutang_member_referred(event, tenant):
            referrer = event.data["referrer_id"]
    """
