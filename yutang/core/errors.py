"""Expected failures: a code, the input field at fault, and a message for people."""

from __future__ import annotations


class DomainError(Exception):
    """A failure the caller can act on (sold out, limit reached, bad field).

    GraphQL mutations turn it into ``errors { code field message }``; a transaction
    that raises it writes nothing.
    """

    def __init__(
        self, code: str, message: str, field: str | None = None, *, extra: object = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.extra = extra

    @property
    def extensions(self) -> dict[str, object]:
        """What a GraphQL error built from this one carries (graphql-core reads it)."""
        return {"code": self.code, "field": self.field}

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.message!r}, field={self.field!r})"


class NotFound(DomainError):
    """The object does not exist for this tenant (or does not exist at all)."""

    def __init__(self, what: str, field: str | None = None) -> None:
        super().__init__("NOT_FOUND", f"{what} not found", field)


class Forbidden(DomainError):
    """The caller is authenticated as someone who may not do this."""

    def __init__(self, message: str = "permission denied") -> None:
        super().__init__("FORBIDDEN", message)


class TooManyAttempts(DomainError):
    """Too many failed logins or codes asked for: refused, whatever was sent, until the
    oldest counted attempt leaves its window ``retry_after`` seconds from now."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "TOO_MANY_ATTEMPTS", f"too many attempts; try again in {retry_after} seconds"
        )
        self.retry_after = retry_after

    @property
    def extensions(self) -> dict[str, object]:
        """The code, and ``retryAfter`` in seconds."""
        return {**super().extensions, "retryAfter": self.retry_after}


class ConfigError(Exception):
    """Invalid configuration found at start-up; the message names file, key and reason."""
