"""Where the pinned control-plane binaries live, and building them (``hack/k8s/build.sh``)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO_ROOT: Path = Path(__file__).resolve().parents[4]
BUILD_SCRIPT = REPO_ROOT / "hack" / "k8s" / "build.sh"
TOOLS = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "kubectl",
    "helm",
)


def tools_bin_dir() -> Path:
    """Where the pinned binaries live: ``$EUGLENA_K8S_BIN`` or the build script's cache."""
    override = os.environ.get("EUGLENA_K8S_BIN")
    if override:
        return Path(override)
    out = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "--bin-dir"], capture_output=True, text=True, check=True
    )
    return Path(out.stdout.strip())


def tools_built(bin_dir: Path | None = None) -> bool:
    if bin_dir is not None or os.environ.get("EUGLENA_K8S_BIN"):
        directory = bin_dir or tools_bin_dir()
        return (
            all((directory / tool).is_file() for tool in TOOLS) and stages_file(directory).is_file()
        )
    return subprocess.run(["bash", str(BUILD_SCRIPT), "--check"], check=False).returncode == 0


def build_tools() -> Path:
    """Build (or confirm) the pinned binaries; progress goes to stderr. Returns the bin dir."""
    subprocess.run(["bash", str(BUILD_SCRIPT)], check=True)
    return tools_bin_dir()


def stages_file(bin_dir: Path) -> Path:
    """kwok's Stage definitions, written by the build next to ``bin/``."""
    return bin_dir.parent / "kwok-stages.yaml"
