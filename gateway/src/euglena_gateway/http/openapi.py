"""The OpenAPI document says what the API really does: every bound, status and content type.

The routes declare their own responses (``problems(...)``: the error statuses each can give,
all with the one :class:`~euglena_gateway.http.schemas.Problem` body); this module adds what a
route cannot say itself: the bounds that come from settings (``MAX_MANDATE_LENGTH``,
``MAX_TICKS``) with the values this gateway runs with, the bearer-token security scheme, and
the statuses the edge middleware gives any route (413 for a body over ``MAX_BODY_BYTES``, 504
past ``REQUEST_TIMEOUT_SECONDS``). schemathesis checks the result against the running gateway
in the integration tier (``tests/integration/gateway/test_api_schema.py``).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from euglena_gateway.http.schemas import Problem
from euglena_gateway.settings import GatewaySettings

WHITESPACE = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""Every character ``str.isspace`` calls whitespace, spelled out: regular-expression engines
disagree on what ``\\s`` means, and the schema and the gateway must not."""
MANDATE_PATTERN = rf"^[^\x00]*[^\x00{WHITESPACE}][^\x00]*$"
"""A mandate: no NUL, and at least one character that is not whitespace."""
NOT_BLANK = re.compile(rf"[^{WHITESPACE}]")

_DESCRIPTIONS = {
    200: "OK",
    400: "A request this API cannot serve (e.g. the service role listing without ids)",
    401: "Missing, malformed, expired or badly signed bearer token",
    403: "A valid token that may not do this (the anon key, someone else's privileges)",
    404: "No such task, or not the caller's",
    409: "The task is already finished",
    413: "The request body is larger than MAX_BODY_BYTES",
    422: "The request does not match this schema",
    429: "The owner's daily tick quota would be exceeded",
    503: "A dependency (Redis, Postgres, RabbitMQ) is unavailable; nothing was changed",
    504: "The request took longer than REQUEST_TIMEOUT_SECONDS and was abandoned",
}
EVERYWHERE = (413, 504)
"""What the edge middleware may answer on any route."""


def problems(*statuses: int, timeout: bool = True) -> dict[int | str, dict[str, Any]]:
    """The error responses of a route (``responses=`` of its decorator), 413 and 504 included
    (``timeout=False`` for a stream, which has no time limit)."""
    codes = sorted({*statuses, *(s for s in EVERYWHERE if timeout or s != 504)})
    return {code: {"model": Problem, "description": _DESCRIPTIONS[code]} for code in codes}


AUTHENTICATED = (401, 403)


def install(app: FastAPI, settings: GatewaySettings) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
            )
            _settings_bounds(schema, settings)
            _security(schema)
            _links(schema)
            _drop_fastapi_validation_schemas(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _settings_bounds(schema: dict[str, Any], settings: GatewaySettings) -> None:
    body = schema["components"]["schemas"]["SubmitRequest"]["properties"]
    body["mandate"].update(
        minLength=1, maxLength=settings.max_mandate_length, pattern=MANDATE_PATTERN
    )
    body["max_ticks"].update(minimum=1, maximum=settings.max_ticks)


def _security(schema: dict[str, Any]) -> None:
    schema["components"]["securitySchemes"] = {
        "supabaseJWT": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A Supabase access token (aud=authenticated, sub=user id), or the "
            "service-role key.",
        }
    }
    for operations in schema["paths"].values():
        for operation in operations.values():
            if "401" in operation.get("responses", {}):
                operation["security"] = [{"supabaseJWT": []}]


def _links(schema: dict[str, Any]) -> None:
    """A submission's correlation_id is the task_id of the routes that follow the task."""
    paths = schema["paths"]
    follow = {
        "ReadTask": paths["/tasks/{task_id}"]["get"],
        "CancelTask": paths["/tasks/{task_id}/cancel"]["post"],
        "FollowTask": paths["/tasks/{task_id}/events"]["get"],
    }
    links = {
        name: {
            "operationId": operation["operationId"],
            "parameters": {"task_id": "$response.body#/correlation_id"},
        }
        for name, operation in follow.items()
    }
    paths["/tasks"]["post"]["responses"]["202"]["links"] = links
    events = paths["/tasks/{task_id}/events"]["get"]["responses"]["200"]["content"]
    events["text/event-stream"]["schema"] = {
        "description": "One event per status change (and comment lines to keep it open).",
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "event": {"type": "string", "enum": ["status"]},
            "id": {"type": "string", "description": "The task's updated_at."},
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": {"$ref": "#/components/schemas/Task"},
            },
        },
    }


def _drop_fastapi_validation_schemas(schema: dict[str, Any]) -> None:
    """Every 422 is a Problem here; FastAPI's own validation-error shapes are never sent."""
    problem = {"$ref": "#/components/schemas/Problem"}
    for operations in schema["paths"].values():
        for operation in operations.values():
            invalid = operation.get("responses", {}).get("422")
            if invalid is not None:
                invalid["description"] = _DESCRIPTIONS[422]
                invalid["content"] = {"application/json": {"schema": problem}}
    for name in ("HTTPValidationError", "ValidationError"):
        schema["components"]["schemas"].pop(name, None)
