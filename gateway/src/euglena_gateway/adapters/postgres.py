"""Postgres adapter of the TaskStore port (Supabase's database reached directly).

Writes call the SQL functions from ``supabase/migrations`` (quota + insert in one statement,
guarded updates), so the rules are the same as through PostgREST. User-facing reads run under
the caller's row-level-security context, as PostgREST does it: ``role = authenticated`` and
``request.jwt.claims = <the caller's claims>`` for the statement, set inside the SQL functions
``tasks_by_id_as`` / ``tasks_page_as`` so each read is one round trip.
"""

from __future__ import annotations

import builtins
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from euglena.cursor import decode_cursor, encode_cursor
from euglena.errors import DependencyUnavailable, QuotaExceeded, UnknownUser
from euglena.ports import Caller, Page
from euglena.task import Task

_COLUMNS = (
    "correlation_id, user_id, mandate, max_ticks, status, ticks, result, error, worker_id, "
    "last_action, usage, source, created_at, updated_at, started_at, completed_at"
)
_BY_IDS = f"select {_COLUMNS} from public.tasks where correlation_id = any($1::uuid[])"
_BY_IDS_AS = f"select {_COLUMNS} from public.tasks_by_id_as($1, $2::uuid[])"
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


def cursor_of(task: Task) -> str:
    return encode_cursor(task.created_at, task.correlation_id)


class PostgresTaskStore:
    def __init__(self, pool: asyncpg.Pool, *, timeout: float = 3.0) -> None:
        self._pool = pool
        self._timeout = timeout

    @classmethod
    async def connect(cls, dsn: str, *, size: int, timeout: float) -> PostgresTaskStore:
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=1,
                max_size=size,
                timeout=timeout,
                command_timeout=timeout,
                reset=_reset,
            )
        except _CONNECTION_ERRORS as exc:
            raise DependencyUnavailable("postgres", str(exc)) from exc
        return cls(pool, timeout=timeout)

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[Any]:
        try:
            # Waiting for a free connection counts against the same budget as the query: a
            # Postgres that stops answering holds every connection, and requests must still
            # fail within the timeout (503), not queue behind them.
            async with self._pool.acquire(timeout=self._timeout) as conn:
                yield conn
        except _CONNECTION_ERRORS as exc:
            raise DependencyUnavailable("postgres", type(exc).__name__) from exc

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
        tasks = await self.get_many([correlation_id], caller)
        return tasks[0] if tasks else None

    async def get_many(
        self, correlation_ids: Sequence[uuid.UUID], caller: Caller | None
    ) -> list[Task]:
        ids = list(correlation_ids)
        async with self._conn() as conn:
            if caller is None:
                rows = await conn.fetch(_BY_IDS, ids)
            else:
                rows = await conn.fetch(_BY_IDS_AS, _claims(caller), ids)
        return [_row_to_task(row) for row in rows]

    async def list(self, caller: Caller, *, limit: int, cursor: str | None) -> Page:
        created, cid = decode_cursor(cursor) if cursor else (None, None)
        async with self._conn() as conn:
            rows = await conn.fetch(
                f"select {_COLUMNS} from public.tasks_page_as($1, $2, $3, $4, $5)",
                _claims(caller),
                caller.user_id,
                limit + 1,
                created,
                cid,
            )
        tasks = [_row_to_task(row) for row in rows]
        more = len(tasks) > limit
        tasks = tasks[:limit]
        return Page(items=tasks, next_cursor=cursor_of(tasks[-1]) if more else None)

    async def apply(self, task: Task) -> bool:
        async with self._conn() as conn:
            applied = await conn.fetchval(
                "select public.apply_task_update($1::jsonb)", task.model_dump_json()
            )
        return bool(applied)

    async def mark_queued(self, correlation_ids: Sequence[uuid.UUID]) -> None:
        async with self._conn() as conn:
            await conn.execute("select public.mark_queued($1::uuid[])", list(correlation_ids))

    async def claim_unqueued(self, *, older_than: float, limit: int) -> builtins.list[Task]:
        async with self._conn() as conn:
            rows = await conn.fetch(
                f"select {_COLUMNS} from public.claim_unqueued($1, $2)", older_than, limit
            )
        return [_row_to_task(row) for row in rows]

    async def open_tasks(
        self, *, after: uuid.UUID, fresh_within: float, limit: int
    ) -> builtins.list[Task]:
        async with self._conn() as conn:
            rows = await conn.fetch(
                f"select {_COLUMNS} from public.open_tasks($1, $2, $3)", after, fresh_within, limit
            )
        return [_row_to_task(row) for row in rows]

    async def adopt(self, task: Task) -> bool:
        async with self._conn() as conn:
            created = await conn.fetchval(
                "select public.adopt_task($1::jsonb)", task.model_dump_json()
            )
        return bool(created)

    async def ensure_user(self, user_id: uuid.UUID, email: str) -> None:
        """Local development only: create a user (and, by trigger, its profile)."""
        async with self._conn() as conn:
            await conn.execute(
                "insert into auth.users (id, email) values ($1, $2) on conflict do nothing",
                user_id,
                email,
            )


def _claims(caller: Caller) -> str:
    return json.dumps(caller.claims, default=str)


async def _reset(conn: Any) -> None:
    """Connections carry no session state (settings are statement-local); only end a
    transaction a cancelled request may have left open, instead of asyncpg's full reset query."""
    if conn.is_in_transaction():
        await conn.execute("rollback")


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
