"""Postgres adapter of the TaskStore port (Supabase's database reached directly).

Writes call the SQL functions from ``supabase/migrations`` (quota + insert in one statement,
guarded updates), so the rules are the same as through PostgREST. User-facing reads run under
the caller's row-level-security context, exactly as PostgREST does it: within a transaction,
``role = authenticated`` and ``request.jwt.claims = <the caller's claims>``.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg

from euglena.errors import DependencyUnavailable, QuotaExceeded, UnknownUser
from euglena.ports import Caller, Page
from euglena.task import Task

_COLUMNS = (
    "correlation_id, user_id, mandate, max_ticks, status, ticks, result, error, worker_id, "
    "last_action, usage, source, created_at, updated_at, started_at, completed_at"
)
_CONNECTION_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
)


def _row_to_task(row: asyncpg.Record) -> Task:
    data = dict(row)
    if isinstance(data.get("usage"), str):
        data["usage"] = json.loads(data["usage"])
    return Task.model_validate(data)


def encode_cursor(task: Task) -> str:
    raw = f"{task.created_at.isoformat()}|{task.correlation_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """Raises ValueError for a cursor this store did not issue."""
    padded = cursor + "=" * (-len(cursor) % 4)
    created, _, cid = base64.urlsafe_b64decode(padded.encode()).decode().partition("|")
    return datetime.fromisoformat(created), uuid.UUID(cid)


class PostgresTaskStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def connect(cls, dsn: str, *, size: int, timeout: float) -> PostgresTaskStore:
        try:
            pool = await asyncpg.create_pool(
                dsn, min_size=1, max_size=size, timeout=timeout, command_timeout=timeout
            )
        except _CONNECTION_ERRORS as exc:
            raise DependencyUnavailable("postgres", str(exc)) from exc
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[Any]:
        try:
            async with self._pool.acquire() as conn:
                yield conn
        except _CONNECTION_ERRORS as exc:
            raise DependencyUnavailable("postgres", type(exc).__name__) from exc

    @asynccontextmanager
    async def _as_caller(self, caller: Caller | None) -> AsyncIterator[Any]:
        async with self._conn() as conn, conn.transaction():
            if caller is not None:
                await conn.execute(
                    "select set_config('role', 'authenticated', true), "
                    "set_config('request.jwt.claims', $1, true)",
                    json.dumps(caller.claims, default=str),
                )
            yield conn

    async def ping(self) -> None:
        async with self._conn() as conn:
            await conn.fetchval("select 1")

    async def create(self, task: Task) -> tuple[Task, bool]:
        async with self._conn() as conn:
            try:
                row = await conn.fetchrow(
                    f"select {_COLUMNS} from public.submit_task($1, $2, $3, $4, $5, $6)",
                    task.correlation_id,
                    task.user_id,
                    task.mandate,
                    task.max_ticks,
                    task.source.value,
                    task.created_at,
                )
            except asyncpg.PostgresError as exc:
                raise _domain_error(exc, task) from exc
        if row is None:
            raise RuntimeError("submit_task returned no row")
        stored = _row_to_task(row)
        return stored, stored.created_at == task.created_at

    async def release(self, correlation_id: uuid.UUID) -> None:
        async with self._conn() as conn:
            await conn.execute("select public.release_task($1)", correlation_id)

    async def get(self, correlation_id: uuid.UUID, caller: Caller | None) -> Task | None:
        async with self._as_caller(caller) as conn:
            row = await conn.fetchrow(
                f"select {_COLUMNS} from public.tasks where correlation_id = $1", correlation_id
            )
        return _row_to_task(row) if row else None

    async def get_many(
        self, correlation_ids: Sequence[uuid.UUID], caller: Caller | None
    ) -> list[Task]:
        async with self._as_caller(caller) as conn:
            rows = await conn.fetch(
                f"select {_COLUMNS} from public.tasks where correlation_id = any($1::uuid[])",
                list(correlation_ids),
            )
        return [_row_to_task(row) for row in rows]

    async def list(self, caller: Caller, *, limit: int, cursor: str | None) -> Page:
        args: list[Any] = [caller.user_id, limit + 1]
        where = "user_id = $1"
        if cursor:
            created, cid = decode_cursor(cursor)
            args += [created, cid]
            where += " and (created_at, correlation_id) < ($3, $4)"
        async with self._as_caller(caller) as conn:
            rows = await conn.fetch(
                f"select {_COLUMNS} from public.tasks where {where} "
                "order by created_at desc, correlation_id desc limit $2",
                *args,
            )
        tasks = [_row_to_task(row) for row in rows]
        more = len(tasks) > limit
        tasks = tasks[:limit]
        return Page(items=tasks, next_cursor=encode_cursor(tasks[-1]) if more else None)

    async def apply(self, task: Task) -> bool:
        async with self._conn() as conn:
            applied = await conn.fetchval(
                "select public.apply_task_update($1::jsonb)", task.model_dump_json()
            )
        return bool(applied)

    async def ensure_user(self, user_id: uuid.UUID, email: str) -> None:
        """Local development only: create a user (and, by trigger, its profile)."""
        async with self._conn() as conn:
            await conn.execute(
                "insert into auth.users (id, email) values ($1, $2) on conflict do nothing",
                user_id,
                email,
            )


def _domain_error(exc: asyncpg.PostgresError, task: Task) -> BaseException:
    hint = getattr(exc, "hint", None)
    if hint == "quota_exceeded":
        detail = json.loads(getattr(exc, "detail", None) or "{}")
        return QuotaExceeded(
            int(detail.get("used", 0)), int(detail.get("limit", 0)), task.max_ticks
        )
    if hint == "unknown_user":
        return UnknownUser(task.user_id)
    return exc
