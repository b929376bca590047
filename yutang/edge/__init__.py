"""The request edge: small layers in front of GraphQL, composed in ``yutang.app.edge``.

Outermost first; 1–4 are plain ASGI around the litestar app (``front.Front``: a hit
or a refused body needs no route), 5–8 litestar middleware:

1. ``cors.Preflight`` — an allowed origin's preflight answered (``YUTANG_CORS_ORIGINS``).
2. ``documents.DocumentLimit`` — a body over the endpoint's size (413) or a document over
   the token or length limit is refused before anything reads or parses it.
3. ``operation.ReadOperation`` — the storefront request decoded once into an
   ``Operation`` for the layers behind.
4. ``response_cache.ResponseCache`` — anonymous storefront reads answered from the
   store, before any database work; misses go on.
5. ``identity.Identity`` — tenant and caller resolved once into a ``RequestIdentity``
   (400 two ``X-Tenant``, 404/403 tenant, 401 token), read by everything behind.
6. ``persisted.PersistedQueries`` — a persisted hash resolved to its document; the
   allowlist.
7. ``admission.Admission`` — a placeOrder the plugins refuse answered without GraphQL
   (``YUTANG_FRONT_ADMISSION``).
8. ``response_cache.CacheFill`` — a miss's answer kept, if it may be, with its expiry
   computed before GraphQL runs.

Then the GraphQL controllers, whose schemas check query cost and introspection before
execution (``yutang.graphql.limits``). Every response, whoever answers it (a layer,
GraphQL, litestar's own 404/405), passes the front's hooks on ``send``: security headers
and ``no-store`` by default (``headers``), CORS headers (``cors``).

The edge takes from ``yutang.graphql`` only schema assembly and input conversion, never a
resolver module; the GraphQL layer reads what the edge hands on (``identity``,
``operation``) and the shared parse and lookups (``documents``, ``persisted``).
"""
