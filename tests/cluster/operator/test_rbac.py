"""The identity the operator runs with in these tests can do what it needs and nothing more."""

from __future__ import annotations

from pathlib import Path

import pytest

from euglena_devkit.cluster.testing import K8sCluster

pytestmark = pytest.mark.cluster


@pytest.mark.parametrize(
    ("verb", "resource", "allowed"),
    [
        ("watch", "agenttasks.euglena.dev", True),
        ("patch", "agenttasks.euglena.dev/status", True),
        ("delete", "agenttasks.euglena.dev", True),
        ("patch", "deployments.apps/scale", True),
        ("patch", "pods", True),
        ("create", "events", True),
        ("create", "agenttasks.euglena.dev", False),
        ("patch", "agentpools.euglena.dev", False),
        ("patch", "agentpools.euglena.dev/status", True),
        ("patch", "deployments.apps/status", False),
        ("patch", "deployments.apps", False),
        ("delete", "pods", False),
        ("get", "secrets", False),
        ("list", "customresourcedefinitions.apiextensions.k8s.io", False),
    ],
)
def test_operator_token_is_least_privilege(
    k8s_cluster: K8sCluster, operator_kubeconfig: Path, verb: str, resource: str, allowed: bool
) -> None:
    kind, _, subresource = resource.partition("/")
    extra = [f"--subresource={subresource}"] if subresource else []
    result = k8s_cluster.kubectl(
        "--kubeconfig",
        str(operator_kubeconfig),
        "auth",
        "can-i",
        verb,
        kind,
        *extra,
        "--all-namespaces",
        check=False,
    )
    assert result.stdout.strip() == ("yes" if allowed else "no"), result.stderr
