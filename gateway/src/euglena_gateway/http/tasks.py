"""Task routes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sse_starlette import EventSourceResponse

from euglena.task import Task
from euglena_gateway.errors import BadRequest
from euglena_gateway.http.deps import PrincipalDep, ServicesDep
from euglena_gateway.http.direct import DirectRoute
from euglena_gateway.http.schemas import (
    CancelResponse,
    SubmitRequest,
    SubmitResponse,
    TaskPage,
    WorkerCount,
)
from euglena_gateway.usecases.tasks import Submission

router = APIRouter()
_JSON = "application/json"

MAX_IDS = 100


def _check_limits(body: SubmitRequest, max_length: int, max_ticks: int) -> None:
    """The bounds that depend on settings, reported like schema errors (422)."""
    problems: list[tuple[str, str]] = []
    if not body.mandate.strip():
        problems.append(("mandate", "must not be empty"))
    elif len(body.mandate) > max_length:
        problems.append(
            ("mandate", f"must be at most {max_length} characters (got {len(body.mandate)})")
        )
    if not 1 <= body.max_ticks <= max_ticks:
        problems.append(("max_ticks", f"must be between 1 and {max_ticks} (got {body.max_ticks})"))
    if problems:
        raise RequestValidationError(
            [{"loc": ("body", field), "msg": msg, "type": "value_error"} for field, msg in problems]
        )


def _json(model: BaseModel, status_code: int = 200) -> Response:
    """Serialize once with pydantic; the declared response_model still documents the shape."""
    return Response(model.model_dump_json(), status_code=status_code, media_type=_JSON)


@router.post("/tasks", status_code=status.HTTP_202_ACCEPTED, response_model=SubmitResponse)
async def submit_task(body: SubmitRequest, principal: PrincipalDep, services: ServicesDep) -> Any:
    settings = services.settings
    _check_limits(body, settings.max_mandate_length, settings.max_ticks)
    submission = Submission(
        mandate=body.mandate,
        max_ticks=body.max_ticks,
        user_id=body.user_id,
        correlation_id=body.correlation_id,
        source=body.source,
    )
    task, created = await services.tasks.submit(principal, submission)
    if created:
        services.metrics.submissions.labels(task.source.value).inc()
    reply = SubmitResponse(correlation_id=task.correlation_id, status=task.status, task=task)
    return _json(reply, status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


def _parse_ids(ids: str) -> list[uuid.UUID]:
    parts = [p.strip() for p in ids.split(",") if p.strip()]
    if len(parts) > MAX_IDS:
        raise BadRequest(f"ids: at most {MAX_IDS} ids per request (got {len(parts)})")
    try:
        return list(dict.fromkeys(uuid.UUID(p) for p in parts))
    except ValueError as exc:
        raise BadRequest("ids: every id must be a UUID") from exc


@router.get("/tasks", response_model=TaskPage)
async def list_tasks(
    principal: PrincipalDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
    ids: str | None = None,
) -> Any:
    if ids is not None:
        return _json(TaskPage(items=await services.tasks.get_many(principal, _parse_ids(ids))))
    try:
        page = await services.tasks.list(principal, limit=limit, cursor=cursor)
    except ValueError as exc:
        raise BadRequest("cursor: not a cursor this API issued") from exc
    return _json(TaskPage(items=list(page.items), next_cursor=page.next_cursor))


async def get_task(task_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep) -> Any:
    task = await services.tasks.get(principal, task_id)
    return Response(task.to_json(), media_type=_JSON)


# The most frequent read (clients poll it until the task ends): served without per-request DI.
router.add_api_route(
    "/tasks/{task_id}",
    get_task,
    methods=["GET"],
    response_model=Task,
    route_class_override=DirectRoute,
)


@router.post("/tasks/{task_id}/cancel", status_code=202, response_model=CancelResponse)
async def cancel_task(
    task_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> CancelResponse:
    return CancelResponse(task=await services.tasks.cancel(principal, task_id))


@router.get("/tasks/{task_id}/events", response_class=EventSourceResponse)
async def task_events(
    task_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> EventSourceResponse:
    await services.tasks.get(principal, task_id)  # 404 before the stream starts

    async def stream() -> AsyncIterator[dict[str, str]]:
        async for task in services.tasks.watch(principal, task_id):
            yield {"event": "status", "id": task.updated_at.isoformat(), "data": task.to_json()}

    return EventSourceResponse(stream(), ping=int(services.settings.events_keepalive_seconds))


@router.get("/agents/count", response_model=WorkerCount)
async def agents_count(_: PrincipalDep, services: ServicesDep) -> WorkerCount:
    return WorkerCount(count=len(await services.workers.live_workers()))
