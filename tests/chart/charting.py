"""Helpers for the chart tests: run helm, pick objects out of rendered manifests."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "euglena"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
# The chart refuses to render without a model endpoint; every render starts from one, and a
# test or values file that means otherwise says so (``agent.model.apiUrl: ""``).
MODEL_VALUES = Path(__file__).with_name("model-values.yaml")
RELEASE = "euglena"
NAMESPACE = "euglena"

Obj = dict[str, Any]
Render = Callable[..., list[Obj]]


class HelmError(Exception):
    """helm exited non-zero; the message is its stderr."""


def helm_path() -> Path | None:
    try:
        from euglena_devkit.cluster import tools_bin_dir

        path = tools_bin_dir() / "helm"
    except Exception:  # the cluster kit cannot say where its tools are
        return None
    return path if path.is_file() else None


def run_helm(helm: Path, *args: str) -> str:
    proc = subprocess.run([str(helm), *args], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise HelmError(proc.stderr.strip() or proc.stdout.strip())
    return proc.stdout


def template_args(
    values_files: Iterable[Path | str],
    set_values: Mapping[str, str] | None = None,
    api_versions: Iterable[str] = (),
) -> list[str]:
    args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE, "-f", str(MODEL_VALUES)]
    for path in values_files:
        args += ["-f", str(path)]
    for key, value in (set_values or {}).items():
        args += ["--set", f"{key}={value}"]
    for api in api_versions:
        args += ["--api-versions", api]
    return args


def find(objects: list[Obj], kind: str, component: str | None = None) -> list[Obj]:
    """Objects of ``kind`` (and of ``app.kubernetes.io/component`` when given)."""
    return [
        obj
        for obj in objects
        if obj["kind"] == kind
        and (
            component is None
            or obj["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component
        )
    ]


def one(objects: list[Obj], kind: str, component: str | None = None) -> Obj:
    found = find(objects, kind, component)
    assert len(found) == 1, f"expected one {kind} {component or ''}, got {len(found)}"
    return found[0]


def pod_spec(workload: Obj) -> Obj:
    spec: Obj = workload["spec"]["template"]["spec"]
    return spec


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())
