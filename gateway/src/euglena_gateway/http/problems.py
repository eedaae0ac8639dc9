"""The HTTP edge of every error: one table of status, code and severity; one body shape.

Every error the gateway answers, from a route, from FastAPI's validation or from the ASGI
middleware (413, 504), is ``{"error": {"code", "message", "details"}}`` (``details`` is null
when there are none), never a traceback. How each is logged follows :class:`Severity`: a
refusal the API means to give at DEBUG, an outage at WARNING, anything else at ERROR with its
traceback (and a 500).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from euglena.errors import DependencyUnavailable, EuglenaError, QuotaExceeded, Severity, UnknownUser
from euglena_gateway.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    GatewayError,
    NotFound,
    Unauthorized,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rule:
    status: int
    code: str
    severity: Severity = Severity.EXPECTED


RULES: dict[type[EuglenaError], Rule] = {
    BadRequest: Rule(400, "bad_request"),
    Unauthorized: Rule(401, "unauthorized"),
    Forbidden: Rule(403, "forbidden"),
    UnknownUser: Rule(403, "unknown_user"),
    NotFound: Rule(404, "not_found"),
    Conflict: Rule(409, "conflict"),
    QuotaExceeded: Rule(429, "quota_exceeded"),
    DependencyUnavailable: Rule(503, "service_unavailable", Severity.DEGRADED),
}
"""What each error the gateway raises on purpose becomes at the edge. Any other error is a 500."""

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "quota_exceeded",
    503: "service_unavailable",
    504: "timeout",
}


_FASTAPI_BODY_ERROR = "There was an error parsing the body"
"""What FastAPI raises (400) for a body it cannot even decode (e.g. not UTF-8)."""


def problem_body(code: str, message: str, details: Any = None) -> bytes:
    """The JSON body of every error response."""
    return json.dumps({"error": {"code": code, "message": message, "details": details}}).encode()


def problem(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details}},
        status_code=status,
        headers=headers,
    )


def rule_for(exc: EuglenaError) -> Rule | None:
    return next((rule for cls, rule in RULES.items() if isinstance(exc, cls)), None)


def _message_and_details(request: Request, exc: EuglenaError) -> tuple[str, Any]:
    if isinstance(exc, QuotaExceeded):
        return str(exc), {"used": exc.used, "limit": exc.limit, "requested": exc.requested}
    if isinstance(exc, UnknownUser):
        return f"{exc}: no task can be recorded for it", None
    if isinstance(exc, DependencyUnavailable):
        # A refused submission is rolled back whole; other requests may simply be retried.
        submitting = request.method == "POST" and request.url.path == "/tasks"
        effect = "nothing was recorded, try again shortly" if submitting else "try again shortly"
        return f"{exc.dependency} is unavailable; {effect}", {"dependency": exc.dependency}
    if isinstance(exc, GatewayError):
        return exc.message, exc.details
    return str(exc), None


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (one route per method: Starlette's own
    405 names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, BaseRoute) and route.matches(request.scope)[0] is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def _validation_message(errors: list[dict[str, Any]]) -> str:
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON"
    if first.get("type") == "missing" and tuple(first.get("loc", ())) == ("body",):
        return "a JSON request body is required"
    return "; ".join(f"{_field(tuple(e.get('loc', ())))}: {e.get('msg')}" for e in errors)


def install(app: FastAPI) -> None:
    @app.exception_handler(EuglenaError)
    async def _mapped(request: Request, exc: EuglenaError) -> JSONResponse:
        rule = rule_for(exc)
        if rule is None:
            return await _unexpected(request, exc)
        message, details = _message_and_details(request, exc)
        rule.severity.log(
            log,
            "%s %s: %d %s: %s",
            request.method,
            request.url.path,
            rule.status,
            rule.code,
            exc,
            exc=exc,
        )
        if isinstance(exc, QuotaExceeded):
            request.app.state.services.metrics.quota_rejections.inc()
        return problem(rule.status, rule.code, message, details)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        return problem(422, "invalid_request", _validation_message(errors), errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = str(exc.detail)
        if exc.status_code == 400 and message == _FASTAPI_BODY_ERROR:
            message = "the request body could not be read: send UTF-8 encoded JSON"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        return problem(exc.status_code, code, message, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        Severity.UNEXPECTED.log(
            log, "unexpected error on %s %s", request.method, request.url.path, exc=exc
        )
        return problem(500, "internal_error", "an unexpected error occurred")
