"""`helm install` of charts/euglena into the real control plane (fake kwok nodes).

What the fake nodes allow us to check: the API server accepts every object the chart renders
(schemas, CRDs, CEL rules, RBAC escalation checks), the scheduler places every pod on a node,
the ServiceAccount admission really leaves agent pods without a token, an upgrade keeps the
replica count the operator chose, and `helm test` runs its hook Job to completion. Containers
never run on kwok nodes, so the hook's curl against /ready is not executed here: kwok marks
Job pods Succeeded. The e2e_kind tier runs the same hook with real containers.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from euglena_devkit.cluster.testing import K8sCluster
from euglena_devkit.waiting import eventually

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "charts" / "euglena"
RELEASE = "chart-test"
DEV_VALUES = CHART / "ci" / "dev-values.yaml"


def _run(cmd: list[str], timeout: float = 240) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd[:3])}… failed:\n{proc.stderr or proc.stdout}"
    return proc.stdout


def _get(cluster: K8sCluster, *args: str) -> Any:
    return json.loads(_run(cluster.kubectl_cmd("get", *args, "-o", "json")))


@pytest.fixture(scope="module")
def installed(k8s_cluster: K8sCluster) -> Iterator[str]:
    namespace = "euglena-chart"
    _run(k8s_cluster.kubectl_cmd("create", "namespace", namespace))
    _run(
        k8s_cluster.helm_cmd(
            "install",
            RELEASE,
            str(CHART),
            "-n",
            namespace,
            "-f",
            str(DEV_VALUES),
            "--wait",
            "--timeout",
            "180s",
        )
    )
    yield namespace
    _run(k8s_cluster.helm_cmd("uninstall", RELEASE, "-n", namespace, "--wait"))
    _run(k8s_cluster.kubectl_cmd("delete", "namespace", namespace, "--wait=false"))


def test_every_rendered_object_exists(k8s_cluster: K8sCluster, installed: str) -> None:
    manifest = _run(k8s_cluster.helm_cmd("get", "manifest", RELEASE, "-n", installed))
    objects = [doc for doc in yaml.safe_load_all(manifest) if doc]
    kinds = {obj["kind"] for obj in objects}
    assert {"Deployment", "StatefulSet", "NetworkPolicy", "AgentPool", "ClusterRole"} <= kinds
    for obj in objects:
        namespace = ["-n", installed] if obj["metadata"].get("namespace") else []
        _get(k8s_cluster, obj["kind"], obj["metadata"]["name"], *namespace)
    status = json.loads(
        _run(k8s_cluster.helm_cmd("status", RELEASE, "-n", installed, "-o", "json"))
    )
    assert status["info"]["status"] == "deployed"


def test_every_pod_is_scheduled_and_running(k8s_cluster: K8sCluster, installed: str) -> None:
    pods = _get(k8s_cluster, "pods", "-n", installed)["items"]
    components = {p["metadata"]["labels"]["app.kubernetes.io/component"] for p in pods}
    assert components == {"gateway", "agent", "operator", "redis", "rabbitmq", "chroma"}
    for pod in pods:
        name = pod["metadata"]["name"]
        assert pod["spec"]["nodeName"] in k8s_cluster.node_names, name
        assert pod["status"]["phase"] == "Running", name


def test_agent_pods_carry_no_service_account_token(k8s_cluster: K8sCluster, installed: str) -> None:
    def token_volumes(component: str) -> list[str]:
        pods = _get(
            k8s_cluster,
            "pods",
            "-n",
            installed,
            "-l",
            f"app.kubernetes.io/component={component}",
        )["items"]
        assert pods, component
        return [
            v["name"]
            for p in pods
            for v in p["spec"].get("volumes", [])
            if v["name"].startswith("kube-api-access")
        ]

    assert token_volumes("agent") == []
    assert token_volumes("operator"), "the operator needs its token to call the API"


def test_agent_networkpolicy_is_accepted(k8s_cluster: K8sCluster, installed: str) -> None:
    policy = _get(k8s_cluster, "networkpolicy", f"{RELEASE}-euglena-agent", "-n", installed)
    internet = [r for r in policy["spec"]["egress"] if r.get("to", [{}])[0].get("ipBlock")]
    assert "10.0.0.0/8" in internet[0]["to"][0]["ipBlock"]["except"]


def test_upgrade_keeps_the_replicas_the_operator_set(
    k8s_cluster: K8sCluster, installed: str
) -> None:
    deployment = f"{RELEASE}-euglena-agent"
    _run(
        k8s_cluster.kubectl_cmd("scale", "deployment", deployment, "-n", installed, "--replicas=3")
    )
    _run(
        k8s_cluster.helm_cmd(
            "upgrade",
            RELEASE,
            str(CHART),
            "-n",
            installed,
            "-f",
            str(DEV_VALUES),
            "--set",
            "logging.level=INFO",
            "--wait",
            "--timeout",
            "180s",
        )
    )
    spec = _get(k8s_cluster, "deployment", deployment, "-n", installed)["spec"]
    assert spec["replicas"] == 3

    def running() -> bool:
        pods: list[dict[str, Any]] = _get(
            k8s_cluster, "pods", "-n", installed, "-l", "app.kubernetes.io/component=agent"
        )["items"]
        return sum(1 for p in pods if p["status"].get("phase") == "Running") >= 3

    eventually(running, 60, "three running agent pods after the upgrade")


def test_helm_test_runs_its_hook(k8s_cluster: K8sCluster, installed: str) -> None:
    out = _run(k8s_cluster.helm_cmd("test", RELEASE, "-n", installed, "--timeout", "120s"))
    assert f"{RELEASE}-euglena-test" in out
    assert "Succeeded" in out
