"""Contract tests of the Supabase REST adapter.

No PostgREST server exists in this environment, so a real local HTTP server stands in for
Supabase's `/rest/v1` and answers with the shapes PostgREST documents; the tests assert the
requests the adapter makes (paths, filters, headers, RPC bodies) and how it reads the answers.
"""

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from euglena.errors import QuotaExceeded
from euglena.ports import Caller
from euglena.task import new_task
from euglena_gateway.adapters.supabase_rest import SupabaseTaskStore

SERVICE_KEY = "service-role-key"
ANON_KEY = "anon-key"


class FakeRest:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.replies: dict[str, tuple[int, Any]] = {}


@pytest.fixture
def rest() -> Iterator[tuple[FakeRest, str]]:
    state = FakeRest()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            url = urlsplit(self.path)
            state.requests.append(
                {
                    "method": self.command,
                    "path": url.path,
                    "query": parse_qs(url.query),
                    "headers": dict(self.headers),
                    "body": body,
                }
            )
            status, payload = state.replies.get(url.path, (200, []))
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = do_PATCH = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _row(task: Any) -> dict[str, Any]:
    return json.loads(task.to_json())


async def test_submission_calls_the_submit_task_rpc_with_the_service_key(rest: Any) -> None:
    state, url = rest
    task = new_task(user_id=uuid.uuid4(), mandate="m", max_ticks=2)
    state.replies["/rest/v1/rpc/submit_task"] = (200, [_row(task)])
    store = SupabaseTaskStore(url, service_key=SERVICE_KEY, api_key=ANON_KEY, timeout=5)
    try:
        stored, created = await store.create(task)
    finally:
        await store.close()
    assert created and stored == task
    request = state.requests[-1]
    assert (request["method"], request["path"]) == ("POST", "/rest/v1/rpc/submit_task")
    assert request["headers"]["Authorization"] == f"Bearer {SERVICE_KEY}"
    assert request["headers"]["apikey"] == ANON_KEY
    assert request["body"]["p_correlation_id"] == str(task.correlation_id)
    assert request["body"]["p_max_ticks"] == 2


async def test_a_quota_refusal_from_postgrest_becomes_quota_exceeded(rest: Any) -> None:
    state, url = rest
    error = {
        "code": "P0001",
        "message": "daily tick quota exceeded",
        "hint": "quota_exceeded",
        "details": json.dumps({"used": 9, "limit": 10, "requested": 2}),
    }
    state.replies["/rest/v1/rpc/submit_task"] = (400, error)
    store = SupabaseTaskStore(url, service_key=SERVICE_KEY, api_key=ANON_KEY, timeout=5)
    try:
        with pytest.raises(QuotaExceeded) as info:
            await store.create(new_task(user_id=uuid.uuid4(), mandate="m", max_ticks=2))
    finally:
        await store.close()
    assert (info.value.used, info.value.limit) == (9, 10)


async def test_user_reads_carry_the_callers_jwt_for_row_level_security(rest: Any) -> None:
    state, url = rest
    task = new_task(user_id=uuid.uuid4(), mandate="m", max_ticks=2)
    state.replies["/rest/v1/tasks"] = (200, [_row(task)])
    store = SupabaseTaskStore(url, service_key=SERVICE_KEY, api_key=ANON_KEY, timeout=5)
    caller = Caller(user_id=task.user_id, claims={"sub": str(task.user_id)}, token="user-jwt")
    try:
        found = await store.get(task.correlation_id, caller)
        page = await store.list(caller, limit=1, cursor=None)
    finally:
        await store.close()
    assert found == task
    get, listing = state.requests[-2:]
    assert get["headers"]["Authorization"] == "Bearer user-jwt"
    assert get["query"]["correlation_id"] == [f"eq.{task.correlation_id}"]
    assert listing["query"]["order"] == ["created_at.desc,correlation_id.desc"]
    assert listing["query"]["limit"] == ["2"]
    assert page.items == [task] and page.next_cursor is None


async def test_guarded_updates_go_through_the_apply_rpc(rest: Any) -> None:
    state, url = rest
    state.replies["/rest/v1/rpc/apply_task_update"] = (200, True)
    task = new_task(user_id=uuid.uuid4(), mandate="m", max_ticks=2)
    store = SupabaseTaskStore(url, service_key=SERVICE_KEY, api_key=ANON_KEY, timeout=5)
    try:
        assert await store.apply(task) is True
    finally:
        await store.close()
    assert state.requests[-1]["body"]["p_task"]["correlation_id"] == str(task.correlation_id)


async def test_a_finished_task_without_a_row_is_adopted_through_its_rpc(rest: Any) -> None:
    state, url = rest
    state.replies["/rest/v1/rpc/adopt_task"] = (200, True)
    task = new_task(user_id=uuid.uuid4(), mandate="m", max_ticks=2)
    store = SupabaseTaskStore(url, service_key=SERVICE_KEY, api_key=ANON_KEY, timeout=5)
    try:
        assert await store.adopt(task) is True
    finally:
        await store.close()
    request = state.requests[-1]
    assert request["path"] == "/rest/v1/rpc/adopt_task"
    assert request["headers"]["Authorization"] == f"Bearer {SERVICE_KEY}"
    assert request["body"]["p_task"]["correlation_id"] == str(task.correlation_id)


async def test_the_outbox_is_read_and_marked_through_its_rpcs(rest: Any) -> None:
    state, url = rest
    task = new_task(user_id=uuid.uuid4(), mandate="m", max_ticks=2)
    state.replies["/rest/v1/rpc/claim_unqueued"] = (200, [_row(task)])
    state.replies["/rest/v1/rpc/mark_queued"] = (200, None)
    store = SupabaseTaskStore(url, service_key=SERVICE_KEY, api_key=ANON_KEY, timeout=5)
    try:
        assert await store.claim_unqueued(older_than=30, limit=100) == [task]
        await store.mark_queued([task.correlation_id])
    finally:
        await store.close()
    claim, mark = state.requests[-2:]
    assert claim["path"] == "/rest/v1/rpc/claim_unqueued"
    assert claim["body"] == {"p_older_than": 30, "p_limit": 100}
    assert mark["path"] == "/rest/v1/rpc/mark_queued"
    assert mark["body"] == {"p_ids": [str(task.correlation_id)]}
    assert {r["headers"]["Authorization"] for r in (claim, mark)} == {f"Bearer {SERVICE_KEY}"}
