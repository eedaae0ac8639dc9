"""ASGI middleware: request body limit (413), request timeout (504) and request metrics.

Its two errors are answered before (or instead of) the app's own handlers, with the same body
as every other error (``http.problems.problem_body``). A body with a ``Content-Length`` over
the limit is refused before it is read; one without (chunked transfer encoding) is read here,
up to the limit, before the app sees it: the app's body parser would otherwise turn the
overflow into its own 400."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from euglena_gateway.http.problems import problem_body
from euglena_gateway.metrics import GatewayMetrics

_STREAMING_SUFFIX = "/events"


class _BodyTooLarge(Exception):
    pass


class EdgeMiddleware:
    def __init__(
        self, app: ASGIApp, *, metrics: GatewayMetrics, max_body: int, timeout: float
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body
        self.timeout = timeout
        # Labelled children looked up once per (route template, method, status), a bounded set.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "sent": False}

        async def send_tracking(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["sent"] = True
            await send(message)

        try:
            await self._dispatch(scope, receive, send_tracking, state)
        finally:
            self._record(scope, state["status"], time.perf_counter() - started)

    async def _dispatch(
        self, scope: Scope, receive: Receive, send: Send, state: dict[str, Any]
    ) -> None:
        length = _content_length(scope)
        if length is not None and length > self.max_body:
            await self._too_large(send)
            return
        if length is None and _has_body(scope):
            try:
                receive = await self._buffered(receive)
            except _BodyTooLarge:
                await self._too_large(send)
                return
        try:
            if scope["path"].endswith(_STREAMING_SUFFIX):
                await self.app(scope, self._limited(receive), send)
                return
            async with asyncio.timeout(self.timeout):
                await self.app(scope, self._limited(receive), send)
        except _BodyTooLarge:
            if not state["sent"]:
                await self._too_large(send)
        except TimeoutError:
            if not state["sent"]:
                message = f"the request took longer than {self.timeout:g} s and was abandoned"
                body = problem_body("timeout", message, {"timeout_seconds": self.timeout})
                await _reply(send, 504, body)

    async def _too_large(self, send: Send) -> None:
        message = f"the request body is larger than {self.max_body} bytes"
        await _reply(
            send, 413, problem_body("payload_too_large", message, {"max_bytes": self.max_body})
        )

    async def _buffered(self, receive: Receive) -> Receive:
        """Read a body of unknown length whole (at most ``max_body`` bytes), then replay it."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return _replay([message], receive)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        whole: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        return _replay([whole], receive)

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _BodyTooLarge
            return message

        return wrapped

    def _record(self, scope: Scope, status: int, elapsed: float) -> None:
        route = scope.get("route")
        key = (getattr(route, "path", None) or "unmatched", scope.get("method", "GET"), status)
        series = self._series.get(key)
        if series is None:
            template, method, _ = key
            series = (
                self.metrics.requests.labels(template, method, str(status)),
                self.metrics.latency.labels(template, method),
            )
            self._series[key] = series
        count, latency = series
        count.inc()
        latency.observe(elapsed)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that yields ``messages`` first, then whatever ``receive`` yields."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def _has_body(scope: Scope) -> bool:
    """Whether the request says a body follows without saying how long it is (chunked)."""
    return any(
        name == b"transfer-encoding" and b"chunked" in value.lower()
        for name, value in scope.get("headers", ())
    )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _reply(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
