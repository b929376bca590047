"""The admin schema's core roots: catalogue, orders, refunds, members, staff, tenants."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import msgspec
import strawberry
from strawberry.scalars import JSON
from strawberry.types.field import StrawberryField
from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from yutang.core import catalog as core_catalog
from yutang.core import fulfilment, refunds, searches, tenants
from yutang.core.contract import GraphQLContribution
from yutang.core.errors import DomainError, NotFound
from yutang.core.inputs import bounded, convert
from yutang.core.models import Member as MemberRow
from yutang.core.models import MemberLevel, Staff, Store, StoreStaff, Tenant
from yutang.core.models import Order as OrderRow
from yutang.core.models import Refund as RefundRow
from yutang.graphql import catalog
from yutang.graphql.accounts import StaffAccountMutation
from yutang.graphql.after_sale import RefundStatus
from yutang.graphql.context import Context
from yutang.graphql.domains import DomainsMutation, DomainsQuery
from yutang.graphql.gateways import GatewaysMutation, GatewaysQuery
from yutang.graphql.ids import pk_of
from yutang.graphql.inputs import RefundRequestInput, refund_data
from yutang.graphql.jobs import JobsMutation, JobsQuery
from yutang.graphql.orders import Order, Refund, member_nodes, order_node, order_page, refund_node
from yutang.graphql.payloads import OrderPayload, RefundPayload, attempt
from yutang.graphql.permissions import (
    OPERATORS,
    Requires,
    admin_field,
    admin_mutation,
    reach_order,
    store_scope,
)
from yutang.graphql.roles import RolesMutation, RolesQuery
from yutang.graphql.shipping import ShippingMutation, ShippingQuery
from yutang.graphql.staff import StaffMember, StaffMutation, StaffPayload, staff_nodes
from yutang.graphql.statuses import OrderStatus, TenantStatus
from yutang.graphql.types import (
    Category,
    Connection,
    Member,
    Money,
    Node,
    Product,
    Sku,
    UserError,
    gid,
    keyset_page,
)
from yutang.graphql.webhooks import WebhooksMutation, WebhooksQuery

Info = strawberry.Info[Context, None]


@strawberry.type
class StoreNode(Node):
    name: str
    address: str


@strawberry.type
class InstalledPlugin:
    name: str
    version: str
    enabled: bool
    hooks: list[str]


@strawberry.type
class TenantNode:
    slug: str
    name: str
    profile: str
    status: TenantStatus
    time_zone: str
    currency: str
    settings_version: int
    plugins: list[str]
    settings: JSON


@strawberry.type
class MemberLevelNode:
    name: str
    min_spend: Money
    discount_percent: int


@strawberry.input
class SkuInput:
    price: int
    specs: JSON | None = None
    stock: int = 0
    code: str = ""
    weight_grams: int = 0
    shipping_template_id: strawberry.ID | None = None


@strawberry.input
class ProductInput:
    name: str
    description: str = ""
    category_id: strawberry.ID | None = None
    published: bool = False
    virtual: bool = False
    spec_names: list[str] | None = None
    images: list[str] | None = None
    skus: list[SkuInput] | None = None
    tags: list[str] | None = None


@strawberry.type
class ProductPayload:
    product: Product | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SkuPayload:
    sku: Sku | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CategoryPayload:
    category: Category | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeletePayload:
    deleted: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class StorePayload:
    store: StoreNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TenantPayload:
    tenant: TenantNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class MemberLevelPayload:
    level: MemberLevelNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def product_data(inp: ProductInput) -> core_catalog.ProductInput:
    """The validated core input of a product."""
    raw: dict[str, Any] = {
        "name": inp.name,
        "description": inp.description,
        "published": inp.published,
        "virtual": inp.virtual,
        "specNames": inp.spec_names or [],
        "images": inp.images or [],
        "tags": inp.tags or [],
    }
    if inp.category_id is not None:
        raw["categoryId"] = pk_of(inp.category_id, "Category", "categoryId")
    if inp.skus is not None:
        raw["skus"] = [
            {
                "price": s.price,
                "specs": s.specs or {},
                "stock": s.stock,
                "code": s.code,
                "weightGrams": s.weight_grams,
                "shippingTemplateId": pk_of(
                    s.shipping_template_id, "ShippingTemplate", f"skus[{i}].shippingTemplateId"
                )
                if s.shipping_template_id
                else None,
            }
            for i, s in enumerate(inp.skus)
        ]
    return convert(raw, core_catalog.ProductInput)


async def _product(ctx: Context, pk: int) -> Product:
    found = await catalog.one_product(ctx.tenant, pk, published_only=False)
    if found is None:
        raise NotFound("product", "id")
    return found


def tenant_node(ctx: Context, row: Tenant) -> TenantNode:
    """A tenant with its effective plugin set."""
    info = ctx.runtime.tenants.from_row(row)
    return TenantNode(
        slug=row.slug,
        name=row.name,
        profile=row.profile,
        status=TenantStatus(row.status),
        time_zone=row.time_zone,
        currency=row.currency,
        settings_version=row.settings_version,
        plugins=sorted(info.plugins - {"core"}),
        settings=JSON(
            {k: msgspec.to_builtins(v) for k, v in info.settings.items() if v is not None}
        ),
    )


async def order_member(root: Order, info: Info) -> Member | None:
    """Who placed the order (batched across orders)."""
    ctx = info.context
    tenant = ctx.tenant

    async def load(keys: Sequence[int]) -> list[Member | None]:
        owners = await OrderRow.filter(tenant_id=tenant.id, id__in=keys).values_list(
            "id", "member_id"
        )
        placed_by = {int(order): int(member) for order, member in owners}
        rows = await MemberRow.filter(tenant_id=tenant.id, id__in=set(placed_by.values()))
        nodes = {m.pk: m for m in await member_nodes(tenant, rows)}
        return [nodes.get(placed_by.get(k, 0)) for k in keys]

    found = await ctx.loader("order_member", load).load(root.pk)
    return cast(Member | None, found)


def admin_contribution() -> GraphQLContribution:
    """The core's fields on admin types that the storefront shares: the member of an
    order, for staff who may see members."""
    member = cast(
        StrawberryField,
        strawberry.field(
            resolver=order_member,
            extensions=[Requires("core.members.view")],
            description="Who placed it (needs core.members.view).",
        ),
    )
    member.python_name = "member"
    return GraphQLContribution(extend={"Order": [member]})


@strawberry.type(name="Query")
class AdminQuery(ShippingQuery, RolesQuery, DomainsQuery, WebhooksQuery, JobsQuery, GatewaysQuery):
    @admin_field("core.catalog.view", description="Every product, published or not.")
    async def products(
        self, info: Info, first: int = 20, after: str | None = None, search: str | None = None
    ) -> Connection[Product]:
        return await catalog.product_page(
            info.context.tenant, first, after, published_only=False, search=search
        )

    @admin_field("core.catalog.view")
    async def product(self, info: Info, id: strawberry.ID) -> Product | None:
        return await catalog.one_product(
            info.context.tenant, pk_of(id, "Product"), published_only=False
        )

    @admin_field("core.catalog.view")
    async def categories(self, info: Info) -> list[Category]:
        return await catalog.categories(info.context.tenant)

    @admin_field(
        "core.orders.view",
        description="Orders, newest first; each filter given must hold: the order number, "
        "the member's phone (exact), the status, placed in [`createdFrom`, `createdTo`), "
        "the store. A store-bound role sees its stores' orders only.",
    )
    async def orders(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        status: OrderStatus | None = None,
        number: str | None = None,
        member_phone: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        store_id: strawberry.ID | None = None,
    ) -> Connection[Order]:
        ctx = info.context
        search = searches.OrderSearch(
            number=number,
            member_phone=member_phone,
            status=None if status is None else str(status.value),
            created_from=created_from,
            created_to=created_to,
            store_id=pk_of(store_id, "Store", "storeId") if store_id is not None else None,
            stores=await store_scope(ctx, "core.orders.view"),
        )
        return await order_page(ctx.tenant, searches.orders(ctx.tenant, search), first, after)

    @admin_field("core.orders.view")
    async def order(self, info: Info, id: strawberry.ID) -> Order | None:
        ctx = info.context
        row = await OrderRow.get_or_none(tenant_id=ctx.tenant.id, id=pk_of(id, "Order"))
        stores = await store_scope(ctx, "core.orders.view")
        if row is None or (stores is not None and row.store_id not in stores):
            return None
        return order_node(ctx.tenant, row)

    @admin_field(
        "core.orders.view",
        description="Refunds and refund requests, newest first, by status or of one order; "
        "a store-bound role sees those of its stores' orders.",
    )
    async def refunds(
        self,
        info: Info,
        status: RefundStatus | None = None,
        order_id: strawberry.ID | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[Refund]:
        ctx = info.context
        tenant = ctx.tenant
        query = RefundRow.filter(tenant_id=tenant.id)
        stores = await store_scope(ctx, "core.orders.view")
        if stores is not None:
            reached = OrderRow.filter(tenant_id=tenant.id, store_id__in=sorted(stores) or [0])
            query = query.filter(order_id__in=Subquery(reached.values("id")))
        if status is not None:
            query = query.filter(status=status.value)
        if order_id is not None:
            query = query.filter(order_id=pk_of(order_id, "Order", "orderId"))
        return await keyset_page(
            query, first, after, lambda rows: [refund_node(tenant.currency, r) for r in rows]
        )

    @admin_field(
        "core.members.view",
        description="Members, oldest first; each filter given must hold: the phone (exact), "
        "the nickname (contains, any case), the name of the level their spend reached.",
    )
    async def members(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        phone: str | None = None,
        nickname: str | None = None,
        level: str | None = None,
    ) -> Connection[Member]:
        ctx = info.context
        search = searches.MemberSearch(phone=phone, nickname=nickname, level=level)
        return await keyset_page(
            await searches.members(ctx.tenant, search),
            first,
            after,
            lambda rows: member_nodes(ctx.tenant, rows),
            newest_first=False,
        )

    @admin_field("core.staff.view")
    async def staff(self, info: Info) -> list[StaffMember]:
        ctx = info.context
        rows = await Staff.filter(tenant_id=ctx.tenant.id).order_by("id")
        return await staff_nodes(ctx.tenant.id, rows)

    @admin_field("core.shop.view")
    async def stores(self, info: Info) -> list[StoreNode]:
        ctx = info.context
        rows = await Store.filter(tenant_id=ctx.tenant.id).order_by("id")
        return [StoreNode(id=gid("Store", s.id), name=s.name, address=s.address) for s in rows]

    @admin_field("core.shop.view")
    async def member_levels(self, info: Info) -> list[MemberLevelNode]:
        ctx = info.context
        rows = await MemberLevel.filter(tenant_id=ctx.tenant.id).order_by("min_spend")
        return [
            MemberLevelNode(
                name=r.name,
                min_spend=Money.of(r.min_spend, ctx.tenant.currency),
                discount_percent=r.discount_percent,
            )
            for r in rows
        ]

    @admin_field(
        "core.shop.manage", description="This tenant: profile, enabled plugins, effective settings."
    )
    async def tenant(self, info: Info) -> TenantNode:
        ctx = info.context
        return tenant_node(ctx, await Tenant.get(id=ctx.tenant.id))

    @admin_field(
        "core.shop.manage", description="Installed plugins and whether this tenant enables them."
    )
    async def plugins(self, info: Info) -> list[InstalledPlugin]:
        ctx = info.context
        return [
            InstalledPlugin(
                name=p.name,
                version=p.version,
                enabled=p.name in ctx.tenant.plugins,
                hooks=list(p.hooks),
            )
            for p in ctx.runtime.registry.plugins.values()
            if p.name != "core"
        ]

    @admin_field(OPERATORS, description="Every tenant, oldest first (platform operators only).")
    async def tenants(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[TenantNode]:
        ctx = info.context
        page = keyset_page(
            cast("QuerySet[Any]", Tenant.all()),
            first,
            after,
            lambda rows: [tenant_node(ctx, t) for t in rows],
            newest_first=False,
        )
        return await page


@strawberry.type(name="Mutation")
class AdminMutation(
    ShippingMutation,
    StaffAccountMutation,
    StaffMutation,
    RolesMutation,
    DomainsMutation,
    WebhooksMutation,
    GatewaysMutation,
    JobsMutation,
):
    @admin_mutation("core.catalog.manage")
    async def create_product(self, info: Info, input: ProductInput) -> ProductPayload:
        ctx = info.context

        async def run() -> Product:
            row = await core_catalog.save_product(ctx.tenant, product_data(input))
            return await _product(ctx, row.id)

        product, errors = await attempt(run)
        return ProductPayload(product=product, errors=errors)

    @admin_mutation("core.catalog.manage")
    async def update_product(
        self, info: Info, id: strawberry.ID, input: ProductInput
    ) -> ProductPayload:
        ctx = info.context

        async def run() -> Product:
            row = await core_catalog.save_product(
                ctx.tenant, product_data(input), pk_of(id, "Product")
            )
            return await _product(ctx, row.id)

        product, errors = await attempt(run)
        return ProductPayload(product=product, errors=errors)

    @admin_mutation("core.catalog.manage")
    async def delete_product(self, info: Info, id: strawberry.ID) -> DeletePayload:
        ctx = info.context

        async def run() -> bool:
            await core_catalog.delete_product(ctx.tenant, pk_of(id, "Product"))
            return True

        done, errors = await attempt(run)
        return DeletePayload(deleted=bool(done), errors=errors)

    @admin_mutation("core.catalog.manage")
    async def update_sku(
        self, info: Info, id: strawberry.ID, price: int | None = None, specs: JSON | None = None
    ) -> SkuPayload:
        ctx = info.context

        async def run() -> Sku:
            spec_map = None if specs is None else convert(specs, dict[str, str], "specs")
            row = await core_catalog.update_sku(ctx.tenant, pk_of(id, "Sku"), price, spec_map)
            product = await _product(ctx, row.product_id)
            return next(s for s in product.skus if s.pk == row.id)

        sku, errors = await attempt(run)
        return SkuPayload(sku=sku, errors=errors)

    @admin_mutation(
        "core.catalog.manage", description="Add (or, with a negative delta, remove) stock."
    )
    async def adjust_stock(self, info: Info, sku_id: strawberry.ID, delta: int) -> SkuPayload:
        ctx = info.context

        async def run() -> Sku:
            row = await core_catalog.adjust_stock(ctx.tenant, pk_of(sku_id, "Sku", "skuId"), delta)
            product = await _product(ctx, row.product_id)
            return next(s for s in product.skus if s.pk == row.id)

        sku, errors = await attempt(run)
        return SkuPayload(sku=sku, errors=errors)

    @admin_mutation("core.catalog.manage")
    async def save_category(
        self,
        info: Info,
        name: str,
        id: strawberry.ID | None = None,
        parent_id: strawberry.ID | None = None,
    ) -> CategoryPayload:
        ctx = info.context

        async def run() -> Category:
            row = await core_catalog.save_category(
                ctx.tenant,
                name,
                pk_of(parent_id, "Category", "parentId") if parent_id else None,
                pk_of(id, "Category") if id else None,
            )
            return catalog.category_node(row.id, row.name, row.parent_id)

        category, errors = await attempt(run)
        return CategoryPayload(category=category, errors=errors)

    @admin_mutation("core.catalog.manage")
    async def delete_category(self, info: Info, id: strawberry.ID) -> DeletePayload:
        ctx = info.context

        async def run() -> bool:
            await core_catalog.delete_category(ctx.tenant, pk_of(id, "Category"))
            return True

        done, errors = await attempt(run)
        return DeletePayload(deleted=bool(done), errors=errors)

    @admin_mutation("core.orders.ship", description="Mark a paid order shipped/handed over.")
    async def fulfil_order(self, info: Info, order_id: strawberry.ID) -> OrderPayload:
        ctx = info.context

        async def run() -> OrderRow:
            pk = pk_of(order_id, "Order", "orderId")
            await reach_order(ctx, "core.orders.ship", pk)
            return await fulfilment.fulfil_order(ctx.tenant, pk)

        row, errors = await attempt(run)
        return OrderPayload(order=order_node(ctx.tenant, row) if row else None, errors=errors)

    @admin_mutation(
        "core.orders.refund", description="Refund lines (all when none are given); idempotent."
    )
    async def refund_order(self, info: Info, input: RefundRequestInput) -> RefundPayload:
        ctx = info.context

        async def run() -> RefundRow:
            staff = await ctx.principal()
            assert staff is not None
            data = refund_data(input)
            await reach_order(ctx, "core.orders.refund", data.order_id)
            return await refunds.refund_now(ctx.tenant, f"{staff.kind}:{staff.id}", data)

        row, errors = await attempt(run)
        return RefundPayload(
            refund=refund_node(ctx.tenant.currency, row) if row else None, errors=errors
        )

    @admin_mutation(
        "core.orders.refund", description="Approve or reject a member's refund request."
    )
    async def decide_refund(
        self, info: Info, refund_id: strawberry.ID, approve: bool
    ) -> RefundPayload:
        ctx = info.context

        async def run() -> RefundRow:
            pk = pk_of(refund_id, "Refund", "refundId")
            order = await RefundRow.filter(tenant_id=ctx.tenant.id, id=pk).values_list("order_id")
            if order:
                await reach_order(ctx, "core.orders.refund", order[0][0])
            return await refunds.decide_refund(ctx.tenant, pk, approve)

        row, errors = await attempt(run)
        return RefundPayload(
            refund=refund_node(ctx.tenant.currency, row) if row else None, errors=errors
        )

    @admin_mutation("core.staff.manage")
    async def create_staff(
        self, info: Info, username: str, password: str, role: str, name: str = ""
    ) -> StaffPayload:
        ctx = info.context

        async def run() -> StaffMember:
            row = await tenants.create_staff(ctx.tenant.id, username, password, role, name)
            return (await staff_nodes(ctx.tenant.id, [row]))[0]

        staff, errors = await attempt(run)
        return StaffPayload(staff=staff, errors=errors)

    @admin_mutation("core.shop.manage")
    async def create_store(self, info: Info, name: str, address: str = "") -> StorePayload:
        ctx = info.context

        async def run() -> StoreNode:
            if not name.strip():
                raise DomainError("INVALID", "a store needs a name", "name")
            bounded(name, "name", 200)
            bounded(address, "address", 500)
            row = await Store.create(tenant_id=ctx.tenant.id, name=name, address=address)
            return StoreNode(id=gid("Store", row.id), name=row.name, address=row.address)

        store, errors = await attempt(run)
        return StorePayload(store=store, errors=errors)

    @admin_mutation("core.staff.manage", description="Make a staff member belong to a store.")
    async def assign_store_staff(
        self, info: Info, store_id: strawberry.ID, staff_id: strawberry.ID
    ) -> StaffPayload:
        ctx = info.context

        async def run() -> StaffMember:
            store = await Store.get_or_none(
                tenant_id=ctx.tenant.id, id=pk_of(store_id, "Store", "storeId")
            )
            staff = await Staff.get_or_none(
                tenant_id=ctx.tenant.id, id=pk_of(staff_id, "Staff", "staffId")
            )
            if store is None:
                raise NotFound("store", "storeId")
            if staff is None:
                raise NotFound("staff", "staffId")
            await StoreStaff.get_or_create(tenant_id=ctx.tenant.id, store=store, staff=staff)
            return (await staff_nodes(ctx.tenant.id, [staff]))[0]

        staff, errors = await attempt(run)
        return StaffPayload(staff=staff, errors=errors)

    @admin_mutation(
        "core.shop.manage", description="Create or change the level reached at `minSpend`."
    )
    async def save_member_level(
        self, info: Info, name: str, min_spend: int, discount_percent: int
    ) -> MemberLevelPayload:
        ctx = info.context

        async def run() -> MemberLevelNode:
            if min_spend < 0:
                raise DomainError("INVALID", "cannot be negative", "minSpend")
            if not 0 < discount_percent <= 100:
                raise DomainError("INVALID", "between 1 and 100", "discountPercent")
            bounded(name, "name", 64)
            await MemberLevel.update_or_create(
                tenant_id=ctx.tenant.id,
                min_spend=min_spend,
                defaults={"name": name, "discount_percent": discount_percent},
            )
            return MemberLevelNode(
                name=name,
                min_spend=Money.of(min_spend, ctx.tenant.currency),
                discount_percent=discount_percent,
            )

        level, errors = await attempt(run)
        return MemberLevelPayload(level=level, errors=errors)

    @admin_mutation(
        OPERATORS,
        description="Create a tenant on a profile (platform operators), with its first "
        "owner when `ownerUsername` and `ownerPassword` are given.",
    )
    async def create_tenant(
        self,
        info: Info,
        slug: str,
        name: str,
        profile: str = "default",
        time_zone: str = "Asia/Shanghai",
        currency: str = "CNY",
        owner_username: str | None = None,
        owner_password: str | None = None,
    ) -> TenantPayload:
        ctx = info.context

        async def run() -> TenantNode:
            if (owner_username is None) != (owner_password is None):
                missing = "ownerPassword" if owner_password is None else "ownerUsername"
                raise DomainError("INVALID", "give the owner's username and password", missing)
            owner = None
            if owner_username is not None and owner_password is not None:
                owner = tenants.Owner(owner_username, owner_password)
            row = await tenants.create_tenant(
                ctx.runtime, slug, name, profile, time_zone, currency, owner
            )
            return tenant_node(ctx, row)

        tenant, errors = await attempt(run)
        return TenantPayload(tenant=tenant, errors=errors)

    @admin_mutation(
        OPERATORS,
        description="Change a tenant's profile, plugin set, settings overrides or status "
        "(platform operators); takes effect on every worker at once.",
    )
    async def update_tenant(
        self,
        info: Info,
        slug: str,
        profile: str | None = None,
        plugins: list[str] | None = None,
        settings: JSON | None = None,
        status: TenantStatus | None = None,
    ) -> TenantPayload:
        ctx = info.context

        async def run() -> TenantNode:
            if settings is not None and not isinstance(settings, dict):
                raise DomainError("INVALID", "an object keyed by plugin", "settings")
            row = await tenants.set_tenant_plugins(
                ctx.runtime,
                slug,
                profile=profile,
                plugins=plugins,
                settings=settings,
                status=None if status is None else str(status.value),
            )
            return tenant_node(ctx, row)

        tenant, errors = await attempt(run)
        return TenantPayload(tenant=tenant, errors=errors)
