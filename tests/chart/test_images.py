"""The Dockerfile, checked without Docker: each of its targets installs exactly one service's
packages from the workspace's single uv.lock, runs as a non-root user and writes nothing at run
time.

The Dockerfile is split into its stages, and each target is followed through the stages it is
built from (`FROM`) and copies from (`COPY --from`), which are the stages BuildKit builds for
`docker build --target <service>`. What an image would contain is what `uv export --package`
resolves from uv.lock for the same flags those stages pass to `uv sync`; building the images
needs Docker (tests/e2e_kind)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

import pytest
from charting import REPO

pytestmark = pytest.mark.unit

DOCKERFILE = REPO / "Dockerfile"
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


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[str]

    def copies_from(self) -> list[str]:
        return [m for i in self.instructions for m in re.findall(r"^COPY --from=(\S+)", i)]


def _stages() -> dict[str, Stage]:
    """The Dockerfile's stages by name (by index when unnamed), continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?$", line, re.I)
        if match:
            current = Stage(match[2] or str(len(stages)), match[1], [])
            stages[current.name] = current
        elif current is not None:
            current.instructions.append(re.sub(r"\s+", " ", line))
    return stages


def _ancestry(stages: dict[str, Stage], name: str) -> list[Stage]:
    """The stage and the stages it is built FROM, the image's own layers, from the base up."""
    chain = [stages[name]]
    while chain[0].base in stages:
        chain.insert(0, stages[chain[0].base])
    return chain


def _needed(stages: dict[str, Stage], target: str) -> list[Stage]:
    """Every stage `docker build --target <target>` builds."""
    needed: set[str] = set()
    todo = [target]
    while todo:
        name = todo.pop()
        if name in needed or name not in stages:
            continue
        needed.add(name)
        todo += [stages[name].base, *stages[name].copies_from()]
    return [stages[n] for n in sorted(needed)]


def _instructions(stages: Iterable[Stage]) -> list[str]:
    return [i for stage in stages for i in stage.instructions]


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


def test_one_target_per_service() -> None:
    stages = _stages()
    assert set(SERVICES) <= set(stages)
    for service in SERVICES:
        assert not (REPO / service / "Dockerfile").exists(), "the root Dockerfile builds it"


@pytest.mark.parametrize("service", SERVICES)
def test_image_installs_only_its_service(service: str) -> None:
    stages = _stages()
    package = f"euglena-{service}"
    instructions = _instructions(_needed(stages, service))
    syncs = [i for i in instructions if "uv sync " in i]
    assert syncs and all(f"--package {package}" in s and "--frozen" in s for s in syncs)
    assert all("--no-dev" in s and "--no-default-groups" in s for s in syncs)
    sources = {m for i in instructions for m in re.findall(r"^COPY (\w+)/ ", i)}
    assert sources == {"core", service}, f"{service} image is built from {sources} sources"
    installed = _exported(package)
    assert MUST[service] <= installed
    for owner, packages in OWNED.items():
        if owner != service:
            assert not packages & installed, f"{service} image would contain {packages & installed}"


@pytest.mark.parametrize("service", SERVICES)
def test_image_is_multi_stage_slim_and_non_root(service: str) -> None:
    stages = _stages()
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in DOCKERFILE.read_text()
    assert len(_needed(stages, service)) >= 3
    image = _ancestry(stages, service)
    assert image[0].base == "${PYTHON_IMAGE}"
    final = _instructions(image)
    venvs = [i.split()[1].removeprefix("--from=") for i in final if i.endswith(" /app/.venv")]
    assert len(venvs) == 1 and f"COPY --from={venvs[0]} /app/.venv /app/.venv" in final
    build = _instructions(_ancestry(stages, venvs[0]))
    assert any(i.startswith("ENV ") and "UV_COMPILE_BYTECODE=1" in i for i in build)
    users = [i for i in final if i.startswith("USER ")]
    assert users and users[-1] == "USER 10001:10001", "the runtime stage must not run as root"
    assert any(i.startswith("ENV ") and "PYTHONDONTWRITEBYTECODE=1" in i for i in final)
    assert [i for i in final if i.startswith("ENTRYPOINT ")] == [
        f'ENTRYPOINT ["euglena-{service}"]'
    ]
    assert not any("/usr/local/bin/uv" in i for i in final), "uv stays in the build stage"


@pytest.mark.parametrize("service", SERVICES)
def test_only_the_gateway_image_builds_the_web_ui(service: str) -> None:
    stages = _stages()
    frontend = stages["frontend"].instructions
    assert any("npm ci" in i and "npm run build" in i for i in frontend)
    final = _instructions(_ancestry(stages, service))
    serves = "COPY --from=frontend /out /app/frontend" in final
    assert serves == (service == "gateway")
    built = {stage.name for stage in _needed(stages, service)}
    assert ("frontend" in built) == (service == "gateway"), f"{service} needs no Node stage"


def test_build_context_leaves_out_local_state() -> None:
    ignored = (REPO / ".dockerignore").read_text().split()
    for pattern in ("**/.venv", "**/node_modules", "**/.git", "tests", "charts"):
        assert pattern in ignored


def test_the_chart_runs_the_chroma_server_release_of_the_agents_client() -> None:
    """The in-chart ChromaDB server and the agent's chromadb client are the same release: the
    pair the kind tier runs together (its local Chroma image is built at uv.lock's version)."""
    import yaml

    from euglena_devkit.kind.images import chroma_version

    values = yaml.safe_load((REPO / "charts" / "euglena" / "values.yaml").read_text())
    assert str(values["chroma"]["image"]["tag"]) == chroma_version()


def test_local_images_values_name_the_images_the_kind_tier_builds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ci/local-images-values.yaml (for skaffold and manual installs on machines without a
    registry) sets exactly the image values the kind tier overrides with its local builds."""
    import yaml

    from euglena_devkit.kind.images import MODE_ENV, image_set

    monkeypatch.setenv(MODE_ENV, "local")
    values = yaml.safe_load((REPO / "charts/euglena/ci/local-images-values.yaml").read_text())

    def flat(doc: dict[str, object], prefix: str = "") -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in doc.items():
            if isinstance(value, dict):
                out.update(flat(value, f"{prefix}{key}."))
            else:
                out[f"{prefix}{key}"] = str(value)
        return out

    assert flat(values) == dict(image_set().chart_values)
