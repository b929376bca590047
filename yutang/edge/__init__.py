"""The request edge: plain ASGI layers in front of litestar, outermost first.

1. ``headers.SecurityHeaders`` — security headers on every HTTP response; one ``X-Tenant``.
2. ``documents.DocumentLimit`` — a GraphQL document over the token or length limit is
   refused before anything parses it, on both GraphQL endpoints, whatever the caller.
3. ``yutang.graphql.response_cache.ResponseCache`` — persisted queries, admission of
   ``placeOrder``, the storefront response cache.

Then litestar: the tenant middleware and the GraphQL controllers, whose schemas check
query cost and introspection before execution (``yutang.graphql.limits``).
"""
