"""Where the kind tier's binaries live (``hack/kind/build.sh``) and the pinned versions."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO_ROOT: Path = Path(__file__).resolve().parents[4]
BUILD_SCRIPT = REPO_ROOT / "hack" / "kind" / "build.sh"


def read_env(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a versions file (comments and blank lines skipped)."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def kind_bin_dir() -> Path:
    out = subprocess.run(
        ["bash", str(BUILD_SCRIPT), "--bin-dir"], capture_output=True, text=True, check=True
    )
    return Path(out.stdout.strip())


def kind_tools_built() -> bool:
    return subprocess.run(["bash", str(BUILD_SCRIPT), "--check"], check=False).returncode == 0


def build_kind_tools() -> Path:
    """Build (or confirm) kind and the node binaries; progress goes to stderr."""
    subprocess.run(["bash", str(BUILD_SCRIPT)], check=True)
    return kind_bin_dir()


def kind_module_dir() -> Path:
    """The pinned sigs.k8s.io/kind module in Go's module cache (downloaded by the build)."""
    go = shutil.which("go") or "/usr/local/go/bin/go"
    out = subprocess.run(
        [go, "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kind"],
        cwd=REPO_ROOT / "hack" / "kind" / "kind",
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"},
    )
    return Path(out.stdout.strip())
