"""Every hook a Yutang plugin may implement.

Each hook is one of three kinds, named in its docstring:

- **registration**: called once per process while the app is built (sync; no I/O);
- **in-transaction (may veto)**: awaited inside the database transaction of the
  operation that calls it; raising :class:`yutang.api.DomainError` rolls the whole
  operation back and reports the error to the caller;
- **admission**: awaited before the operation's transaction, on the request as sent;
  raising :class:`yutang.api.DomainError` refuses it before anything is read or written;
- **event after commit**: written to the outbox in the transaction of the change, then
  delivered by the job worker after commit, at least once. Handlers must be idempotent
  (``event.id`` identifies a delivery). A handler that raises is retried with backoff.

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
| yutang_fulfilment_methods | registration |
| yutang_payment_providers | registration |
| yutang_verification_providers | registration |
| yutang_permissions | registration |
| yutang_error_codes | registration |
| yutang_admit_order | admission (before the transaction, may refuse) |
| yutang_validate_checkout | in-transaction (may veto) |
| yutang_reserve_stock | in-transaction (may veto) |
| yutang_release_stock | in-transaction (may veto) |
| yutang_payment_deadline | in-transaction (may veto) |
| yutang_fulfilment_hold | in-transaction (may veto) |
| yutang_claim_payment | in-transaction (may veto) |
| yutang_grant_reward | in-transaction (may veto) |
| yutang_revoke_reward | in-transaction (may veto) |
| yutang_accept_member | in-transaction (may veto) |
| yutang_accept_payment | in-transaction (may veto) |
| yutang_next_price_change | query (outside any transaction) |
| yutang_order_placed | event after commit |
| yutang_order_paid | event after commit |
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

    from yutang.core.auth import Permission
    from yutang.core.errors import ErrorCodes
    from yutang.core.events import Event, FulfilmentMethod, GraphQLContribution, JobHandler, Reward
    from yutang.core.payments import PaymentProvider
    from yutang.core.pricing import CheckoutContext, LineInput, PriceStep
    from yutang.core.tenancy import TenantInfo
    from yutang.core.verification import VerificationProvider

hookspec = pluggy.HookspecMarker("yutang")
hookimpl = pluggy.HookimplMarker("yutang")

# --- registration -----------------------------------------------------------------


@hookspec(historic=True)
def yutang_add_hookspecs(plugin_manager: pluggy.PluginManager) -> None:
    """Declare hookspecs of this plugin's own for other plugins to implement.

    Kind: registration. Called once when the plugin is registered; call
    ``plugin_manager.add_hookspecs(module)`` (e.g. a distributor's payout provider).
    """


@hookspec(firstresult=True)
def yutang_models() -> str | None:
    """Return the dotted module holding this plugin's tortoise models, or None.

    Kind: registration. The plugin becomes its own tortoise app labelled with the
    plugin's name; its migrations live in the sibling ``migrations`` package and every
    table name must start with ``<plugin>_``. Migrations are applied whether or not a
    tenant enables the plugin (tables exist; rows are per tenant).
    """


@hookspec(firstresult=True)
def yutang_settings_schema() -> type[msgspec.Struct] | None:
    """Return the msgspec Struct that validates this plugin's settings.

    Kind: registration. Settings come from ``plugins.toml`` (profile, then tenant) and
    from per-tenant overrides stored by platform operators; every layer is validated by
    this Struct. A plugin reads them with ``tenant.setting(name, Struct)``.
    """


@hookspec(firstresult=True)
def yutang_input_schema(operation: str) -> type[msgspec.Struct] | None:
    """Return the Struct that validates this plugin's input for ``operation``.

    Kind: registration. ``operation`` is ``"checkout"`` (quote, placeOrder) or
    ``"register"``. The client sends ``extensions: {"<plugin>": {...}}``; the core
    validates the value with this Struct and errors name ``extensions.<plugin>.<field>``.
    """


@hookspec
def yutang_graphql_storefront() -> GraphQLContribution | None:
    """Return this plugin's storefront GraphQL contribution (fields, types, extensions).

    Kind: registration. Present only in the schemas of tenants that enable the plugin.
    Fields that touch the database must batch through a DataLoader from
    ``info.context.loader(...)``.
    """


@hookspec
def yutang_graphql_admin() -> GraphQLContribution | None:
    """Return this plugin's admin GraphQL contribution.

    Kind: registration. As :func:`yutang_graphql_storefront`, for ``/admin/graphql``.
    """


@hookspec
def yutang_price_steps() -> list[PriceStep] | None:
    """Return the pricing steps this plugin runs, each with its stage and priority.

    Kind: registration (the steps themselves run in the quote, which is pure: they read,
    never write). Stages run in the fixed order activity → member price → promotions →
    coupons → points → fees; within a stage, ascending priority, then plugin name.
    """


@hookspec
def yutang_jobs() -> dict[str, JobHandler] | None:
    """Return durable job handlers by name (``"<plugin>.<job>"``).

    Kind: registration. Schedule with ``yutang.api.schedule_job`` inside a transaction.
    A handler runs inside the transaction that marks the job done, so its database
    effect happens exactly once; it runs even after the tenant disabled the plugin.
    """


@hookspec
def yutang_fulfilment_methods() -> list[FulfilmentMethod] | None:
    """Return fulfilment methods this plugin adds besides delivery (e.g. pickup).

    Kind: registration.
    """


@hookspec
def yutang_payment_providers() -> list[PaymentProvider] | None:
    """Return payment providers (real gateways) this plugin adds.

    Kind: registration. See :class:`yutang.api.PaymentProvider` for the contract:
    create a payment, verify an asynchronous callback, refund asynchronously.
    """


@hookspec
def yutang_verification_providers() -> list[VerificationProvider] | None:
    """Return providers that deliver one-time codes to phones (SMS gateways).

    Kind: registration. See :class:`yutang.api.VerificationProvider`: a provider only
    sends; the core makes each code, stores its hash, expires it, counts its attempts and
    limits how often codes are sent. A tenant picks one by name with the core setting
    ``verification_provider``.
    """


@hookspec(firstresult=True)
def yutang_permissions() -> list[Permission] | None:
    """Return the permissions this plugin's admin resolvers require, or None.

    Kind: registration. Each is ``api.Permission("<plugin>.<what>", description, roles)``,
    ``roles`` the staff roles (owner, manager, clerk) granted it by default; operators and
    owners hold every permission. A resolver checks one with ``api.require_permission``.
    """


@hookspec(firstresult=True)
def yutang_error_codes() -> ErrorCodes | None:
    """Return ``api.ErrorCodes("<plugin>", {code: meaning})``, this plugin's own codes.

    Kind: registration. Every code is ``<PLUGIN>_<WHAT>`` (upper case) and unique across
    plugins; raise one with ``codes.error(code, message, field)``, which refuses an
    undeclared code. The core's shared codes (``INVALID``, ``NOT_FOUND``, ...) need none.
    """


# --- admission ---------------------------------------------------------------------------


@hookspec
def yutang_admit_order(tenant: TenantInfo, member_id: int, lines: list[LineInput]) -> None:
    """Refuse a placeOrder early from what this plugin knows without a transaction.

    Kind: admission (before the transaction, may refuse). Called with the lines as sent
    (not for orders from the cart), before the core claims the idempotency key or reads
    anything; raise DomainError naming ``lines[{i}]...`` to refuse. Refuse only what the
    transaction would refuse too (the in-transaction hooks still decide every order that
    gets through), and write nothing. A refused request whose key was already answered is
    replayed instead, so a retry still gets its order.
    """


# --- in-transaction (may veto) ------------------------------------------------------------


@hookspec
def yutang_validate_checkout(checkout: CheckoutContext) -> None:
    """Check the lines of a quote or order; raise DomainError naming the line to veto.

    Kind: in-transaction (may veto). Runs before pricing for quote and placeOrder, in
    placeOrder's transaction. ``checkout.lines[i]`` carries sku, product, quantity and the
    line's activity reference; raise with ``field=f"lines[{i}]..."``.
    """


@hookspec
def yutang_reserve_stock(checkout: CheckoutContext, order_id: int) -> None:
    """Take this plugin's own stock (activity units) for a placed order.

    Kind: in-transaction (may veto). Runs in placeOrder's transaction after the core
    decremented SKU stock. Use a conditional UPDATE; raise DomainError when sold out.
    """


@hookspec
def yutang_release_stock(
    tenant: TenantInfo, order_id: int, lines: list[dict[str, Any]], reason: str
) -> None:
    """Give back this plugin's stock for lines of an order being cancelled or refunded.

    Kind: in-transaction (may veto). ``lines`` are ``{"line_id", "sku_id", "quantity",
    "activity_plugin", "activity_ref"}``; ``reason`` is ``"cancelled"`` or ``"refunded"``.
    Called for every plugin that took part in the order, even if since disabled.
    """


@hookspec
def yutang_payment_deadline(checkout: CheckoutContext, default: datetime) -> datetime | None:
    """Return an earlier payment deadline for this order, or None to keep ``default``.

    Kind: in-transaction (may veto). The core takes the earliest of all answers (seckill: 5 min).
    """


@hookspec
def yutang_fulfilment_hold(tenant: TenantInfo, order_id: int) -> str | None:
    """Return a reason to refuse shipping or pickup of this order now, or None.

    Kind: in-transaction (may veto). Example: a group-buy team not yet succeeded.
    """


@hookspec(firstresult=True)
def yutang_claim_payment(tenant: TenantInfo, order_id: int, payment_id: int) -> bool | None:
    """Claim a captured payment for an order that can no longer take it; True claims.

    Kind: in-transaction (may veto). Runs in the payment's transaction when the order was cancelled
    or expired. A claiming plugin takes responsibility (e.g. seats the member in another
    team); if none claims, the core refunds the payment in full.
    """


@hookspec(firstresult=True)
def yutang_grant_reward(tenant: TenantInfo, member_id: int, reward: Reward) -> bool | None:
    """Grant ``reward`` if this plugin provides ``reward.kind``; True when handled.

    Kind: in-transaction (may veto), in the caller's transaction. The core provides ``points``.
    Idempotent per ``reward.reference``.
    """


@hookspec(firstresult=True)
def yutang_revoke_reward(tenant: TenantInfo, member_id: int, reward: Reward) -> bool | None:
    """Revoke a reward granted earlier with the same reference; True when handled.

    Kind: in-transaction (may veto). Points are deducted (never below zero), an unused
    coupon voided.
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
    """


@hookspec
def yutang_accept_payment(tenant: TenantInfo, order_id: int, paid_at: datetime) -> None:
    """Do what must hold the moment an order's payment commits (a group-buy leader's
    team opens, so a friend following the shared link at once can join).

    Kind: in-transaction (may veto), in the transaction that marks the order paid (a
    captured payment, or a zero-amount order being placed), for the plugins that took part
    in the order and those enabled. ``yutang_order_paid`` follows after commit. Keep it
    short; raising rolls the payment's recording back (the gateway will send it again).
    """


@hookspec
def yutang_next_price_change(tenant: TenantInfo, now: datetime) -> datetime | None:
    """Return the next moment a price this plugin controls changes, or None.

    Kind: query, outside any transaction. A response cache must not serve a catalogue
    response past the earliest answer (a seckill session's start or end).
    """


# --- events after commit ---------------------------------------------------------------


@hookspec
def yutang_order_placed(event: Event, tenant: TenantInfo) -> None:
    """An order was placed. Kind: event after commit."""


@hookspec
def yutang_order_paid(event: Event, tenant: TenantInfo) -> None:
    """An order was paid (``event.data["amount"]``). Kind: event after commit."""


@hookspec
def yutang_order_cancelled(event: Event, tenant: TenantInfo) -> None:
    """An unpaid order was cancelled (``data["reason"]``). Kind: event after commit."""


@hookspec
def yutang_order_fulfilled(event: Event, tenant: TenantInfo) -> None:
    """An order was shipped or picked up. Kind: event after commit."""


@hookspec
def yutang_order_completed(event: Event, tenant: TenantInfo) -> None:
    """An order was completed (received). Kind: event after commit."""


@hookspec
def yutang_order_refunded(event: Event, tenant: TenantInfo) -> None:
    """A refund was approved and booked on the order's lines; the money itself returns
    through the payment provider asynchronously. ``data`` holds ``refund_id``, ``amount``,
    ``lines`` (line_id, quantity, amount, points each) and ``full`` (nothing is left to
    refund: every line that cost money or points went back, and the order's free lines,
    such as gifts, are in ``lines`` with this last refund).

    Kind: event after commit.
    """


@hookspec
def yutang_after_sale_closed(event: Event, tenant: TenantInfo) -> None:
    """The after-sale window of a completed order closed; fires once per order.

    Kind: event after commit.
    """


@hookspec
def yutang_member_registered(event: Event, tenant: TenantInfo) -> None:
    """A member registered (``data["extensions"]`` holds validated register input).

    Kind: event after commit.
    """


@hookspec
def yutang_member_referred(event: Event, tenant: TenantInfo) -> None:
    """A member registered with a referrer (``data["referrer_id"]``). Kind: event after commit."""
