"""Supabase REST (PostgREST) adapter of the TaskStore port, for deployments without a direct
database connection.

Writes call the same SQL functions as the Postgres adapter through ``/rest/v1/rpc/…`` with the
service-role key; user-facing reads send the caller's own JWT, so PostgREST applies row-level
security exactly as for the Postgres adapter. No PostgREST server runs in this project's test
environment: this adapter is contract-tested against the request and response shapes PostgREST
documents (``tests/integration/gateway/test_supabase_rest.py``), not against a live server.
"""

from __future__ import annotations

import builtins
import json
import uuid
from collections.abc import Sequence
from typing import Any

import httpx
from postgrest import AsyncPostgrestClient
from postgrest.exceptions import APIError

from euglena.cursor import decode_cursor
from euglena.errors import DependencyUnavailable, QuotaExceeded, UnknownUser
from euglena.ports import Caller, Page
from euglena.task import Task, to_rfc3339
from euglena_gateway.adapters.postgres import cursor_of
from euglena_gateway.settings import GatewaySettings


class SupabaseTaskStore:
    def __init__(self, url: str, *, service_key: str, api_key: str, timeout: float) -> None:
        self._base = f"{url.rstrip('/')}/rest/v1"
        self._api_key = api_key or service_key
        self._http = httpx.AsyncClient(timeout=timeout)
        self._service = self._client(service_key)

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> SupabaseTaskStore:
        return cls(
            settings.supabase_url,
            service_key=settings.supabase_service_role_key.get_secret_value(),
            api_key=settings.supabase_anon_key.get_secret_value(),
            timeout=settings.dependency_timeout_seconds,
        )

    def _client(self, bearer: str) -> AsyncPostgrestClient:
        headers = {
            "apikey": self._api_key,
            "Authorization": f"Bearer {bearer}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        return AsyncPostgrestClient(self._base, headers=headers, http_client=self._http)

    def _reader(self, caller: Caller | None) -> AsyncPostgrestClient:
        return self._service if caller is None else self._client(caller.token)

    async def close(self) -> None:
        await self._http.aclose()

    async def _run(self, query: Any) -> Any:
        try:
            return (await query.execute()).data
        except httpx.HTTPError as exc:
            raise DependencyUnavailable("supabase", type(exc).__name__) from exc

    async def ping(self) -> None:
        await self._run(self._service.table("tasks").select("correlation_id").limit(1))

    async def create(self, task: Task) -> tuple[Task, bool]:
        params: dict[str, Any] = {
            "p_correlation_id": str(task.correlation_id),
            "p_user_id": str(task.user_id),
            "p_mandate": task.mandate,
            "p_max_ticks": task.max_ticks,
            "p_source": task.source.value,
            "p_created_at": to_rfc3339(task.created_at),
        }
        try:
            rows = await self._run(self._service.rpc("submit_task", params))
        except APIError as exc:
            raise _domain_error(exc, task) from exc
        stored = Task.model_validate(rows[0])
        return stored, stored.created_at == task.created_at

    async def release(self, correlation_id: uuid.UUID) -> None:
        await self._run(
            self._service.rpc("release_task", {"p_correlation_id": str(correlation_id)})
        )

    async def get(self, correlation_id: uuid.UUID, caller: Caller | None) -> Task | None:
        query = self._reader(caller).table("tasks").select("*")
        rows = await self._run(query.eq("correlation_id", str(correlation_id)))
        return Task.model_validate(rows[0]) if rows else None

    async def get_many(
        self, correlation_ids: Sequence[uuid.UUID], caller: Caller | None
    ) -> list[Task]:
        query = self._reader(caller).table("tasks").select("*")
        rows = await self._run(query.in_("correlation_id", [str(c) for c in correlation_ids]))
        return [Task.model_validate(row) for row in rows]

    async def list(self, caller: Caller, *, limit: int, cursor: str | None) -> Page:
        query = (
            self._reader(caller)
            .table("tasks")
            .select("*")
            .eq("user_id", str(caller.user_id))
            .order("created_at", desc=True)
            .order("correlation_id", desc=True)
            .limit(limit + 1)
        )
        if cursor:
            created, cid = decode_cursor(cursor)
            stamp = created.isoformat()
            query = query.or_(
                f"created_at.lt.{stamp},and(created_at.eq.{stamp},correlation_id.lt.{cid})"
            )
        tasks = [Task.model_validate(row) for row in await self._run(query)]
        more = len(tasks) > limit
        tasks = tasks[:limit]
        return Page(items=tasks, next_cursor=cursor_of(tasks[-1]) if more else None)

    async def apply(self, task: Task) -> bool:
        applied = await self._run(
            self._service.rpc("apply_task_update", {"p_task": json.loads(task.to_json())})
        )
        return applied is True

    async def mark_queued(self, correlation_ids: Sequence[uuid.UUID]) -> None:
        params: dict[str, Any] = {"p_ids": [str(c) for c in correlation_ids]}
        await self._run(self._service.rpc("mark_queued", params))

    async def claim_unqueued(self, *, older_than: float, limit: int) -> builtins.list[Task]:
        params: dict[str, Any] = {"p_older_than": older_than, "p_limit": limit}
        rows = await self._run(self._service.rpc("claim_unqueued", params))
        return [Task.model_validate(row) for row in rows or []]

    async def open_tasks(
        self, *, after: uuid.UUID, fresh_within: float, limit: int
    ) -> builtins.list[Task]:
        params: dict[str, Any] = {
            "p_after": str(after),
            "p_fresh_within": fresh_within,
            "p_limit": limit,
        }
        rows = await self._run(self._service.rpc("open_tasks", params))
        return [Task.model_validate(row) for row in rows or []]

    async def adopt(self, task: Task) -> bool:
        created = await self._run(
            self._service.rpc("adopt_task", {"p_task": json.loads(task.to_json())})
        )
        return created is True


def _domain_error(exc: APIError, task: Task) -> Exception:
    if exc.hint == "quota_exceeded":
        detail = json.loads(exc.details or "{}")
        return QuotaExceeded(
            int(detail.get("used", 0)), int(detail.get("limit", 0)), task.max_ticks
        )
    if exc.hint == "unknown_user":
        return UnknownUser(task.user_id)
    return exc
