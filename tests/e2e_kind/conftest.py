"""kind tier: the images built with Docker, loaded into a kind cluster, the chart installed.

Needs Docker (a running daemon) and a `kind` binary on PATH. Where either is missing every
test here is skipped with the reason. Nothing is ever downloaded: pytest-kind would fetch kind
and kubectl when they are absent, so it is only handed binaries that exist (kind from PATH,
kubectl from the local control plane's tools).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).parent


def unavailable() -> str | None:
    """Why this tier cannot run here, or None."""
    if shutil.which("docker") is None:
        return "Docker is not installed"
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "`docker info` timed out: the Docker daemon does not answer"
    if info.returncode != 0:
        return "`docker info` failed: no Docker daemon is running"
    if shutil.which("kind") is None:
        return "kind is not on PATH (install it; these tests never download it)"
    if _kubectl() is None:
        return "kubectl is not built: run `make k8s-tools`"
    return None


def _kubectl() -> Path | None:
    try:
        from euglena_devkit.cluster import tools_bin_dir

        path = tools_bin_dir() / "kubectl"
    except Exception:
        return None
    return path if path.is_file() else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if E2E_DIR in Path(item.path).parents]
    if not ours:
        return
    reason = unavailable()
    for item in ours:
        item.add_marker(pytest.mark.e2e_kind)
        if reason:
            item.add_marker(pytest.mark.skip(reason=f"kind e2e skipped: {reason}"))


@pytest.fixture(scope="session")
def kind_tools() -> Iterator[tuple[Path, Path]]:
    kind, kubectl = shutil.which("kind"), _kubectl()
    assert kind is not None and kubectl is not None
    yield Path(kind), kubectl
