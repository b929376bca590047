"""GraphiQL without a CDN: strawberry's IDE page, loading copies of its seven files that
this package ships (``static/``, versions and licences in ``static/NOTICE.md``).

strawberry's page fetches React, GraphiQL and its explorer from a public CDN, so the IDE
is a blank page offline and wherever that CDN is slow or blocked. The copies are the
exact files the page names (their SHA-384 is the page's own ``integrity`` attribute), and
their names carry their versions, so a browser may keep them for a year.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from litestar import get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File
from strawberry.http.ides import get_graphql_ide_html

from yutang.edge.asgi import EDGE_EXEMPT

PREFIX = "/graphiql"
STATIC = Path(__file__).parent / "static"
CDN = "https://unpkg.com/"
JS = "text/javascript"  # litestar adds the charset to text types
CSS = "text/css"
A_YEAR = 365 * 24 * 3600


class Asset(NamedTuple):
    """One file of the page: its path on the CDN, our copy's name, its media type."""

    cdn: str
    name: str
    media_type: str


ASSETS = (
    Asset("react@18.2.0/umd/react.production.min.js", "react-18.2.0.production.min.js", JS),
    Asset(
        "react-dom@18.2.0/umd/react-dom.production.min.js",
        "react-dom-18.2.0.production.min.js",
        JS,
    ),
    Asset("js-cookie@3.0.5/dist/js.cookie.min.js", "js-cookie-3.0.5.min.js", JS),
    Asset("graphiql@3.8.3/graphiql.min.css", "graphiql-3.8.3.min.css", CSS),
    Asset("graphiql@3.8.3/graphiql.min.js", "graphiql-3.8.3.min.js", JS),
    Asset("@graphiql/plugin-explorer@1.0.2/dist/style.css", "plugin-explorer-1.0.2.css", CSS),
    Asset("@graphiql/plugin-explorer@1.0.2/dist/index.umd.js", "plugin-explorer-1.0.2.umd.js", JS),
)


def page() -> str:
    """strawberry's GraphiQL page with every file loaded from :data:`PREFIX`.

    Raises if the page still loads something from elsewhere: a strawberry upgrade that
    moved to other versions, whose files must be shipped first.
    """
    html = get_graphql_ide_html("graphiql")
    for asset in ASSETS:
        html = html.replace(f'"{CDN}{asset.cdn}"', f'"{PREFIX}/{asset.name}"')
    external = re.findall(r'(?:src|href)="(\w+://[^"]*)"', html)
    if external:
        raise RuntimeError(f"strawberry's GraphiQL page loads {external}, not shipped here")
    return html


@get(
    f"{PREFIX}/{{name:str}}",
    opt={EDGE_EXEMPT: True},
    cache_control=CacheControlHeader(max_age=A_YEAR, public=True, immutable=True),
    include_in_schema=False,
    sync_to_thread=False,
)
def graphiql_asset(name: FromPath[str]) -> File:
    """One of :data:`ASSETS`; no tenant's, so the edge's tenant checks let it through."""
    asset = next((a for a in ASSETS if a.name == name), None)
    if asset is None:
        raise NotFoundException(f"no GraphiQL file {name!r}")
    return File(
        STATIC / asset.name,
        filename=asset.name,
        media_type=asset.media_type,
        content_disposition_type="inline",
    )
