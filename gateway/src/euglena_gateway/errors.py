"""Errors the gateway raises on purpose, and the HTTP status each one maps to at the edge.

::

    GatewayError                     (500, only if raised bare)
    ├── BadRequest                   400
    ├── Unauthorized                 401  missing, malformed, expired or badly signed token
    ├── Forbidden                    403  valid token, not allowed (e.g. anon key, not service role)
    ├── NotFound                     404  absent, or not the caller's
    ├── Conflict                     409  e.g. cancelling a finished task
    ├── PayloadTooLarge              413
    ├── QuotaExceeded                429  daily tick quota
    └── ServiceUnavailable           503  a dependency is down (from euglena DependencyUnavailable)

Routes raise these; the problem-JSON handlers in ``http.problems`` turn them into
``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(GatewayError):
    status_code, code = 400, "bad_request"


class Unauthorized(GatewayError):
    status_code, code = 401, "unauthorized"


class Forbidden(GatewayError):
    status_code, code = 403, "forbidden"


class NotFound(GatewayError):
    status_code, code = 404, "not_found"


class Conflict(GatewayError):
    status_code, code = 409, "conflict"


class PayloadTooLarge(GatewayError):
    status_code, code = 413, "payload_too_large"


class QuotaExceeded(GatewayError):
    status_code, code = 429, "quota_exceeded"


class ServiceUnavailable(GatewayError):
    status_code, code = 503, "service_unavailable"
