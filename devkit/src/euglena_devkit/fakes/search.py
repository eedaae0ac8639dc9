"""A JSON web-search API in the Brave Search shape.

``GET /res/v1/web/search?q=&count=`` with ``X-Subscription-Token`` →
``{"query": {"original": q}, "web": {"results": [{"title", "url", "description"}]}}``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from euglena_devkit.fakes.base import FakeServer, Request, Response

SEARCH_PATH = "/res/v1/web/search"


@dataclass(frozen=True)
class Hit:
    title: str
    url: str
    description: str


class FakeSearchServer(FakeServer):
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, api_key: str = "") -> None:
        super().__init__(host, port)
        self.api_key = api_key
        self._results: list[tuple[str, list[Hit]]] = []
        self._results_lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.base_url + SEARCH_PATH

    def results(self, query_contains: str, hits: list[Hit]) -> None:
        """Answer queries containing ``query_contains`` (case-insensitive) with ``hits``."""
        with self._results_lock:
            self._results.append((query_contains.lower(), hits))

    def queries(self) -> list[str]:
        return [r.query.get("q", [""])[0] for r in self.requests if r.path == SEARCH_PATH]

    def handle(self, request: Request) -> Response:
        if request.path != SEARCH_PATH:
            return Response.of_json({"error": "not found"}, 404)
        if self.api_key and request.headers.get("x-subscription-token") != self.api_key:
            return Response.of_json({"error": "invalid subscription token"}, 401)
        query = request.query.get("q", [""])[0]
        count = int(request.query.get("count", ["10"])[0])
        with self._results_lock:
            hits = next((h for q, h in self._results if q in query.lower()), [])
        return Response.of_json(
            {
                "type": "search",
                "query": {"original": query},
                "web": {
                    "type": "search",
                    "results": [
                        {"title": h.title, "url": h.url, "description": h.description}
                        for h in hits[:count]
                    ],
                },
            }
        )
