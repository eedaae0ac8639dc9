"""Errors as JSON: ``{"error": {"code", "message", "details"}}``, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from euglena.errors import DependencyUnavailable, QuotaExceeded, UnknownUser
from euglena_gateway.errors import GatewayError

log = logging.getLogger(__name__)

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


def problem(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": body}, status_code=status, headers=headers)


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
    @app.exception_handler(GatewayError)
    async def _gateway_error(_: Request, exc: GatewayError) -> JSONResponse:
        log.info("%s: %s", exc.code, exc.message)
        return problem(exc.status_code, exc.code, exc.message, exc.details)

    @app.exception_handler(QuotaExceeded)
    async def _quota(request: Request, exc: QuotaExceeded) -> JSONResponse:
        log.info("quota: %s", exc)
        request.app.state.services.metrics.quota_rejections.inc()
        details = {"used": exc.used, "limit": exc.limit, "requested": exc.requested}
        return problem(429, "quota_exceeded", str(exc), details)

    @app.exception_handler(UnknownUser)
    async def _unknown_user(_: Request, exc: UnknownUser) -> JSONResponse:
        return problem(403, "unknown_user", f"{exc}: no task can be recorded for it")

    @app.exception_handler(DependencyUnavailable)
    async def _unavailable(_: Request, exc: DependencyUnavailable) -> JSONResponse:
        log.warning("dependency unavailable: %s", exc)
        return problem(
            503,
            "service_unavailable",
            f"{exc.dependency} is unavailable; nothing was recorded, try again shortly",
            {"dependency": exc.dependency},
        )

    @app.exception_handler(RedisError)
    async def _redis_down(request: Request, exc: RedisError) -> JSONResponse:
        if not isinstance(exc, RedisConnectionError | RedisTimeoutError):
            return await _unexpected(request, exc)
        return await _unavailable(request, DependencyUnavailable("redis", type(exc).__name__))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        return problem(422, "invalid_request", _validation_message(errors), errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return problem(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem(500, "internal_error", "an unexpected error occurred")
