"""The core's tortoise models (app label ``core``)."""

from yutang.core.models.catalog import Category, Product, ProductImage, Sku
from yutang.core.models.checkout import Address, Cart, CartLine, Shipment, ShippingTemplate
from yutang.core.models.gateways import GatewayCredentials
from yutang.core.models.jobs import Job, JobKey, JobLane
from yutang.core.models.members import Member, MemberLevel, PointsEntry, VerificationCode
from yutang.core.models.orders import (
    IdempotencyRecord,
    Instalment,
    Order,
    OrderLine,
    Payment,
    Refund,
)
from yutang.core.models.persisted import PersistedOperation
from yutang.core.models.tenancy import (
    AuditEntry,
    AuthToken,
    Operator,
    Staff,
    StaffRole,
    Store,
    StoreStaff,
    Tenant,
    TenantDomain,
)
from yutang.core.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "Address",
    "AuditEntry",
    "AuthToken",
    "Cart",
    "CartLine",
    "Category",
    "GatewayCredentials",
    "IdempotencyRecord",
    "Instalment",
    "Job",
    "JobKey",
    "JobLane",
    "Member",
    "MemberLevel",
    "Operator",
    "Order",
    "OrderLine",
    "Payment",
    "PersistedOperation",
    "PointsEntry",
    "Product",
    "ProductImage",
    "Refund",
    "Shipment",
    "ShippingTemplate",
    "Sku",
    "Staff",
    "StaffRole",
    "Store",
    "StoreStaff",
    "Tenant",
    "TenantDomain",
    "VerificationCode",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
]
