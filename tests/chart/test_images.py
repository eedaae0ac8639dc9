"""The Dockerfiles, checked without Docker: each installs exactly one service's packages from
the workspace's single uv.lock, runs as a non-root user and writes nothing at run time.

What an image would contain is what `uv export --package` resolves from uv.lock for the same
flags the Dockerfile passes to `uv sync`; building the images needs Docker (tests/e2e_kind)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from charting import REPO

pytestmark = pytest.mark.unit

SERVICES = ("agent", "gateway", "operator")
# Packages each image must contain.
MUST: dict[str, set[str]] = {
    "gateway": {"fastapi", "uvicorn", "asyncpg"},
    "agent": {"aio-pika", "chromadb", "trafilatura"},
    "operator": {"kopf", "kubernetes"},
}
# Packages that belong to one service (or to development) and must not leak into the others.
OWNED: dict[str, set[str]] = {
    "gateway": {"fastapi", "asyncpg", "supabase", "sse-starlette"},
    "agent": {"chromadb", "trafilatura"},
    # (not `kubernetes`: chromadb depends on it too)
    "operator": {"kopf"},
    "dev": {"pytest", "ruff", "mypy", "euglena-devkit", "pytest-kind"},
}


def _exported(package: str) -> set[str]:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed")
    proc = subprocess.run(
        [
            uv,
            "export",
            "--frozen",
            "--no-dev",
            "--no-default-groups",
            "--no-hashes",
            "--no-emit-workspace",
            "--package",
            package,
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    names = set()
    for line in proc.stdout.splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==", line)
        if match:
            names.add(match[1].lower().replace("_", "-"))
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_image_installs_only_its_service(service: str) -> None:
    dockerfile = (REPO / service / "Dockerfile").read_text()
    package = f"euglena-{service}"
    syncs = re.findall(r"uv sync ([^\n]+)", dockerfile)
    assert syncs and all(f"--package {package}" in s and "--frozen" in s for s in syncs)
    assert all("--no-dev" in s and "--no-default-groups" in s for s in syncs)
    installed = _exported(package)
    assert MUST[service] <= installed
    for owner, packages in OWNED.items():
        if owner != service:
            assert not packages & installed, f"{service} image would contain {packages & installed}"


@pytest.mark.parametrize("service", SERVICES)
def test_image_is_multi_stage_slim_and_non_root(service: str) -> None:
    text = (REPO / service / "Dockerfile").read_text()
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert len(re.findall(r"^FROM ", text, re.M)) >= 3
    final = text[text.rindex("\nFROM ") :]
    assert "COPY --from=build /app/.venv /app/.venv" in final
    assert re.search(r"^USER 10001:10001$", final, re.M), "the runtime stage must not run as root"
    assert "PYTHONDONTWRITEBYTECODE=1" in final and "UV_COMPILE_BYTECODE=1" in text
    assert f'ENTRYPOINT ["euglena-{service}"]' in final
    assert "/usr/local/bin/uv" not in final, "uv stays in the build stage"


def test_gateway_image_builds_the_web_ui() -> None:
    text = (REPO / "gateway" / "Dockerfile").read_text()
    assert "npm ci" in text and "npm run build" in text
    assert "COPY --from=frontend /out /app/frontend" in text


def test_build_context_leaves_out_local_state() -> None:
    ignored = (REPO / ".dockerignore").read_text().split()
    for pattern in ("**/.venv", "**/node_modules", "**/.git", "tests", "charts"):
        assert pattern in ignored
