"""A local ChromaDB server (chromadb's ``chroma`` CLI)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import httpx

from euglena_devkit.services.base import LocalServer
from euglena_devkit.services.errors import ServiceUnavailable
from euglena_devkit.services.procs import HOST, free_port


def _chroma_binary() -> str:
    venv_bin = Path(sys.executable).parent
    candidate = venv_bin / "chroma"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which("chroma")
    if found:
        return found
    raise ServiceUnavailable(
        f"chromadb's 'chroma' CLI was not found on PATH or in {venv_bin}: install the Python "
        "package chromadb (a dependency of euglena-agent; run `uv sync`)."
    )


class ChromaServer(LocalServer):
    name = "chroma"
    startup_timeout = 90.0

    def __init__(self, base_dir: str | Path | None = None) -> None:
        self._binary = _chroma_binary()
        super().__init__(base_dir)
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _command(self) -> tuple[list[str], dict[str, str]]:
        argv = [self._binary, "run", "--host", HOST, "--port", str(self.port),
                "--path", str(self.base_dir / "data")]  # fmt: skip
        env = dict(os.environ)
        env["ANONYMIZED_TELEMETRY"] = "False"
        return argv, env

    def _ready(self) -> bool:
        for path in ("/api/v2/heartbeat", "/api/v1/heartbeat"):
            try:
                if httpx.get(self.url + path, timeout=2.0).status_code == 200:
                    return True
            except httpx.HTTPError:
                return False
        return False
