"""Every kind of bad input gets a 4xx JSON error with a clear message — never a 500."""

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest

from euglena.settings import DEV_JWT_SECRET
from euglena_devkit.local_gateway import RunningGateway

USER = "user"  # replaced by a real user id in the test
OK = {"mandate": "find X", "max_ticks": 3}
# Parametrized tokens are minted at collection, possibly long before their test runs.
VALID_FOR = 24 * 3600


def _token(**claims: Any) -> str:
    base = {"aud": "authenticated", "exp": int(time.time()) + VALID_FOR, "sub": str(uuid.uuid4())}
    base.update(claims)
    return "Bearer " + jwt.encode(
        {k: v for k, v in base.items() if v is not None}, DEV_JWT_SECRET, algorithm="HS256"
    )


CASES: list[tuple[str, str, str, dict[str, Any], int, str]] = [
    # (name, method, path, request kwargs, status, words in the message)
    ("no token", "POST", "/tasks", {"json": OK, "auth": None}, 401, "missing Authorization"),
    ("not bearer", "POST", "/tasks", {"json": OK, "auth": "Token abc"}, 401, "Bearer"),
    ("garbage token", "POST", "/tasks", {"json": OK, "auth": "Bearer abc"}, 401, "well-formed"),
    (
        "expired token",
        "POST",
        "/tasks",
        {"json": OK, "auth": _token(exp=int(time.time()) - 600)},
        401,
        "expired",
    ),
    ("wrong audience", "POST", "/tasks", {"json": OK, "auth": _token(aud="x")}, 401, "audience"),
    (
        "anon key",
        "POST",
        "/tasks",
        {"json": OK, "auth": _token(role="anon", sub=None, aud=None)},
        403,
        "anon",
    ),
    ("empty mandate", "POST", "/tasks", {"json": {"mandate": "", "max_ticks": 1}}, 422, "mandate"),
    (
        "blank mandate",
        "POST",
        "/tasks",
        {"json": {"mandate": "   ", "max_ticks": 1}},
        422,
        "must not be empty",
    ),
    (
        "mandate of whitespace only",
        "POST",
        "/tasks",
        {"json": {"mandate": "\u2003\x1f\t", "max_ticks": 1}},
        422,
        "must not be empty",
    ),
    (
        "NUL in the mandate",
        "POST",
        "/tasks",
        {"json": {"mandate": "find\x00X", "max_ticks": 1}},
        422,
        "without NUL",
    ),
    (
        "lone surrogate in the mandate",
        "POST",
        "/tasks",
        {
            "content": b'{"mandate": "find \\ud800", "max_ticks": 1}',
            "headers": {"content-type": "application/json"},
        },
        422,
        "surrogates",
    ),
    (
        "body not UTF-8",
        "POST",
        "/tasks",
        {"content": b"\xff\xfe{", "headers": {"content-type": "application/json"}},
        400,
        "UTF-8",
    ),
    (
        "ticks true",
        "POST",
        "/tasks",
        {"json": {"mandate": "a", "max_ticks": True}},
        422,
        "whole number",
    ),
    (
        "mandate too long",
        "POST",
        "/tasks",
        {"json": {"mandate": "x" * 101, "max_ticks": 1}},
        422,
        "at most 100 characters",
    ),
    (
        "zero ticks",
        "POST",
        "/tasks",
        {"json": {"mandate": "a", "max_ticks": 0}},
        422,
        "between 1 and 5",
    ),
    (
        "too many ticks",
        "POST",
        "/tasks",
        {"json": {"mandate": "a", "max_ticks": 6}},
        422,
        "between 1 and 5",
    ),
    (
        "ticks not an integer",
        "POST",
        "/tasks",
        {"json": {"mandate": "a", "max_ticks": "three"}},
        422,
        "max_ticks",
    ),
    (
        "ticks a float",
        "POST",
        "/tasks",
        {"json": {"mandate": "a", "max_ticks": 2.5}},
        422,
        "max_ticks",
    ),
    ("missing field", "POST", "/tasks", {"json": {"mandate": "a"}}, 422, "max_ticks"),
    ("unknown field", "POST", "/tasks", {"json": {**OK, "priority": "high"}}, 422, "priority"),
    (
        "not JSON",
        "POST",
        "/tasks",
        {"content": b"{nope", "headers": {"content-type": "application/json"}},
        422,
        "JSON",
    ),
    (
        "body too large",
        "POST",
        "/tasks",
        {"json": {"mandate": "x" * 3000, "max_ticks": 1}},
        413,
        "larger than",
    ),
    (
        "on behalf of another user",
        "POST",
        "/tasks",
        {"json": {**OK, "user_id": str(uuid.uuid4())}},
        403,
        "service role",
    ),
    (
        "chosen correlation id",
        "POST",
        "/tasks",
        {"json": {**OK, "correlation_id": str(uuid.uuid4())}},
        403,
        "service role",
    ),
    (
        "service role without user",
        "POST",
        "/tasks",
        {"json": OK, "auth": "service"},
        400,
        "user_id",
    ),
    (
        "service role for unknown user",
        "POST",
        "/tasks",
        {"json": {**OK, "user_id": str(uuid.uuid4())}, "auth": "service"},
        403,
        "does not exist",
    ),
    ("task id not a UUID", "GET", "/tasks/42", {}, 422, "task_id"),
    (
        "no token, task id not a UUID",
        "GET",
        "/tasks/42",
        {"auth": None},
        401,
        "missing Authorization",
    ),
    (
        "no token for a task",
        "GET",
        f"/tasks/{uuid.uuid4()}",
        {"auth": None},
        401,
        "missing Authorization",
    ),
    ("unknown task", "GET", f"/tasks/{uuid.uuid4()}", {}, 404, "not found"),
    ("bad cursor", "GET", "/tasks", {"params": {"cursor": "!!"}}, 400, "cursor"),
    (
        "bad cursor with ids",
        "GET",
        "/tasks",
        {"params": {"cursor": "-1", "ids": str(uuid.uuid4())}},
        400,
        "cursor",
    ),
    ("empty ids", "GET", "/tasks", {"params": {"ids": ""}}, 400, "UUID"),
    ("limit out of range", "GET", "/tasks", {"params": {"limit": 0}}, 422, "limit"),
    (
        "too many ids",
        "GET",
        "/tasks",
        {"params": {"ids": ",".join(str(uuid.uuid4()) for _ in range(101))}},
        400,
        "at most 100",
    ),
    ("ids not UUIDs", "GET", "/tasks", {"params": {"ids": "a,b"}}, 400, "UUID"),
    ("cancel unknown task", "POST", f"/tasks/{uuid.uuid4()}/cancel", {}, 404, "not found"),
    ("events of unknown task", "GET", f"/tasks/{uuid.uuid4()}/events", {}, 404, "not found"),
    ("unknown route", "GET", "/nope", {}, 404, "Not Found"),
    ("wrong method", "DELETE", "/tasks", {}, 405, "Method Not Allowed"),
]


@pytest.mark.parametrize(
    ("name", "method", "path", "kwargs", "status", "words"), CASES, ids=[c[0] for c in CASES]
)
async def test_bad_input_gets_a_clear_4xx(
    gateway_factory: Any,
    name: str,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    words: str,
) -> None:
    async with gateway_factory(max_mandate_length=100, max_ticks=5, max_body_bytes=2048) as gw:
        user = await gw.create_user()
        kwargs = dict(kwargs)
        auth = kwargs.pop("auth", "user")
        headers = dict(kwargs.pop("headers", {}))
        if auth == "user":
            headers.update(gw.headers(user))
        elif auth == "service":
            headers["Authorization"] = f"Bearer {gw.service_token()}"
        elif auth is not None:
            headers["Authorization"] = auth
        response = await gw.client.request(method, path, headers=headers, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    error = body["error"]
    assert words.lower() in error["message"].lower(), error
    assert error["code"]


async def test_cancelling_a_finished_task_is_a_conflict(gateway: RunningGateway) -> None:
    user = await gateway.create_user()
    headers = gateway.headers(user)
    cid = (await gateway.client.post("/tasks", json=OK, headers=headers)).json()["correlation_id"]
    first = await gateway.client.post(f"/tasks/{cid}/cancel", headers=headers)
    assert first.status_code == 202 and first.json()["task"]["status"] == "cancelled"
    second = await gateway.client.post(f"/tasks/{cid}/cancel", headers=headers)
    assert second.status_code == 409
    assert "already cancelled" in second.json()["error"]["message"]


async def test_a_request_over_the_time_budget_gets_504(gateway_factory: Any) -> None:
    async with gateway_factory(request_timeout_seconds=1e-6) as gw:
        user = await gw.create_user()
        response = await gw.client.get("/tasks", headers=gw.headers(user))
    assert response.status_code == 504
    error = response.json()["error"]
    assert "longer than" in error["message"] and error["details"] == {"timeout_seconds": 1e-6}


async def _chunks(body: bytes, size: int = 512) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("chunked", [False, True], ids=["with a length", "chunked"])
async def test_every_oversized_body_gets_413_and_a_small_chunked_one_is_served(
    gateway_factory: Any, chunked: bool
) -> None:
    big = json.dumps({"mandate": "x" * 3000, "max_ticks": 1}).encode()
    small = json.dumps({"mandate": "find X", "max_ticks": 1}).encode()
    async with gateway_factory(max_body_bytes=2048) as gw:
        headers = {**gw.headers(await gw.create_user()), "content-type": "application/json"}
        too_big = await gw.client.post(
            "/tasks", content=_chunks(big) if chunked else big, headers=headers
        )
        fine = await gw.client.post(
            "/tasks", content=_chunks(small) if chunked else small, headers=headers
        )
    assert too_big.status_code == 413, too_big.text
    error = too_big.json()["error"]
    assert error["code"] == "payload_too_large" and error["details"] == {"max_bytes": 2048}
    assert fine.status_code == 202, fine.text


async def test_a_whole_number_written_as_a_float_is_a_whole_number(gateway: RunningGateway) -> None:
    user = await gateway.create_user()
    response = await gateway.client.post(
        "/tasks", json={"mandate": "find X", "max_ticks": 2.0}, headers=gateway.headers(user)
    )
    assert response.status_code == 202, response.text
    assert response.json()["task"]["max_ticks"] == 2


async def test_a_wrong_method_says_which_methods_the_path_has(gateway: RunningGateway) -> None:
    response = await gateway.client.request("DELETE", "/tasks")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"


async def test_a_listing_continues_from_any_well_formed_cursor(gateway: RunningGateway) -> None:
    user = await gateway.create_user()
    headers = gateway.headers(user)
    for _ in range(3):
        await gateway.client.post("/tasks", json=OK, headers=headers)
    first = (await gateway.client.get("/tasks", params={"limit": 2}, headers=headers)).json()
    rest = await gateway.client.get(
        "/tasks", params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers
    )
    assert rest.status_code == 200 and len(rest.json()["items"]) == 1
    start = f"{10**15}.{uuid.uuid4()}"  # a position before 2001: nothing older there
    empty = await gateway.client.get("/tasks", params={"cursor": start}, headers=headers)
    assert empty.status_code == 200 and empty.json() == {"items": [], "next_cursor": None}
