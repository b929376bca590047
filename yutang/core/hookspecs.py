"""Every hook a Yutang plugin may implement.

Each hook is one of these kinds, named in its docstring:

- **registration**: called once per process while the app is built (sync; no I/O);
- **in-transaction (may veto)**: awaited inside the database transaction of the
  operation that calls it; raising :class:`yutang.api.DomainError` rolls the whole
  operation back and reports the error to the caller;
- **event after commit**: written to the outbox in the transaction of the change, then
  delivered by the job worker after commit, at least once. Handlers must be idempotent
  (``event.id`` identifies a delivery). A handler that raises is retried with backoff.

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
| yutang_accept_member | in-transaction (may veto) |
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

    from yutang.core.contract import (
        Activity,
        CheckoutContext,
        ErrorCodes,
        Event,
        FulfilmentMethod,
        GraphQLContribution,
        JobHandler,
        PaymentProvider,
        Permission,
        PriceStep,
        ReleasedLine,
        RewardKind,
        TenantInfo,
        VerificationProvider,
    )

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
def yutang_activities() -> list[Activity[Any]] | None:
    """Return the line activity kinds this plugin owns (seckill, group buy, bargain).

    Kind: registration. Each is an :class:`yutang.api.Activity` whose ``kind`` (a
    lower-case identifier no other plugin registers) is what a checkout line names in
    ``activity.plugin``. The core resolves a kind's lines once per checkout into its
    claim and calls the kind's methods for those lines and their orders only.
    """


@hookspec
def yutang_fulfilment_methods() -> list[FulfilmentMethod[Any]] | None:
    """Return the fulfilment methods this plugin owns (the core owns ``delivery``).

    Kind: registration. Each is an :class:`yutang.api.FulfilmentMethod`; a checkout picks
    one by ``name`` and the core calls only that one: its fee, whether it needs an
    address, its reservation, its hold.
    """


@hookspec
def yutang_reward_kinds() -> list[RewardKind] | None:
    """Return the reward kinds this plugin grants (the core grants ``points``).

    Kind: registration. Each is an :class:`yutang.api.RewardKind`; ``api.grant_reward``
    and ``api.revoke_reward`` call the one of the reward's ``kind``.
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


# --- in-transaction (may veto) ------------------------------------------------------------


@hookspec
def yutang_validate_checkout(checkout: CheckoutContext) -> None:
    """Check a quote or order; raise DomainError naming the field to veto.

    Kind: in-transaction (may veto). Runs after the activities resolved their lines and
    the fulfilment method its choice, before pricing, for quote and placeOrder (in
    placeOrder's transaction). ``checkout.lines[i]`` carries sku, product, quantity and
    the line's activity reference; raise with ``field=f"lines[{i}]..."``.
    """


@hookspec
def yutang_reserve(checkout: CheckoutContext, order_id: int, state: Any) -> None:
    """Take what the order holds of this plugin's (lock the coupon it uses, record the
    points it earned) for a placed order.

    Kind: in-transaction (may veto). Runs in placeOrder's transaction after the core took
    SKU stock and the activities and the fulfilment method reserved theirs. ``state`` is
    what this plugin's price steps kept for this checkout with ``draft.keep`` (None if
    nothing): the core hands it over, so no step needs a side channel.
    """


@hookspec
def yutang_release(
    tenant: TenantInfo, order_id: int, lines: list[ReleasedLine], reason: str
) -> None:
    """Give back what this plugin's :func:`yutang_reserve` took, for lines of an order
    being cancelled or refunded.

    Kind: in-transaction (may veto). ``lines`` are :class:`yutang.api.ReleasedLine`s with
    the units going back; ``reason`` is ``"cancelled"`` or ``"refunded"``. Called for
    every plugin that took part in the order, even if since disabled.
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
