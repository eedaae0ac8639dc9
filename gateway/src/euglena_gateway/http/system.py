"""Liveness, readiness, metrics, and the web UI's runtime configuration."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from euglena.settings import Environment
from euglena_gateway.devtokens import mint_user_token
from euglena_gateway.errors import NotFound
from euglena_gateway.http.deps import ServicesDep
from euglena_gateway.http.openapi import problems
from euglena_gateway.http.schemas import Health, Readiness, UiConfig

router = APIRouter()


@router.get("/health", response_model=Health, responses=problems())
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def _check(check: Any, timeout: float) -> str:
    try:
        async with asyncio.timeout(timeout):
            await check.ping()
    except TimeoutError:
        return f"timeout after {timeout:g} s"
    except Exception as exc:  # readiness reports every failure, whatever it is
        return f"error: {type(exc).__name__}"
    return "ok"


@router.get(
    "/ready",
    response_model=Readiness,
    responses={
        503: {"model": Readiness, "description": "A dependency did not answer in time"},
        **problems(),
    },
)
async def ready(services: ServicesDep) -> JSONResponse:
    names = list(services.checks)
    results = await asyncio.gather(
        *(_check(services.checks[n], services.settings.ready_timeout_seconds) for n in names)
    )
    checks = dict(zip(names, results, strict=True))
    healthy = all(r == "ok" for r in results)
    return JSONResponse(
        {"status": "ready" if healthy else "unavailable", "checks": checks},
        status_code=200 if healthy else 503,
    )


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **problems(),
    },
)
async def metrics(services: ServicesDep) -> Response:
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/ui-config.json", response_model=UiConfig, responses=problems())
async def ui_config(services: ServicesDep) -> dict[str, Any]:
    settings = services.settings
    return {
        "supabase_url": settings.supabase_url,
        "supabase_anon_key": settings.supabase_anon_key.get_secret_value(),
        "dev_login": services.ensure_user is not None,
        "max_mandate_length": settings.max_mandate_length,
        "max_ticks": settings.max_ticks,
    }


class DevTokenRequest(BaseModel):
    user: str = Field(default="demo", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")


@router.post("/dev/token", include_in_schema=False)
async def dev_token(body: DevTokenRequest, services: ServicesDep) -> dict[str, str]:
    """Local development sign-in; exists only with EUGLENA_ENV=dev and a local database."""
    if services.ensure_user is None or services.settings.environment is not Environment.DEV:
        raise NotFound("not found")
    user_id = uuid.UUID(await services.ensure_user(body.user))
    secret = services.settings.supabase_jwt_secret.get_secret_value()
    return {"access_token": mint_user_token(secret, user_id), "user_id": str(user_id)}
