"""The storefront's hottest reads — a page of products with their SKUs and images — in
hand-written SQL on the ORM's connection.

These three queries run on every catalogue page. Through tortoise's query builder and
value conversion they cost more than the network and the web framework together; as
plain SQL they cost what the driver costs. Everything else reads through the ORM.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import msgspec

from yutang.core.sql import Statement, json_value

PRODUCT_COLUMNS = (
    "p.id, p.name, p.description, p.published, p.virtual, p.spec_names, p.tags, p.category_id, "
    "c.name AS category_name, c.parent_id AS category_parent_id"
)


def _like_pattern(search: str) -> str:
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def product_rows(
    tenant_id: int,
    *,
    limit: int,
    after_pk: int | None = None,
    published_only: bool,
    category_pk: int | None = None,
    search: str | None = None,
    tag: str | None = None,
    pk: int | None = None,
) -> list[dict[str, Any]]:
    """Products in id order (with their category's name and parent), filtered as the
    storefront and admin lists filter them; ``search`` matches the name case-insensitively,
    ``tag`` one of the product's tags exactly."""
    q = Statement()
    where = [f"p.tenant_id = {q.arg(tenant_id)}"]
    if pk is not None:
        where.append(f"p.id = {q.arg(pk)}")
    if published_only:
        where.append(f"p.published = {q.arg(True)}")
    if category_pk is not None:
        own, child = q.arg(category_pk), q.arg(category_pk)
        where.append(f"(p.category_id = {own} OR c.parent_id = {child})")
    if search:
        like = "ILIKE" if q.postgres else "LIKE"
        where.append(f"p.name {like} {q.arg(_like_pattern(search))} ESCAPE '\\'")
    if tag is not None:
        if q.postgres:
            where.append(f"p.tags @> {q.arg(msgspec.json.encode([tag]).decode())}::jsonb")
        else:
            where.append(f"EXISTS (SELECT 1 FROM json_each(p.tags) WHERE value = {q.arg(tag)})")
    if after_pk is not None:
        where.append(f"p.id > {q.arg(after_pk)}")
    sql = (
        f"SELECT {PRODUCT_COLUMNS} FROM product p LEFT JOIN category c ON c.id = p.category_id "
        f"WHERE {' AND '.join(where)} ORDER BY p.id LIMIT {q.arg(limit)}"
    )
    rows = await q.rows(sql)
    for row in rows:
        row["published"] = bool(row["published"])
        row["virtual"] = bool(row["virtual"])
        row["spec_names"] = json_value(row["spec_names"])
        row["tags"] = json_value(row["tags"])
    return rows


async def sku_rows(tenant_id: int, product_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The SKUs of these products in id order."""
    q = Statement()
    sql = (
        "SELECT id, product_id, specs, code, price, stock, weight_grams FROM sku "
        f"WHERE tenant_id = {q.arg(tenant_id)} AND product_id {q.any_of(product_ids)} ORDER BY id"
    )
    rows = await q.rows(sql)
    for row in rows:
        row["specs"] = json_value(row["specs"])
    return rows


async def image_rows(tenant_id: int, product_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The images of these products in display order."""
    q = Statement()
    sql = (
        "SELECT product_id, url, position FROM product_image "
        f"WHERE tenant_id = {q.arg(tenant_id)} AND product_id {q.any_of(product_ids)} "
        "ORDER BY position, id"
    )
    return await q.rows(sql)


async def first_images(tenant_id: int, product_ids: Collection[int]) -> dict[int, str]:
    """The URL of each product's first image, for products that have one (cart and order
    lines show it)."""
    found: dict[int, str] = {}
    if product_ids:
        for im in await image_rows(tenant_id, list(product_ids)):
            found.setdefault(im["product_id"], im["url"])
    return found
