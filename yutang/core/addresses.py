"""Members' address books, and the destination of a checkout."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from tortoise.transactions import in_transaction

from yutang.core.accounts import Phone
from yutang.core.contract import TenantInfo
from yutang.core.errors import DomainError, NotFound
from yutang.core.models import Address
from yutang.core.regions import Destination, RegionCode, check_hierarchy

MAX_ADDRESSES = 50
Receiver = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Detail = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class AddressInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """An address book entry; the district may be empty where a city has none."""

    receiver: Receiver
    phone: Phone
    province: RegionCode
    city: RegionCode
    detail: Detail
    district: RegionCode | None = None
    is_default: bool = False


class CheckoutAddress(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """Where a checkout delivers: a saved address, or the region codes (all a quote
    needs) with the receiver, phone and street address (what placeOrder needs)."""

    address_id: int | None = None
    province: RegionCode | None = None
    city: RegionCode | None = None
    district: RegionCode | None = None
    receiver: Annotated[str, msgspec.Meta(max_length=64)] = ""
    phone: Annotated[str, msgspec.Meta(max_length=32)] = ""
    detail: Annotated[str, msgspec.Meta(max_length=200)] = ""


def destination_of(row: Address) -> Destination:
    """The destination of a saved address."""
    return Destination(
        province=row.province,
        city=row.city,
        district=row.district,
        receiver=row.receiver,
        phone=row.phone,
        detail=row.detail,
    )


async def resolve(tenant: TenantInfo, member_id: int | None, data: CheckoutAddress) -> Destination:
    """The destination a checkout names; errors name ``address.<field>``."""
    if data.address_id is not None:
        if data.province or data.city or data.district:
            raise DomainError(
                "INVALID", "give an address id or region codes, not both", "address.addressId"
            )
        if member_id is None:
            raise DomainError("UNAUTHENTICATED", "log in to use saved addresses", "address")
        row = await Address.get_or_none(
            tenant_id=tenant.id, member_id=member_id, id=data.address_id
        )
        if row is None:
            raise NotFound("address", "address.addressId")
        return destination_of(row)
    if data.province is None:
        raise DomainError("REQUIRED", "give an address id or a province code", "address.province")
    check_hierarchy(data.province, data.city or "", data.district or "", "address")
    return Destination(
        province=data.province,
        city=data.city or "",
        district=data.district or "",
        receiver=data.receiver.strip(),
        phone=data.phone.strip(),
        detail=data.detail.strip(),
    )


async def addresses(tenant: TenantInfo, member_id: int) -> list[Address]:
    """A member's address book: the default first, then the newest."""
    return await Address.filter(tenant_id=tenant.id, member_id=member_id).order_by(
        "-is_default", "-id"
    )


async def save_address(
    tenant: TenantInfo, member_id: int, data: AddressInput, address_id: int | None = None
) -> Address:
    """Create or change an address; the first one, or one marked default, is the default."""
    check_hierarchy(data.province, data.city, data.district or "", "input")
    fields: dict[str, Any] = {
        "receiver": data.receiver.strip(),
        "phone": data.phone,
        "province": data.province,
        "city": data.city,
        "district": data.district or "",
        "detail": data.detail.strip(),
    }
    async with in_transaction():
        mine = Address.filter(tenant_id=tenant.id, member_id=member_id)
        if address_id is None:
            count = await mine.count()
            if count >= MAX_ADDRESSES:
                raise DomainError("LIMIT_REACHED", f"at most {MAX_ADDRESSES} addresses", "input")
            row = await Address.create(
                tenant_id=tenant.id,
                member_id=member_id,
                is_default=data.is_default or count == 0,
                **fields,
            )
        else:
            found = await mine.filter(id=address_id).first()
            if found is None:
                raise NotFound("address", "id")
            row = found
            await Address.filter(id=row.id).update(**fields)
            for key, value in fields.items():
                setattr(row, key, value)
        if data.is_default:
            await make_default(tenant, member_id, row)
    return row


async def make_default(tenant: TenantInfo, member_id: int, row: Address) -> None:
    """Make ``row`` the member's only default address."""
    await (
        Address.filter(tenant_id=tenant.id, member_id=member_id, is_default=True)
        .exclude(id=row.id)
        .update(is_default=False)
    )
    await Address.filter(id=row.id).update(is_default=True)
    row.is_default = True


async def delete_address(tenant: TenantInfo, member_id: int, address_id: int) -> None:
    """Delete an address; when it was the default, the newest other one becomes it."""
    async with in_transaction():
        row = await Address.get_or_none(tenant_id=tenant.id, member_id=member_id, id=address_id)
        if row is None:
            raise NotFound("address", "id")
        await Address.filter(id=row.id).delete()
        if row.is_default:
            newest = (
                await Address.filter(tenant_id=tenant.id, member_id=member_id)
                .order_by("-id")
                .first()
            )
            if newest is not None:
                await make_default(tenant, member_id, newest)
