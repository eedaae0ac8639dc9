"""The built web UI, served at / with single-page-app fallback for browser navigations."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

_CANDIDATES = (
    Path(__file__).resolve().parents[4] / "frontend" / "dist",
    Path("/app/frontend"),
)


class SinglePageApp(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            headers = dict(scope.get("headers", ()))
            wants_html = b"text/html" in headers.get(b"accept", b"")
            if exc.status_code != 404 or not wants_html:
                raise
            return await super().get_response("index.html", scope)


def frontend_directory(configured: Path | None) -> Path | None:
    for candidate in (configured,) if configured else _CANDIDATES:
        if candidate is not None and (candidate / "index.html").is_file():
            return candidate
    return None


def mount_frontend(app: FastAPI, configured: Path | None) -> Path | None:
    directory = frontend_directory(configured)
    if directory is not None:
        app.mount("/", SinglePageApp(directory=directory, html=True), name="ui")
    return directory
