"""Full install on kind with real containers: images built from this tree, the chart with an
in-cluster PostgreSQL holding the Supabase migrations, an AgentTask run to Completed, and the
AgentPool scaling the agents on queue depth."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from euglena.settings import DEV_JWT_SECRET
from euglena_devkit.services import supabase_sql_files
from euglena_devkit.tokens import mint_service_token
from euglena_devkit.waiting import eventually

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "euglena"
NAMESPACE = "euglena"
TAG = "e2e"
SERVICES = ("gateway", "agent", "operator")

pytestmark = [pytest.mark.e2e_kind, pytest.mark.timeout(1800)]


def _sh(*cmd: str | Path, timeout: float = 900, input: str | None = None) -> str:
    proc = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, input=input
    )
    assert proc.returncode == 0, f"{' '.join(map(str, cmd[:4]))}… failed:\n{proc.stderr}"
    return proc.stdout


def _postgres_manifest() -> str:
    scripts = {f"{i:02d}-{p.name}": p.read_text() for i, p in enumerate(supabase_sql_files(REPO))}
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "postgres-init"},
            "data": scripts,
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "postgres"},
            "spec": {
                "selector": {"matchLabels": {"app": "postgres"}},
                "template": {
                    "metadata": {"labels": {"app": "postgres"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "postgres",
                                "image": "postgres:16-alpine",
                                "env": [{"name": "POSTGRES_PASSWORD", "value": "postgres"}],
                                "ports": [{"containerPort": 5432}],
                                "readinessProbe": {
                                    "exec": {"command": ["pg_isready", "-U", "postgres"]}
                                },
                                "volumeMounts": [
                                    {"name": "init", "mountPath": "/docker-entrypoint-initdb.d"}
                                ],
                            }
                        ],
                        "volumes": [{"name": "init", "configMap": {"name": "postgres-init"}}],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "postgres"},
            "spec": {"selector": {"app": "postgres"}, "ports": [{"port": 5432}]},
        },
    ]
    return yaml.safe_dump_all(objects)


@pytest.fixture(scope="module")
def cluster(
    kind_tools: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    from pytest_kind import KindCluster

    kind, kubectl = kind_tools
    for service in SERVICES:
        _sh(
            "docker",
            "build",
            "--target",
            service,
            "-t",
            f"euglena-{service}:{TAG}",
            REPO,
            timeout=1800,
        )
    name = f"euglena-e2e-{uuid.uuid4().hex[:6]}"
    kubeconfig = tmp_path_factory.mktemp("kind") / "kubeconfig"
    cluster = KindCluster(name, kubeconfig=kubeconfig, kind_path=kind, kubectl_path=kubectl)
    cluster.create()
    try:
        for service in SERVICES:
            cluster.load_docker_image(f"euglena-{service}:{TAG}")
        cluster.kubectl("create", "namespace", NAMESPACE)
        yield cluster
    finally:
        cluster.delete()


@pytest.fixture(scope="module")
def installed(cluster: Any, kind_tools: tuple[Path, Path]) -> str:
    kubeconfig = str(cluster.kubeconfig_path)
    _sh(
        kind_tools[1],
        "--kubeconfig",
        kubeconfig,
        "-n",
        NAMESPACE,
        "apply",
        "-f",
        "-",
        input=_postgres_manifest(),
    )
    helm = kind_tools[1].parent / "helm"
    values = {
        "secrets.databaseUrl": f"postgresql://postgres:postgres@postgres.{NAMESPACE}:5432/postgres",
        "secrets.supabaseServiceRoleKey": mint_service_token(DEV_JWT_SECRET),
        **{f"{s}.image.tag": TAG for s in SERVICES},
        **{f"{s}.image.pullPolicy": "Never" for s in SERVICES},
        "agentPool.maxReplicas": "3",
        "agentPool.targetPerReplica": "2",
    }
    args = [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]
    _sh(
        helm,
        "--kubeconfig",
        kubeconfig,
        "install",
        "euglena",
        CHART,
        "-n",
        NAMESPACE,
        "-f",
        CHART / "ci" / "dev-values.yaml",
        *args,
        "--wait",
        "--timeout",
        "10m",
    )
    return kubeconfig


def test_helm_test_reaches_a_ready_gateway(installed: str, kind_tools: tuple[Path, Path]) -> None:
    out = _sh(
        kind_tools[1].parent / "helm",
        "--kubeconfig",
        installed,
        "test",
        "euglena",
        "-n",
        NAMESPACE,
        "--timeout",
        "5m",
    )
    assert "Succeeded" in out


def test_an_agenttask_completes(installed: str, kind_tools: tuple[Path, Path]) -> None:
    kubectl: list[str | Path] = [kind_tools[1], "--kubeconfig", installed, "-n", NAMESPACE]
    _sh(*kubectl, "apply", "-f", REPO / "crds" / "samples" / "agenttask.yaml")
    name = yaml.safe_load((REPO / "crds" / "samples" / "agenttask.yaml").read_text())
    task = name["metadata"]["name"]
    _sh(*kubectl, "wait", "--for=condition=Complete", f"agenttask/{task}", "--timeout=600s")
    status = json.loads(_sh(*kubectl, "get", "agenttask", task, "-o", "json"))["status"]
    assert status["phase"] == "Completed" and status["result"]


def test_agents_scale_with_the_queue(installed: str, kind_tools: tuple[Path, Path]) -> None:
    kubectl: list[str | Path] = [kind_tools[1], "--kubeconfig", installed, "-n", NAMESPACE]
    tasks = [
        {
            "apiVersion": "euglena.dev/v1alpha1",
            "kind": "AgentTask",
            "metadata": {"name": f"burst-{i}"},
            "spec": {"mandate": f"Summarise topic number {i}.", "maxTicks": 3},
        }
        for i in range(12)
    ]
    _sh(*kubectl, "apply", "-f", "-", input=yaml.safe_dump_all(tasks))

    def scaled_up() -> int:
        deployment = json.loads(_sh(*kubectl, "get", "deployment", "euglena-agent", "-o", "json"))
        replicas = int(deployment["spec"].get("replicas", 0))
        return replicas if replicas >= 2 else 0

    eventually(scaled_up, 300, "the AgentPool to scale the agents up for a burst of 12 tasks")
    _sh(*kubectl, "wait", "--for=condition=Complete", "agenttask", "--all", "--timeout=900s")
