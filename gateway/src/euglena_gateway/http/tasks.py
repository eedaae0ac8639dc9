"""Task routes."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sse_starlette import EventSourceResponse

from euglena.cursor import CURSOR_PATTERN, UUID_PATTERN
from euglena.task import Task
from euglena_gateway.errors import BadRequest
from euglena_gateway.http.deps import PrincipalDep, ServicesDep
from euglena_gateway.http.direct import DirectRoute
from euglena_gateway.http.openapi import AUTHENTICATED, NOT_BLANK, problems
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
_CURSOR = re.compile(CURSOR_PATTERN)


def _check_limits(body: SubmitRequest, max_length: int, max_ticks: int) -> None:
    """The bounds that depend on settings, reported like schema errors (422); the OpenAPI
    document states the same ones (``http.openapi``)."""
    problems: list[tuple[str, str]] = []
    if not NOT_BLANK.search(body.mandate):
        problems.append(("mandate", "must not be empty"))
    elif len(body.mandate) > max_length:
        problems.append(
            ("mandate", f"must be at most {max_length} characters (got {len(body.mandate)})")
        )
    elif "\x00" in body.mandate or not _encodable(body.mandate):
        problems.append(("mandate", "must be text without NUL characters or lone surrogates"))
    if not 1 <= body.max_ticks <= max_ticks:
        problems.append(("max_ticks", f"must be between 1 and {max_ticks} (got {body.max_ticks})"))
    if problems:
        raise RequestValidationError(
            [{"loc": ("body", field), "msg": msg, "type": "value_error"} for field, msg in problems]
        )


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _json(model: BaseModel, status_code: int = 200) -> Response:
    """Serialize once with pydantic; the declared response_model still documents the shape."""
    return Response(model.model_dump_json(), status_code=status_code, media_type=_JSON)


@router.post(
    "/tasks",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SubmitResponse,
    responses={
        200: {"model": SubmitResponse, "description": "A repeated correlation_id (service role)"},
        **problems(400, *AUTHENTICATED, 422, 429, 503),
    },
)
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


_ID = UUID_PATTERN.strip("^$")
IDS_PATTERN = f"^{_ID}(,{_ID}){{0,{MAX_IDS - 1}}}$"
_AN_ID = re.compile(_ID)


def _parse_ids(ids: str) -> list[uuid.UUID]:
    parts = ids.split(",")
    if len(parts) > MAX_IDS:
        raise BadRequest(f"ids: at most {MAX_IDS} ids per request (got {len(parts)})")
    if not all(_AN_ID.fullmatch(p) for p in parts):
        raise BadRequest("ids: every id must be a UUID (8-4-4-4-12 hex digits), comma-separated")
    return list(dict.fromkeys(uuid.UUID(p) for p in parts))


@router.get(
    "/tasks",
    response_model=TaskPage,
    responses=problems(400, *AUTHENTICATED, 422, 503),
)
async def list_tasks(
    principal: PrincipalDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
    cursor: Annotated[
        str | None,
        Query(
            description="next_cursor of the previous page.",
            json_schema_extra={"pattern": CURSOR_PATTERN},
        ),
    ] = None,
    ids: Annotated[
        str | None,
        Query(
            description=f"Up to {MAX_IDS} task ids, comma-separated: those tasks (the caller's "
            "own; any for the service role) instead of a page.",
            json_schema_extra={"pattern": IDS_PATTERN},
        ),
    ] = None,
) -> Any:
    if cursor is not None and not _CURSOR.fullmatch(cursor):
        raise BadRequest("cursor: not a cursor this API issued (use next_cursor as it is)")
    if ids is not None:
        return _json(TaskPage(items=await services.tasks.get_many(principal, _parse_ids(ids))))
    page = await services.tasks.list(principal, limit=limit, cursor=cursor)
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
    responses=problems(*AUTHENTICATED, 404, 422, 503),
    route_class_override=DirectRoute,
)


@router.post(
    "/tasks/{task_id}/cancel",
    status_code=202,
    response_model=CancelResponse,
    responses=problems(*AUTHENTICATED, 404, 409, 422, 503),
)
async def cancel_task(
    task_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> CancelResponse:
    return CancelResponse(task=await services.tasks.cancel(principal, task_id))


@router.get(
    "/tasks/{task_id}/events",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "One `status` event (the task as JSON) per change, until it ends",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **problems(*AUTHENTICATED, 404, 422, 503, timeout=False),
    },
)
async def task_events(
    task_id: uuid.UUID, principal: PrincipalDep, services: ServicesDep
) -> EventSourceResponse:
    await services.tasks.get(principal, task_id)  # 404 before the stream starts

    async def stream() -> AsyncIterator[dict[str, str]]:
        async for task in services.tasks.watch(principal, task_id):
            yield {"event": "status", "id": task.updated_at.isoformat(), "data": task.to_json()}

    return EventSourceResponse(stream(), ping=int(services.settings.events_keepalive_seconds))


@router.get("/agents/count", response_model=WorkerCount, responses=problems(*AUTHENTICATED, 503))
async def agents_count(_: PrincipalDep, services: ServicesDep) -> WorkerCount:
    return WorkerCount(count=len(await services.workers.live_workers()))
