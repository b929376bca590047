"""Scopes of goods and when two of them overlap.

A scope covers all goods, chosen products, categories (with their subcategories, as the
catalogue lists them) or the products carrying any of some tags. Two scopes overlap when
some product can fall under both: when either is all goods, when they name a common
product, category or tag, or when a product of the catalogue falls under both now (a tag
scope and a product scope overlap when the product carries the tag). The catalogue moves
after a rule is saved; a quote then gives a product to the rule saved first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from yutang import api
from yutang.plugins.fullreduction.models import FullreductionRule

ALL, PRODUCTS, CATEGORIES, TAGS = "all", "products", "categories", "tags"


@dataclass(frozen=True, slots=True)
class Scope:
    """The goods a rule covers: ``ids`` of products or categories, or ``tags``."""

    kind: str
    ids: frozenset[int]
    tags: frozenset[str]

    @classmethod
    def of(cls, kind: str, ids: Iterable[int], tags: Iterable[str]) -> Scope:
        """A rule's scope from its ``scope``, ``scope_ids`` and ``scope_tags``."""
        return cls(kind, frozenset(ids), frozenset(tags))

    @classmethod
    def of_rule(cls, rule: FullreductionRule) -> Scope:
        """A saved rule's scope."""
        return cls.of(rule.scope, rule.scope_ids, rule.scope_tags)

    def covers(
        self, product_id: int, categories: Iterable[int | None], tags: Iterable[str]
    ) -> bool:
        """Whether a product (its category and that category's parent, its tags) is covered."""
        if self.kind == PRODUCTS:
            return product_id in self.ids
        if self.kind == CATEGORIES:
            return not self.ids.isdisjoint(categories)
        if self.kind == TAGS:
            return not self.tags.isdisjoint(tags)
        return True

    def covers_line(self, line: api.CheckoutLine) -> bool:
        """Whether a checkout line is covered."""
        return self.covers(line.product_id, (line.category_id, line.category_parent_id), line.tags)

    def covers_product(self, product: api.ProductView) -> bool:
        """Whether a product of the catalogue is covered."""
        categories = (product.category_id, product.category_parent_id)
        return self.covers(product.id, categories, product.tags)

    def names_with(self, other: Scope) -> bool:
        """Whether the two scopes are all goods or name a common product, category or tag."""
        if ALL in (self.kind, other.kind):
            return True
        return self.kind == other.kind and bool(self.ids & other.ids or self.tags & other.tags)


async def goods(tenant: api.TenantInfo, scope: Scope) -> list[api.ProductView]:
    """The catalogue's products a scope covers now (none for all goods: it needs no look)."""
    if scope.kind == PRODUCTS:
        return await api.product_views(tenant, ids=scope.ids)
    if scope.kind == CATEGORIES:
        return await api.product_views(tenant, category_ids=scope.ids)
    if scope.kind == TAGS:
        return await api.product_views(tenant, tags=scope.tags)
    return []


def overlap(mine: Scope, theirs: Scope, my_goods: list[api.ProductView]) -> str | None:
    """What two scopes share, in words, or None when no product can fall under both;
    ``my_goods`` are the products ``mine`` covers."""
    if mine.names_with(theirs):
        return "the same goods"
    found = next((p for p in my_goods if theirs.covers_product(p)), None)
    return None if found is None else f"the same goods ({found.name})"
