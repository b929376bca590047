"""GraphiQL works offline: its page, on both endpoints, loads only files the app itself
serves (the exact files strawberry's page pins), and production has no IDE."""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser

import pytest
from strawberry.http.ides import get_graphql_ide_html

from yutang.core.contract import TenantInfo
from yutang.core.runtime import Runtime
from yutang.graphiql import ASSETS, CDN, STATIC
from yutang.testing import app_with, client_of

PAGE = {"X-Tenant": "shop", "Accept": "text/html"}
KINDS = {".js": "text/javascript", ".css": "text/css"}


class Loads(HTMLParser):
    """Every URL a page loads (``src`` and ``href``), with its ``integrity``."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            url = found.get(name)
            if url is not None:
                self.urls[url] = found.get("integrity")


def loads(page: str) -> dict[str, str | None]:
    parser = Loads()
    parser.feed(page)
    return parser.urls


def sri(body: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


@pytest.mark.parametrize("path", ["/graphql", "/admin/graphql"])
async def test_the_ide_page_loads_only_what_the_app_serves(
    yutang_db: Runtime, tenant: TenantInfo, path: str
) -> None:
    async with client_of(app_with(yutang_db)) as http:
        page = await http.get(path, headers=PAGE)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        urls = loads(page.text)
        files = {url: pinned for url, pinned in urls.items() if not url.startswith("data:")}
        assert sorted(files) == sorted(f"/graphiql/{asset.name}" for asset in ASSETS)
        for url, pinned in files.items():
            # as a browser asks: no X-Tenant, and the default tenant does not exist
            served = await http.get(url)
            assert served.status_code == 200, url
            kind = KINDS[url[url.rindex(".") :]]
            assert served.headers["content-type"] == f"{kind}; charset=utf-8", url
            assert sri(served.content) == pinned, url  # the very file strawberry pins
            cache = served.headers["cache-control"]
            assert "max-age=31536000" in cache and "immutable" in cache, url
            assert served.headers["x-content-type-options"] == "nosniff"


async def test_the_page_names_no_other_host(yutang_db: Runtime, tenant: TenantInfo) -> None:
    async with client_of(app_with(yutang_db)) as http:
        page = (await http.get("/graphql", headers=PAGE)).text
    assert "://" not in "".join(url for url in loads(page) if not url.startswith("data:"))
    assert "unpkg" not in page


async def test_only_the_shipped_files_are_served(yutang_db: Runtime) -> None:
    async with client_of(app_with(yutang_db)) as http:
        for name in ("NOTICE.md", "licenses", "..%2F__init__.py", "graphiql.min.js"):
            assert (await http.get(f"/graphiql/{name}")).status_code == 404, name


async def test_production_has_no_ide(yutang_db: Runtime, tenant: TenantInfo) -> None:
    async with client_of(app_with(yutang_db, production=True)) as http:
        page = await http.get("/graphql", headers=PAGE)
        assert not page.headers.get("content-type", "").startswith("text/html")
        assert "graphiql" not in page.text.lower()
        asset = await http.get(f"/graphiql/{ASSETS[0].name}")
        assert asset.status_code == 404


def test_every_file_of_strawberrys_page_is_shipped_unchanged() -> None:
    original = loads(get_graphql_ide_html("graphiql"))
    pinned = {url: pin for url, pin in original.items() if url.startswith("https://")}
    shipped = {f"{CDN}{a.cdn}": sri((STATIC / a.name).read_bytes()) for a in ASSETS}
    assert shipped == pinned
