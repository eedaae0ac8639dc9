"""Errors the gateway raises on purpose.

::

    EuglenaError (euglena.errors)
    ├── QuotaExceeded, UnknownUser, DependencyUnavailable   (from the core and the adapters)
    └── GatewayError
        ├── BadRequest        a request the API cannot serve (e.g. a cursor it did not issue)
        ├── Unauthorized      missing, malformed, expired or badly signed token
        ├── Forbidden         a valid token that may not do this (anon key, not the service role)
        ├── NotFound          absent, or not the caller's
        └── Conflict          e.g. cancelling a finished task

The use-cases and the token verifier raise them; they know nothing of HTTP. The HTTP edge
(``http.problems``) holds the one table that gives each its status, its code and how it is
logged, and renders every error as ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

from typing import Any

from euglena.errors import EuglenaError


class GatewayError(EuglenaError):
    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(GatewayError):
    pass


class Unauthorized(GatewayError):
    pass


class Forbidden(GatewayError):
    pass


class NotFound(GatewayError):
    pass


class Conflict(GatewayError):
    pass
