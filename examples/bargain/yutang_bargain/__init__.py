"""Bargain (砍价0元购): a member starts a bargain on a SKU, friends each cut a random amount
once, and after the configured number of friends the price stands at the offer's floor (0
for "0-yuan" buys); the member buys one unit at the price reached, within the validity.

Built only on ``yutang.api``, as any third-party plugin.
"""

from __future__ import annotations

from typing import Any

import msgspec
from yutang import api

from yutang_bargain import bargains, schema
from yutang_bargain import checkout as _checkout


@api.hookimpl
def yutang_models() -> str:
    return "yutang_bargain.models"


@api.hookimpl
def yutang_settings_schema() -> type[msgspec.Struct]:
    return bargains.Settings


@api.hookimpl
def yutang_permissions() -> list[api.Permission]:
    return [api.Permission("bargain.manage", "offer SKUs for bargaining", ("manager",))]


@api.hookimpl
def yutang_error_codes() -> api.ErrorCodes:
    return bargains.CODES


@api.hookimpl
def yutang_graphql_storefront() -> api.GraphQLContribution:
    return schema.storefront()


@api.hookimpl
def yutang_graphql_admin() -> api.GraphQLContribution:
    return schema.admin()


@api.hookimpl
def yutang_activities() -> list[api.Activity[Any]]:
    return [_checkout.BargainActivity()]


@api.hookimpl
def yutang_jobs() -> dict[str, api.JobHandler]:
    return {"bargain.expire": bargains.expire}
