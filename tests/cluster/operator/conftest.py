"""Cluster-tier fixtures for the operator: CRDs, a least-privilege identity, a running operator.

The operator always runs as a subprocess (``python -m euglena_operator``), exactly as in its
image, authenticated with a TokenRequest token of a ServiceAccount bound only to
``operator/rbac/clusterrole.yaml`` — never as the admin the tests use.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml
from kubernetes import client

from euglena_devkit.cluster_testing import K8sCluster, eventually
from euglena_devkit.services import free_port

REPO = Path(__file__).resolve().parents[3]
CRDS = REPO / "crds"
RBAC = REPO / "operator" / "rbac" / "clusterrole.yaml"
OPERATOR_NAMESPACE = "euglena-system"
OPERATOR_SA = "euglena-operator"
T = TypeVar("T")


async def until(
    check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.1
) -> T:
    """Await until ``check()`` is truthy (the event loop keeps running meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(interval)


async def until_async(check: Callable[[], Awaitable[T | None]], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.1)


@pytest.fixture(scope="session")
def euglena_crds(k8s_cluster: K8sCluster) -> None:
    """The canonical CRDs, applied and Established."""
    k8s_cluster.kubectl(
        "apply",
        "-f",
        str(CRDS / "agenttasks.euglena.dev.yaml"),
        "-f",
        str(CRDS / "agentpools.euglena.dev.yaml"),
    )
    k8s_cluster.kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/agenttasks.euglena.dev",
        "crd/agentpools.euglena.dev",
    )


@pytest.fixture(scope="session")
def operator_kubeconfig(
    k8s_cluster: K8sCluster,
    k8s_api: Any,
    euglena_crds: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """A kubeconfig holding a ServiceAccount token bound only to the operator's ClusterRole."""
    core = client.CoreV1Api(k8s_api)
    with contextlib.suppress(client.ApiException):
        core.create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=OPERATOR_NAMESPACE))
        )
    with contextlib.suppress(client.ApiException):
        core.create_namespaced_service_account(
            OPERATOR_NAMESPACE,
            client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=OPERATOR_SA)),
        )
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "euglena-operator"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "euglena-operator",
        },
        "subjects": [
            {"kind": "ServiceAccount", "name": OPERATOR_SA, "namespace": OPERATOR_NAMESPACE}
        ],
    }
    k8s_cluster.kubectl("apply", "-f", str(RBAC))
    k8s_cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(binding))
    issued = core.create_namespaced_service_account_token(
        OPERATOR_SA,
        OPERATOR_NAMESPACE,
        client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=6 * 3600)
        ),
    )
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "local",
                "cluster": {
                    "server": k8s_cluster.server,
                    "certificate-authority": str(k8s_cluster.ca_file),
                },
            }
        ],
        "users": [{"name": "operator", "user": {"token": issued.status.token}}],
        "contexts": [{"name": "operator", "context": {"cluster": "local", "user": "operator"}}],
        "current-context": "operator",
    }
    path = tmp_path_factory.mktemp("operator") / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


class OperatorProcess:
    def __init__(
        self, proc: subprocess.Popen[bytes], log: Path, metrics_port: int, liveness_port: int
    ) -> None:
        self.proc = proc
        self.log = log
        self.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        self.healthz_url = f"http://127.0.0.1:{liveness_port}/healthz"

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def metrics(self) -> str:
        return httpx.get(self.metrics_url, timeout=5).text

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


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
    log = workdir / f"operator-{uuid.uuid4().hex[:6]}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "euglena_operator"],
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    operator = OperatorProcess(proc, log, metrics_port, liveness_port)

    def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"the operator exited:\n{operator.logs()[-4000:]}")
        try:
            return httpx.get(operator.healthz_url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        eventually(healthy, 60, "the operator's /healthz")
        yield operator
    finally:
        operator.stop()
        sys.stderr.write(f"\n--- operator log tail ({log}) ---\n{operator.logs()[-6000:]}\n")


def kubectl_json(cluster: K8sCluster, *args: str) -> Any:
    import json

    result = cluster.kubectl(*args, "-o", "json", check=False)
    if result.returncode != 0:
        return None
    return json.loads(result.stdout)
