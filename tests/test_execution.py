"""The plain-tree executor answers exactly as graphql-core's generic execution does."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest
import strawberry
from strawberry.extensions import ParserCache
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from yutang.graphql.execution import Executor


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Price:
    amount: int
    formatted: str


@strawberry.type
class Variant:
    code: str
    colour: Colour
    price: Price
    tags: list[str]


@strawberry.type
class Item:
    id: strawberry.ID
    name: str
    note: str | None
    variants: list[Variant]
    cheapest: Price | None

    @strawberry.field
    def shout(self, times: int = 1) -> str:
        return self.name.upper() * times


def items(broken: bool) -> list[Item]:
    """Two items; with ``broken`` one variant's non-null ``code`` is None."""
    price = Price(amount=100, formatted="¥1.00")
    return [
        Item(
            id=strawberry.ID(str(n)),
            name=f"item {n}",
            note=None if n else "first",
            variants=[
                Variant(
                    code=None if broken and n == 1 and v == 1 else f"{n}-{v}",  # type: ignore[arg-type]
                    colour=Colour.RED if v else Colour.BLUE,
                    price=price,
                    tags=["a", "b"][: v + 1],
                )
                for v in range(2)
            ],
            cheapest=price if n else None,
        )
        for n in range(2)
    ]


@strawberry.type
class Query:
    @strawberry.field
    def items(self, broken: bool = False) -> list[Item]:
        return items(broken)


def schema(executor: type) -> strawberry.Schema:
    """A schema whose parse cache hands out one document per query text, as ours does,
    so plans are shared between executions."""
    return strawberry.Schema(
        query=Query, execution_context_class=executor, extensions=[lambda: ParserCache(maxsize=100)]
    )


SCHEMAS = {
    "ours": schema(Executor),
    "generic": schema(StrawberryGraphQLCoreExecutionContext),
}


QUERIES = [
    "{ items { id name note cheapest { amount } "
    "variants { code colour price { amount formatted } tags } } }",
    "{ items { __typename first: name again: name variants { __typename c: code } } }",
    "{ items { name shout(times: 2) variants { code } } }",
    "query($full: Boolean!) { items { name note @include(if: $full) "
    "variants { code @skip(if: $full) price { ...P } } } } fragment P on Price { amount }",
    "{ items { ... on Item { name variants { ... on Variant { tags } } } } }",
]


def run(executor: str, query: str, broken: bool, variables: dict[str, Any]) -> dict[str, Any]:
    if broken:
        query = query.replace("{ items {", "{ items(broken: true) {", 1)
    result = SCHEMAS[executor].execute_sync(query, variable_values=variables)
    return {
        "data": result.data,
        "errors": [(e.message, e.path) for e in result.errors or []],
    }


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("broken", [False, True])
@pytest.mark.parametrize("full", [False, True])
def test_same_answer_as_graphql_core(query: str, broken: bool, full: bool) -> None:
    variables = {"full": full}
    ours = run("ours", query, broken, variables)
    generic = run("generic", query, broken, variables)
    assert json.dumps(ours, ensure_ascii=False) == json.dumps(generic, ensure_ascii=False)
    skipped = "@skip" in query and full
    assert bool(ours["errors"]) == (broken and "code" in query and not skipped)


def test_a_null_in_a_non_null_field_is_located() -> None:
    query = "{ items { variants { code } } }"
    result = run("ours", query, True, {})
    message = "Cannot return null for non-nullable field Variant.code."
    assert result["errors"] == [(message, ["items", 1, "variants", 1, "code"])]
    assert result["data"] is None  # every position up to the root is non-null


def test_documents_alike_in_their_operation_do_not_share_plans() -> None:
    """graphql-core nodes compare by content: two documents with the same operation and
    other fragments must still get their own plans, which go with their document."""
    import gc

    from graphql import parse
    from graphql.execution.collect_fields import FragmentDetails

    from yutang.graphql.execution import _SHARED, _plans_for

    def plans(text: str) -> tuple[Any, dict[Any, Any]]:
        document = parse(text)
        operation, fragment = document.definitions
        return document, _plans_for(operation, {"F": FragmentDetails(fragment)})  # type: ignore[arg-type]

    operation = "query Q { items { ...F } }"
    first, first_plans = plans(operation + " fragment F on Item { name }")
    second, second_plans = plans(operation + " fragment F on Item { id note }")
    assert first.definitions[0] == second.definitions[0]
    assert first_plans is not second_plans
    entries = len(_SHARED)
    del first, second
    gc.collect()
    assert len(_SHARED) == entries - 2
