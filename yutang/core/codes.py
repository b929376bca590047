"""The core's error codes, each with when it is raised.

A plugin raises these and its own declared ``<PLUGIN>_<WHAT>`` codes
(:class:`~yutang.core.contract.ErrorCodes`), nothing else. The shared codes are the
gestures every plugin meets (a window not open, a limit reached, sold out), each with one
meaning, so a frontend handles them the same way whichever plugin refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

SHARED: Mapping[str, str] = MappingProxyType(
    {
        "INVALID": "malformed or out-of-bounds input; `field` names it",
        "REQUIRED": "an input the operation needs is missing; `field` names it",
        "DUPLICATE": "the input names one thing twice; `field` is the second occurrence",
        "NOT_FOUND": "no such object for this tenant or caller",
        "UNAUTHENTICATED": "log in (as a member, or as staff) first",
        "FORBIDDEN": "signed in, but without the role or permission for this",
        "CONFLICT": "the object changed meanwhile; the same request may succeed if retried",
        "TOO_MANY_ATTEMPTS": "throttled; `retryAfter` says how many seconds to wait",
        "IDEMPOTENCY_KEY_REUSED": "the idempotency key was already used for another request",
        "ILLEGAL_TRANSITION": "the object's status does not allow this; the message names it",
        "NOT_OPEN": "the activity, offer or template is not running now (before it, between "
        "its sessions, after it, or stopped); its `status` or `phase` says which",
        "EXPIRED": "this coupon, team, prize claim or bargain passed its own deadline for good",
        "NOT_APPLICABLE": "the activity or coupon named does not cover this SKU, line or order",
        "NOT_ELIGIBLE": "the member does not meet the conditions set for this",
        "LIMIT_EXCEEDED": "this request alone asks for more than the per-member limit",
        "LIMIT_REACHED": "what the caller already holds or used, with this request, passes a "
        "cap; the message names the cap and its period (unpaid orders count)",
        "SOLD_OUT": "the activity's or offer's own allocation cannot cover the request; the "
        "SKU may still sell outside it",
        "OVERLAP": "it clashes in time and scope with another live activity or rule",
        "ORDER_ALONE": "this line's activity is ordered on its own; `field` names another line",
        "GATEWAY_ERROR": "the payment gateway refused the call or could not be reached; the "
        "message says which (nothing was recorded: the same request may be sent again)",
    }
)
"""Codes any plugin may raise, one meaning each."""

CORE_ONLY: Mapping[str, str] = MappingProxyType(
    {
        "ADDRESS_REQUIRED": "a delivery needs an address to deliver to",
        "AFTER_SALE_CLOSED": "the after-sale window of this completed order has closed",
        "AMOUNT_MISMATCH": "a gateway captured another amount than the payment's",
        "CODE_EXPIRED": "no usable verification code (expired, used or burnt): ask for a new one",
        "CODE_REQUIRED": "this shop asks for a verification code to sign up",
        "DOMAIN_TAKEN": "that host name is already another tenant's domain",
        "DUPLICATE_TRACKING": "that tracking number is already on another parcel of the order",
        "EMPTY_CART": "no cart line is selected to check out",
        "FULFILMENT_HELD": "a plugin holds the order (a group-buy team not yet complete)",
        "INSTALMENT_NOT_OPEN": "the order's next instalment cannot be paid yet; the message "
        "says from when",
        "INSUFFICIENT_POINTS": "the member has fewer points than this needs",
        "INSUFFICIENT_STOCK": "the SKU's own stock cannot cover the quantity",
        "INVALID_CODE": "the verification code is wrong",
        "INVALID_CREDENTIALS": "wrong login or password",
        "LAST_OWNER": "the tenant's last active owner must stay an active owner",
        "NOTHING_TO_SHIP": "every unit of the order is shipped or refunded",
        "NOT_DELIVERABLE": "the product is not delivered to this region",
        "NOT_DELIVERY": "the order goes another way than delivery (pickup, virtual)",
        "NOT_REFUNDABLE": "the order cannot be refunded in its status, or nothing is left (units "
        "an open refund request holds are not left: `field` names the line's quantity)",
        "NO_REWARD_PROVIDER": "no enabled plugin grants this kind of reward",
        "PAYMENT_EXPIRED": "the time to pay has run out",
        "PHONE_TAKEN": "that phone number is already registered",
        "PLUGIN_DISABLED": "`extensions` holds input for a plugin the shop does not enable "
        "(`field` names it), or the document asks for a field of such a plugin (a GraphQL "
        "error whose `extensions.plugin` names it)",
        "PROVIDER_NOT_CONFIGURED": "the payment provider is not set up for this shop: its "
        "owner sets its credentials first",
        "PRICE_CHANGED": "the price moved since the quote the client saw; the new one is sent",
        "ROLE_IN_USE": "staff still hold this role: give them another one first",
        "SECRETS_UNAVAILABLE": "the deployment cannot seal or open stored secrets (no "
        "`YUTANG_SECRET_KEYS`, or none that opens them)",
        "SLUG_TAKEN": "that tenant slug exists",
        "TENANT_SUSPENDED": "the shop is suspended",
        "UNAVAILABLE": "the product is not on sale",
        "UNKNOWN_EXTENSION": "`extensions` names a plugin that is not installed or takes no "
        "input here",
        "USERNAME_TAKEN": "that staff username exists",
        "VERIFICATION_UNAVAILABLE": "verification codes cannot be sent now",
        "WRONG_FULFILMENT": "the product cannot be ordered with this fulfilment method",
    }
)
"""Codes only the core raises."""

CORE: Mapping[str, str] = MappingProxyType({**SHARED, **CORE_ONLY})
"""Every code of the core: what a plugin may raise besides its own."""

REQUEST: Mapping[str, str] = MappingProxyType(
    {
        "BAD_REQUEST": "the HTTP request is malformed (two X-Tenant headers, a body that is "
        "no GraphQL request)",
        "TOO_LARGE": "the request body is larger than the deployment allows",
        "QUERY_TOO_LONG": "the GraphQL document is longer than allowed",
        "TOO_MANY_TOKENS": "the GraphQL document has more tokens than allowed",
        "QUERY_TOO_COSTLY": "the query's computed cost passes the limit; both are in the error",
        "INTROSPECTION_DISABLED": "introspection is for staff on the admin API in production",
        "PERSISTED_QUERY_NOT_FOUND": "no persisted query has that hash: send the document",
        "PERSISTED_QUERY_NOT_ALLOWED": "this endpoint serves allowlisted documents only",
    }
)
"""Codes of refusals before GraphQL runs: in ``errors[].extensions.code`` of the
response, never in a payload's ``errors``."""
