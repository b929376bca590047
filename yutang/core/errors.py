"""Expected failures: a code, the input field at fault, and a message for people."""

from __future__ import annotations

import re
from collections.abc import Mapping


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


class ErrorCodes:
    """The error codes a plugin declares, each ``<PLUGIN>_<WHAT>`` with what it means.

    Declared codes are listed by ``yutang plugins`` and checked twice: the namespace here
    and, at registration, that the owner is the registered plugin and that no two plugins
    declare one code. Raising through :meth:`error` refuses an undeclared code, so a
    plugin's own codes never leave its namespace. The core's shared codes (``INVALID``,
    ``NOT_FOUND``, ``FORBIDDEN``, ``UNAUTHENTICATED``, ``CONFLICT``) need no declaration.
    """

    def __init__(self, plugin: str, codes: Mapping[str, str]) -> None:
        pattern = re.escape(plugin.upper()) + r"_[A-Z0-9_]*[A-Z0-9]"
        for code, meaning in codes.items():
            if not re.fullmatch(pattern, code):
                raise ConfigError(
                    f"plugin {plugin!r}: error code {code!r} must look like {plugin.upper()}_WHAT"
                )
            if not meaning.strip():
                raise ConfigError(f"plugin {plugin!r}: error code {code!r} needs a meaning")
        self.plugin = plugin
        self.codes = dict(codes)

    def error(self, code: str, message: str, field: str | None = None) -> DomainError:
        """A :class:`DomainError` with a declared ``code`` (undeclared: a bug, KeyError)."""
        if code not in self.codes:
            raise KeyError(f"plugin {self.plugin!r} did not declare the error code {code!r}")
        return DomainError(code, message, field)
