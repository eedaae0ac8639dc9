"""A JSON web-search API in the Brave Search shape.

``GET /res/v1/web/search?q=&count=`` with ``X-Subscription-Token`` →
``{"query": {"original": q}, "web": {"results": [{"title", "url", "description"}]}}``.

Scripted answers (``results``) win; otherwise, with documents ``index``-ed, a query gets the
documents that share most of its words (a tiny lexical search engine for ``make eval``).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from euglena_devkit.fakes.base import FakeServer, Request, Response

SEARCH_PATH = "/res/v1/web/search"
_STOPWORDS = frozenset(
    "the a an of in on at to for and or is are was were what which who whom how when where why "
    "does did do with from by as it its this that there their be been has have many much find "
    "out about tell me".split()
)


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
        self._documents: list[tuple[Hit, frozenset[str], frozenset[str]]] = []
        self._results_lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.base_url + SEARCH_PATH

    def results(self, query_contains: str, hits: list[Hit]) -> None:
        """Answer queries containing ``query_contains`` (case-insensitive) with ``hits``."""
        with self._results_lock:
            self._results.append((query_contains.lower(), hits))

    def index(self, hit: Hit, text: str) -> None:
        """Make ``hit`` findable by the words of its title, description and ``text``."""
        with self._results_lock:
            self._documents.append(
                (hit, _words(f"{hit.title} {hit.description}"), _words(f"{hit.title} {text}"))
            )

    def _ranked(self, query: str) -> list[Hit]:
        wanted = _words(query)
        scored = [
            (len(wanted & body) + len(wanted & head), -i, hit)
            for i, (hit, head, body) in enumerate(self._documents)
        ]
        return [hit for score, _, hit in sorted(scored, reverse=True) if score > 0]

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
            hits = next((h for q, h in self._results if q in query.lower()), None)
            if hits is None:
                hits = self._ranked(query)
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


def _words(text: str) -> frozenset[str]:
    return frozenset(
        w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2 and w not in _STOPWORDS
    )
