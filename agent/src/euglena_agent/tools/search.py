"""Web search over a JSON API in the Brave Search shape.

``GET {SEARCH_API_URL}?q=<query>&count=<n>`` with ``X-Subscription-Token: <SEARCH_API_KEY>``
(also sent as ``Authorization: Bearer``), answering
``{"web": {"results": [{"title", "url", "description"}, …]}}``. Brave's real endpoint is
``https://api.search.brave.com/res/v1/web/search``; self-hosted gateways that mimic it work too.
"""

from __future__ import annotations

from typing import Any

import httpx

from euglena_agent.errors import ToolError
from euglena_agent.ports import SearchHit


class BraveSearch:
    def __init__(
        self, client: httpx.AsyncClient, *, url: str, api_key: str, count: int = 5
    ) -> None:
        self._client = client
        self._url = url
        self._count = count
        self._headers = (
            {"X-Subscription-Token": api_key, "Authorization": f"Bearer {api_key}"}
            if api_key
            else {}
        )

    async def search(self, query: str) -> list[SearchHit]:
        try:
            response = await self._client.get(
                self._url,
                params={"q": query, "count": self._count},
                headers={"Accept": "application/json", **self._headers},
            )
        except httpx.HTTPError as exc:
            raise ToolError(f"search API unreachable: {exc!r}") from exc
        if response.status_code >= 400:
            raise ToolError(f"search API answered HTTP {response.status_code}")
        try:
            results: list[dict[str, Any]] = response.json()["web"]["results"]
        except (ValueError, KeyError, TypeError):
            raise ToolError("search API answered an unexpected body") from None
        return [
            SearchHit(
                title=str(r.get("title", "")),
                url=str(r.get("url", "")),
                snippet=str(r.get("description", "")),
            )
            for r in results[: self._count]
            if isinstance(r, dict) and r.get("url")
        ]


def format_hits(hits: list[SearchHit]) -> str:
    if not hits:
        return "No results."
    return "\n".join(f"{i}. {h.title} — {h.url}\n   {h.snippet}" for i, h in enumerate(hits, 1))
