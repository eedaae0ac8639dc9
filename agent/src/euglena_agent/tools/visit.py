"""``visit``: fetch one page over HTTP with limits and turn its HTML into text (trafilatura).

Limits: a wall-clock timeout over the whole visit (redirects included), a byte limit read as a
stream, an allow-list of content types, at most five redirects. SSRF guard: unless
``VISIT_ALLOW_PRIVATE`` is set, every hop's host must resolve only to global addresses (no
loopback, private, link-local, reserved or multicast ranges). The check resolves the name
before connecting, so a DNS server that answers differently a moment later (rebinding) is not
covered; a NetworkPolicy egress rule is the stronger guard in Kubernetes.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx

from euglena_agent.errors import ToolError, VisitRefused

_TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/json")
_MAX_REDIRECTS = 5


class PageVisitor:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        max_bytes: int,
        timeout_seconds: float,
        allow_private: bool,
    ) -> None:
        self._client = client
        self._max_bytes = max_bytes
        self._timeout = timeout_seconds
        self._allow_private = allow_private

    async def fetch_text(self, url: str) -> str:
        try:
            async with asyncio.timeout(self._timeout):
                body, content_type = await self._fetch(httpx.URL(url))
        except TimeoutError:
            raise ToolError(f"visit timed out after {self._timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise ToolError(f"visit failed: {exc!r}") from exc
        if content_type.startswith(("text/html", "application/xhtml+xml")):
            return await asyncio.to_thread(html_to_text, body)
        return body.decode("utf-8", errors="replace")

    async def _fetch(self, url: httpx.URL) -> tuple[bytes, str]:
        for _ in range(_MAX_REDIRECTS + 1):
            await self._guard(url)
            async with self._client.stream("GET", url, follow_redirects=False) as response:
                if response.is_redirect and "location" in response.headers:
                    url = url.join(response.headers["location"])
                    continue
                if response.status_code >= 400:
                    raise ToolError(f"{url} answered HTTP {response.status_code}")
                content_type = response.headers.get("content-type", "").lower()
                if not content_type.startswith(_TEXT_TYPES):
                    raise VisitRefused(f"{url} is {content_type or 'untyped'}, not text")
                return await self._read(response), content_type
        raise ToolError(f"more than {_MAX_REDIRECTS} redirects")

    async def _read(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self._max_bytes:
            raise VisitRefused(f"page is {declared} bytes, over the {self._max_bytes} limit")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                raise VisitRefused(f"page is over the {self._max_bytes}-byte limit")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _guard(self, url: httpx.URL) -> None:
        if url.scheme not in ("http", "https") or not url.host:
            raise VisitRefused(f"only http(s) URLs can be visited, not {str(url)[:100]!r}")
        if self._allow_private:
            return
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(url.host, url.port or 443, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise ToolError(f"cannot resolve {url.host}: {exc}") from None
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            if not address.is_global or address.is_multicast:
                raise VisitRefused(f"{url.host} resolves to a non-public address ({address})")


def html_to_text(html: bytes) -> str:
    """Main text of a page (boilerplate removed); the whole page's text when that is empty."""
    import trafilatura  # imported on first use: it is slow to import and most ticks do not visit

    document = html.decode("utf-8", errors="replace")
    text = trafilatura.extract(document, include_comments=False, favor_recall=True)
    if not text:
        text = trafilatura.html2txt(document)
    return text or ""
