"""Helpers for the operator's cluster tests: a running operator subprocess, awaiting, kubectl."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from euglena_devkit.cluster.testing import K8sCluster
from euglena_devkit.services import free_port
from euglena_devkit.supervisor import Child, Supervisor
from euglena_devkit.waiting import eventually


class OperatorProcess:
    def __init__(self, child: Child, metrics_port: int, liveness_port: int) -> None:
        self.log = child.log
        self.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        self.healthz_url = f"http://127.0.0.1:{liveness_port}/healthz"

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def metrics(self) -> str:
        return httpx.get(self.metrics_url, timeout=5).text


@contextlib.contextmanager
def running_operator(kubeconfig: Path, workdir: Path, **env: str) -> Iterator[OperatorProcess]:
    metrics_port, liveness_port = free_port(), free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if k != "KUBECONFIG"},
        "KUBECONFIG": str(kubeconfig),
        "EUGLENA_ENV": "dev",
        "LOG_LEVEL": "DEBUG",
        "METRICS_PORT": str(metrics_port),
        "LIVENESS_PORT": str(liveness_port),
        "STATUS_SYNC_INTERVAL_SECONDS": "0.5",
        **env,
    }
    procs = Supervisor(workdir)
    child = procs.start(
        f"operator-{uuid.uuid4().hex[:6]}",
        [sys.executable, "-m", "euglena_operator"],
        env=environment,
    )
    operator = OperatorProcess(child, metrics_port, liveness_port)

    def healthy() -> bool:
        procs.check(waiting_for="the operator's /healthz")
        return httpx.get(operator.healthz_url, timeout=1).status_code == 200

    try:
        eventually(healthy, 60, "the operator's /healthz", ignoring=(httpx.HTTPError,))
        yield operator
    finally:
        procs.stop_all(grace=30)
        sys.stderr.write(f"\n--- operator log tail ({child.log}) ---\n{operator.logs()[-6000:]}\n")


def kubectl_json(cluster: K8sCluster, *args: str) -> Any:
    result = cluster.kubectl(*args, "-o", "json", check=False)
    if result.returncode != 0:
        return None
    return json.loads(result.stdout)
