"""Static web pages (and redirects, slow or huge pages) for the agent's ``visit`` tool."""

from __future__ import annotations

import threading

from euglena_devkit.fakes.base import FakeServer, Request, Response


class FakeWebServer(FakeServer):
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self._pages: dict[str, Response] = {}
        self._pages_lock = threading.Lock()

    def url(self, path: str) -> str:
        return self.base_url + path

    def page(
        self,
        path: str,
        body: str | bytes,
        *,
        content_type: str = "text/html; charset=utf-8",
        status: int = 200,
        delay: float = 0.0,
    ) -> str:
        """Serve ``body`` at ``path``; returns the page's URL."""
        data = body.encode() if isinstance(body, str) else body
        with self._pages_lock:
            self._pages[path] = Response(status, data, content_type, delay=delay)
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        with self._pages_lock:
            self._pages[path] = Response(status, b"", "text/plain", {"Location": location})
        return self.url(path)

    def visits(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path == path)

    def handle(self, request: Request) -> Response:
        with self._pages_lock:
            page = self._pages.get(request.path)
        if page is None:
            return Response(404, b"<html><body>Not found</body></html>", "text/html")
        return page


def article(title: str, *paragraphs: str) -> str:
    """A realistic HTML page: navigation and footer boilerplate around an article."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body>"
        "<nav><a href='/'>Home</a> | <a href='/about'>About</a></nav>"
        f"<article><h1>{title}</h1>{body}</article>"
        "<footer>© 2026 Example Encyclopaedia</footer></body></html>"
    )
