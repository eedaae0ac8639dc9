"""What cluster-tier tests get from the ``k8s_cluster`` fixture (tests/cluster/conftest.py)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from euglena_devkit.cluster.local import LocalCluster


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
