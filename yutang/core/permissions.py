"""Who may do what: the core's permissions, a caller's grants, and the one check.

Every admin field names one declared permission (the core's below, each plugin's from
``yutang_permissions``). A caller's *grants* are resolved once per request: an operator
or an owner holds everything everywhere; a manager or a clerk holds what each permission
grants the role by default; a role an owner made holds exactly its list. A role bound to
its stores (the clerk, or a made role without ``all_stores``) exercises a store-scoped
permission only on its own stores' objects; an object of no store (a delivery order)
is then out of reach.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from yutang.core.auth import Principal
from yutang.core.contract import ROLES, Permission
from yutang.core.errors import DomainError, Forbidden
from yutang.core.models import StaffRole, StoreStaff

CORE_PERMISSIONS = (
    Permission(
        "core.catalog.view", "see products, categories and shipping templates", ("clerk", "manager")
    ),
    Permission(
        "core.catalog.manage",
        "change products, SKUs, stock, categories and shipping templates",
        ("manager",),
    ),
    Permission(
        "core.orders.view",
        "see orders with their address and phone",
        ("clerk", "manager"),
        store_scoped=True,
    ),
    Permission(
        "core.orders.ship",
        "ship orders and hand them over",
        ("clerk", "manager"),
        store_scoped=True,
    ),
    Permission(
        "core.orders.refund",
        "refund orders and decide refund requests",
        ("manager",),
        store_scoped=True,
    ),
    Permission("core.members.view", "see members and their phone numbers", ("manager",)),
    Permission("core.shop.view", "see the shop's stores and member levels", ("clerk", "manager")),
    Permission(
        "core.shop.manage",
        "change stores, member levels and the storefront's allowed operations, see the "
        "tenant's settings and plugins",
        ("manager",),
    ),
    Permission("core.staff.view", "see the staff, their roles and stores", ("manager",)),
    Permission(
        "core.staff.manage",
        "add staff, change their roles, deactivate them, make roles",
        (),
        grantable=False,
    ),
    Permission("core.audit.view", "read the audit log of staff actions", (), grantable=False),
    Permission(
        "core.webhooks.manage",
        "see and change the webhook subscriptions that send the shop's orders and members to "
        "outside systems, their secrets and deliveries",
        (),
    ),
    Permission(
        "core.payments.credentials",
        "see which payment providers are set up and set their credentials",
        (),
        grantable=False,
    ),
)


@dataclass(frozen=True, slots=True)
class Grants:
    """What a caller may do in one tenant: ``everything`` (operators, owners) or the
    names in ``permissions``; store-scoped ones everywhere when ``stores`` is None, else
    at those stores only."""

    role: str
    everything: bool
    permissions: frozenset[str]
    stores: frozenset[int] | None

    def holds(self, name: str) -> bool:
        return self.everything or name in self.permissions

    def reaches(self, permission: Permission, store_id: int | None) -> bool:
        """Whether a held ``permission`` extends to an object of ``store_id``."""
        if not permission.store_scoped or self.stores is None:
            return True
        return store_id is not None and store_id in self.stores


def default_grants(permissions: Mapping[str, Permission], role: str) -> frozenset[str]:
    """The declared permissions a built-in ``role`` holds by default."""
    return frozenset(name for name, p in permissions.items() if role in p.roles)


async def grants_for(
    permissions: Mapping[str, Permission], tenant_id: int, principal: Principal | None
) -> Grants:
    """The caller's grants in ``tenant_id``; UNAUTHENTICATED for anyone who is not its
    staff or an operator (a deactivated staff member has no principal at all)."""
    if principal is not None and principal.kind == "operator":
        return Grants("operator", True, frozenset(), None)
    if principal is None or principal.kind != "staff" or principal.tenant_id != tenant_id:
        raise DomainError("UNAUTHENTICATED", "log in as staff first")
    role = principal.role or ""
    if role == "owner":
        return Grants(role, True, frozenset(), None)
    if role in ROLES:
        held, all_stores = default_grants(permissions, role), role == "manager"
    else:
        made = await StaffRole.get_or_none(tenant_id=tenant_id, key=role)
        kept = made.permissions if made else ()
        held = frozenset(n for n in kept if n in permissions and permissions[n].grantable)
        all_stores = made is not None and made.all_stores
    stores = None
    if not all_stores:
        links = StoreStaff.filter(tenant_id=tenant_id, staff_id=principal.id)
        stores = frozenset(int(r["store_id"]) for r in await links.values("store_id"))
    return Grants(role, False, frozenset(held), stores)


def check(
    permissions: Mapping[str, Permission],
    grants: Grants,
    name: str,
    store_id: int | None = None,
    *,
    scoped: bool = False,
) -> None:
    """Refuse (FORBIDDEN) unless ``grants`` hold permission ``name`` — for the object of
    ``store_id`` when ``scoped``. An undeclared name is a bug (LookupError), never a pass."""
    permission = permissions.get(name)
    if permission is None:
        raise LookupError(f"nothing declares the permission {name!r}")
    if not grants.holds(name):
        raise Forbidden(f"needs permission {name}")
    if scoped and not grants.reaches(permission, store_id):
        raise Forbidden(f"{name} reaches only your own stores")
