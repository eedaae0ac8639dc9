"""Cluster-tier fixtures for the operator: CRDs, a least-privilege identity, a running operator.

The operator always runs as a subprocess (``python -m euglena_operator``), exactly as in its
image, authenticated with a TokenRequest token of a ServiceAccount bound only to
``operator/rbac/clusterrole.yaml`` — never as the admin the tests use.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from euglena_devkit.cluster.testing import K8sCluster

REPO = Path(__file__).resolve().parents[3]
CRDS = REPO / "crds"
RBAC = REPO / "operator" / "rbac" / "clusterrole.yaml"
OPERATOR_NAMESPACE = "euglena-system"
OPERATOR_SA = "euglena-operator"


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
