"""The request edge: small layers in front of GraphQL, composed in ``yutang.app.edge``.

Outermost first; 1–5 are plain ASGI around the litestar app (``front.Front``: a hit
or a refused body needs no route), 6–9 litestar middleware:

1. ``naming.NameTenant`` — the tenant the request names (``X-Tenant``, a payment
   callback's path, or a tenant's own domain as its host); 400 when they disagree.
2. ``cors.Preflight`` — an allowed origin's preflight answered (``YUTANG_CORS_ORIGINS``,
   or the named tenant's own origins).
3. ``documents.DocumentLimit`` — a body over the endpoint's size (413) or a document over
   the token or length limit is refused before anything reads or parses it.
4. ``operation.ReadOperation`` — the storefront request decoded once into an
   ``Operation`` for the layers behind.
5. ``response_cache.ResponseCache`` — anonymous storefront reads answered from the
   store, before any database work; misses go on.
6. ``identity.Identity`` — tenant and caller resolved once into a ``RequestIdentity``
   (404/403 tenant, 401 token), read by everything behind.
7. ``persisted.PersistedQueries`` — a persisted hash resolved to its document; the
   allowlist.
8. ``admission.Admission`` — a placeOrder the plugins refuse answered without GraphQL
   (``YUTANG_FRONT_ADMISSION``).
9. ``response_cache.CacheFill`` — a miss's answer kept, if it may be, with its expiry
   computed before GraphQL runs.

Then the GraphQL controllers, whose schemas check query cost and introspection before
execution (``yutang.graphql.limits``). Every response, whoever answers it (a layer,
GraphQL, litestar's own 404/405), passes the front's hooks on ``send``: security headers
and ``no-store`` by default (``headers``), CORS headers (``cors``).

The edge takes from ``yutang.graphql`` only schema assembly and input conversion, never a
resolver module; the GraphQL layer reads what the edge hands on (``identity``,
``operation``) and the shared parse and lookups (``documents``, ``persisted``).
"""
