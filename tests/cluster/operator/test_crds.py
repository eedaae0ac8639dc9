"""The CRDs as a kubectl user meets them: printer columns, defaults and clear rejections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from euglena_devkit.cluster.testing import K8sCluster

pytestmark = pytest.mark.cluster

SAMPLES = Path(__file__).resolve().parents[3] / "crds" / "samples"


def task_yaml(name: str, **spec: object) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "euglena.dev/v1alpha1",
            "kind": "AgentTask",
            "metadata": {"name": name},
            "spec": spec,
        }
    )


def apply(cluster: K8sCluster, namespace: str, manifest: str) -> tuple[int, str]:
    result = cluster.kubectl("apply", "-n", namespace, "-f", "-", input=manifest, check=False)
    return result.returncode, result.stdout + result.stderr


def test_sample_task_is_listed_with_printer_columns_short_name_and_category(
    k8s_cluster: K8sCluster, euglena_crds: None, k8s_namespace: str
) -> None:
    k8s_cluster.kubectl("apply", "-n", k8s_namespace, "-f", str(SAMPLES / "agenttask.yaml"))
    listing = k8s_cluster.kubectl("get", "agenttasks", "-n", k8s_namespace).stdout
    header = listing.splitlines()[0].split()
    assert header == ["NAME", "PHASE", "TICKS", "MAX", "REASON", "AGE"]
    assert "hello-euglena" in listing
    wide = k8s_cluster.kubectl("get", "at", "-n", k8s_namespace, "-o", "wide").stdout
    assert wide.splitlines()[0].split()[-2:] == ["WORKER", "CORRELATION"]
    everything = k8s_cluster.kubectl("get", "euglena", "-n", k8s_namespace).stdout
    assert "agenttask.euglena.dev/hello-euglena" in everything


def test_defaults_are_filled_in(
    k8s_cluster: K8sCluster, euglena_crds: None, k8s_namespace: str
) -> None:
    code, out = apply(k8s_cluster, k8s_namespace, task_yaml("defaults", mandate="hi"))
    assert code == 0, out
    stored = json.loads(
        k8s_cluster.kubectl(
            "get", "agenttask", "defaults", "-n", k8s_namespace, "-o", "json"
        ).stdout
    )
    assert stored["spec"] == {"mandate": "hi", "maxTicks": 10}

    k8s_cluster.kubectl("apply", "-n", k8s_namespace, "-f", str(SAMPLES / "agentpool.yaml"))
    pool = json.loads(
        k8s_cluster.kubectl("get", "agentpool", "agents", "-n", k8s_namespace, "-o", "json").stdout
    )
    assert pool["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "euglena-agent",
    }


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"mandate": ""},
            'spec.mandate: Invalid value: "": spec.mandate in body should be at least 1 chars long',
        ),
        ({"maxTicks": 5}, "spec.mandate: Required value"),
        (
            {"mandate": "x", "maxTicks": 0},
            "spec.maxTicks: Invalid value: 0: spec.maxTicks in "
            "body should be greater than or equal to 1",
        ),
        (
            {"mandate": "x", "maxTicks": 51},
            "spec.maxTicks: Invalid value: 51: spec.maxTicks "
            "in body should be less than or equal to 50",
        ),
        ({"mandate": "x", "userId": "bob"}, 'spec.userId: Invalid value: "bob"'),
        ({"mandate": "x", "priority": "high"}, 'unknown field "spec.priority"'),
        (
            {"mandate": "x", "activeDeadlineSeconds": 0},
            "spec.activeDeadlineSeconds: Invalid value: 0",
        ),
    ],
    ids=[
        "empty-mandate",
        "no-mandate",
        "zero-ticks",
        "too-many-ticks",
        "bad-user",
        "unknown-field",
        "zero-deadline",
    ],
)
def test_invalid_task_specs_are_rejected_with_clear_messages(
    k8s_cluster: K8sCluster,
    euglena_crds: None,
    k8s_namespace: str,
    spec: dict[str, object],
    expected: str,
) -> None:
    code, out = apply(k8s_cluster, k8s_namespace, task_yaml("bad", **spec))
    assert code != 0
    assert expected in out
    missing = k8s_cluster.kubectl("get", "agenttask", "bad", "-n", k8s_namespace, check=False)
    assert missing.returncode != 0


def test_editing_a_submitted_spec_is_rejected_but_labels_may_change(
    k8s_cluster: K8sCluster, euglena_crds: None, k8s_namespace: str
) -> None:
    code, out = apply(k8s_cluster, k8s_namespace, task_yaml("fixed", mandate="a", maxTicks=3))
    assert code == 0, out
    code, out = apply(k8s_cluster, k8s_namespace, task_yaml("fixed", mandate="b", maxTicks=3))
    assert code != 0
    assert "spec is immutable once the task is submitted" in out
    patched = k8s_cluster.kubectl(
        "patch",
        "agenttask",
        "fixed",
        "-n",
        k8s_namespace,
        "--type",
        "merge",
        "-p",
        '{"spec": {"maxTicks": 4}}',
        check=False,
    )
    assert patched.returncode != 0 and "spec is immutable" in patched.stderr
    k8s_cluster.kubectl("label", "agenttask", "fixed", "-n", k8s_namespace, "team=research")
    stored = json.loads(
        k8s_cluster.kubectl("get", "agenttask", "fixed", "-n", k8s_namespace, "-o", "json").stdout
    )
    assert stored["spec"]["mandate"] == "a"
    assert stored["metadata"]["labels"] == {"team": "research"}


def test_pool_bounds_are_validated(
    k8s_cluster: K8sCluster, euglena_crds: None, k8s_namespace: str
) -> None:
    pool = {
        "apiVersion": "euglena.dev/v1alpha1",
        "kind": "AgentPool",
        "metadata": {"name": "p"},
        "spec": {"scaleTargetRef": {"name": "agents"}, "minReplicas": 5, "maxReplicas": 2},
    }
    code, out = apply(k8s_cluster, k8s_namespace, yaml.safe_dump(pool))
    assert code != 0 and "minReplicas must not exceed maxReplicas" in out
    pool["spec"] = {"scaleTargetRef": {"name": "agents"}, "targetPerReplica": 0}
    code, out = apply(k8s_cluster, k8s_namespace, yaml.safe_dump(pool))
    assert code != 0 and "spec.targetPerReplica" in out
