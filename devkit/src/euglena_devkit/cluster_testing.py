"""What cluster-tier tests get from the ``k8s_cluster`` fixture (tests/cluster/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from euglena_devkit.cluster import LocalCluster

T = TypeVar("T")


@dataclass
class K8sCluster:
    """What a cluster test needs to talk to the running control plane."""

    local: LocalCluster
    kubeconfig: Path
    server: str
    bin_dir: Path
    ca_file: Path
    node_names: list[str] = field(default_factory=list)

    def kubectl_cmd(self, *args: str) -> list[str]:
        return [str(self.bin_dir / "kubectl"), "--kubeconfig", str(self.kubeconfig), *args]

    def helm_cmd(self, *args: str) -> list[str]:
        return [str(self.bin_dir / "helm"), "--kubeconfig", str(self.kubeconfig), *args]

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.kubectl_cmd(*args), input=input, capture_output=True, text=True, check=check
        )

    def env(self) -> dict[str, str]:
        """os.environ plus KUBECONFIG and kubectl/helm on PATH, for subprocesses."""
        return {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    def api_client(self) -> Any:
        """A new admin ``kubernetes.client.ApiClient``; use it as a context manager."""
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig))  # type: ignore[no-untyped-call]


def eventually(check: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)
