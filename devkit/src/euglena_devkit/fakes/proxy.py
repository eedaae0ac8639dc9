"""A recording proxy in front of a real OpenAI-compatible server.

Tests of the real model server need to see what went over the wire (the server's own
``usage``, which protocol was spoken, how a refusal was answered) and sometimes to play a
server that ignores ``tool_choice``: ``intercept(body)`` may answer a chat request itself
with a scripted :class:`Reply`; everything else goes to ``upstream`` unchanged.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from euglena_devkit.fakes.base import FakeServer, Request, Response
from euglena_devkit.fakes.model import Reply, completion


@dataclass(frozen=True)
class Exchange:
    """One chat request and the answer it got (``forwarded``: from the real server)."""

    body: dict[str, Any]
    status: int
    answer: dict[str, Any]
    forwarded: bool

    @property
    def usage(self) -> tuple[int, int]:
        usage = self.answer.get("usage") or {}
        return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)


class ModelProxy(FakeServer):
    def __init__(
        self,
        upstream: str,
        *,
        intercept: Callable[[dict[str, Any]], Reply | None] | None = None,
        timeout: float = 300.0,
    ) -> None:
        super().__init__()
        self.upstream = upstream.rstrip("/")
        self.intercept = intercept
        self.exchanges: list[Exchange] = []
        self._exchanges_lock = threading.Lock()
        self._client = httpx.Client(timeout=timeout)
        self._ids = itertools.count(1)

    @property
    def url(self) -> str:
        """The API base URL (``MODEL_API_URL``)."""
        return self.base_url + "/v1"

    def stop(self) -> None:
        super().stop()
        self._client.close()

    def handle(self, request: Request) -> Response:
        path = request.path.removeprefix("/v1")
        if request.method == "POST" and path == "/chat/completions":
            body = request.json()
            reply = self.intercept(body) if self.intercept is not None else None
            if reply is not None:
                answer = completion(reply, body, call_id=next(self._ids))
                self._keep(Exchange(body, 200, answer, forwarded=False))
                return Response.of_json(answer)
        upstream = self._client.request(
            request.method,
            self.upstream + path,
            content=request.body,
            headers={"content-type": request.headers.get("content-type", "application/json")},
        )
        if path == "/chat/completions":
            try:
                answer = upstream.json()
            except ValueError:
                answer = {"text": upstream.text}
            self._keep(Exchange(request.json(), upstream.status_code, answer, forwarded=True))
        return Response(
            upstream.status_code,
            upstream.content,
            upstream.headers.get("content-type", "application/json"),
        )

    def _keep(self, exchange: Exchange) -> None:
        with self._exchanges_lock:
            self.exchanges.append(exchange)

    def usage(self) -> tuple[int, int]:
        """Prompt and completion tokens of every answer, as the servers reported them."""
        with self._exchanges_lock:
            pairs = [e.usage for e in self.exchanges]
        return sum(p for p, _ in pairs), sum(c for _, c in pairs)
