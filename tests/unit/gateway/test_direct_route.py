"""The lean GET /tasks/{id} route: documented like any route, refusing what it cannot supply."""

from __future__ import annotations

import uuid

import pytest
from fastapi import APIRouter, Response

from euglena.settings import DEV_JWT_SECRET
from euglena_gateway.app import create_app
from euglena_gateway.http.direct import DirectRoute
from euglena_gateway.settings import GatewaySettings


def test_the_task_read_is_documented_in_openapi() -> None:
    app = create_app(GatewaySettings(euglena_env="dev", supabase_jwt_secret=DEV_JWT_SECRET))
    operation = app.openapi()["paths"]["/tasks/{task_id}"]["get"]
    (parameter,) = operation["parameters"]
    assert (parameter["name"], parameter["in"], parameter["schema"]["format"]) == (
        "task_id",
        "path",
        "uuid",
    )
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/Task")


def test_a_direct_route_refuses_a_parameter_it_cannot_supply() -> None:
    async def endpoint(task_id: uuid.UUID, limit: int) -> Response:
        return Response()

    with pytest.raises(TypeError, match="'limit'"):
        APIRouter().add_api_route("/x/{task_id}", endpoint, route_class_override=DirectRoute)
