"""The release the kind tests run against, and helpers to look at it from the cluster and node.

``install_release`` puts PostgreSQL (with the Supabase migrations, the local auth shim and the
seed) in the ``euglena-db`` namespace and the chart in ``euglena``, a namespace that enforces the
``restricted`` Pod Security Standard, so the API server itself refuses any chart pod that does
not comply.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from euglena.settings import DEV_JWT_SECRET
from euglena_devkit import waiting
from euglena_devkit.kind.cluster import KindCluster
from euglena_devkit.services import supabase_sql_files
from euglena_devkit.tokens import mint_service_token

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "euglena"
NAMESPACE = "euglena"
DB_NAMESPACE = "euglena-db"
RELEASE = "euglena"
DEMO_USER = "00000000-0000-4000-8000-00000000d3e0"  # supabase/seed.sql

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float, what: str, interval: float = 2) -> T:
    """The devkit's polling helper, at a pace that suits kubectl."""
    return waiting.eventually(check, timeout, what, interval=interval)


def app_deployment(
    container: dict[str, Any], volumes: list[dict[str, Any]], namespace: str | None = None
) -> dict[str, Any]:
    """A one-container Deployment named after its container, its pods labelled ``app=<name>``."""
    name = container["name"]
    labels = {"app": name}
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [container], "volumes": volumes},
            },
        },
    }


def postgres_manifest(image: str) -> str:
    scripts = {f"{i:02d}-{p.name}": p.read_text() for i, p in enumerate(supabase_sql_files(REPO))}
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "postgres-init"},
            "data": scripts,
        },
        app_deployment(
            {
                "name": "postgres",
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "env": [{"name": "POSTGRES_PASSWORD", "value": "postgres"}],
                "ports": [{"containerPort": 5432}],
                "readinessProbe": {
                    "exec": {"command": ["pg_isready", "-U", "postgres"]},
                    "periodSeconds": 2,
                },
                "volumeMounts": [
                    {"name": "init", "mountPath": "/docker-entrypoint-initdb.d"},
                    {"name": "data", "mountPath": "/var/lib/postgresql/data"},
                ],
            },
            [
                {"name": "init", "configMap": {"name": "postgres-init"}},
                {"name": "data", "emptyDir": {}},
            ],
        ),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "postgres"},
            "spec": {"selector": {"app": "postgres"}, "ports": [{"port": 5432}]},
        },
    ]
    return yaml.safe_dump_all(objects)


def release_values(cluster: KindCluster) -> dict[str, str]:
    tag = next(iter(cluster.images.services.values())).rsplit(":", 1)[1]
    return {
        "secrets.databaseUrl": (
            f"postgresql://postgres:postgres@postgres.{DB_NAMESPACE}.svc:5432/postgres"
        ),
        "secrets.supabaseServiceRoleKey": mint_service_token(DEV_JWT_SECRET),
        "operator.defaultUserId": DEMO_USER,
        **{f"{s}.image.tag": tag for s in ("gateway", "agent", "operator")},
        **{f"{s}.image.pullPolicy": "Never" for s in ("gateway", "agent", "operator")},
        # A burst of 12 tasks should need three agents, and the pool should come back down
        # soon after the queue drains.
        "agentPool.maxReplicas": "3",
        "agentPool.targetPerReplica": "4",
        "agentPool.pollingIntervalSeconds": "2",
        "agentPool.scaleDownStabilizationSeconds": "20",
        # Queue and status survive their pods (local-path volumes), as in production.
        "rabbitmq.persistence.enabled": "true",
        "redis.persistence.enabled": "true",
        **cluster.images.chart_values,
    }


def helm_set_args(values: Mapping[str, object]) -> list[str]:
    """``--set key=value`` for strings, ``--set-json key=<json>`` for everything else."""
    args: list[str] = []
    for key, value in values.items():
        if isinstance(value, str):
            args += ["--set", f"{key}={value}"]
        else:
            args += ["--set-json", f"{key}={json.dumps(value)}"]
    return args


@dataclass
class Release:
    cluster: KindCluster
    install_seconds: float

    def kubectl(self, *args: str | Path, input: str | None = None, timeout: float = 300) -> str:
        return self.cluster.kubectl("-n", NAMESPACE, *args, input=input, timeout=timeout)

    def json(self, *args: str) -> dict[str, Any]:
        return self.cluster.json("-n", NAMESPACE, *args)

    def pods(self, selector: str | None = None) -> list[dict[str, Any]]:
        args = ["get", "pods"] + (["-l", selector] if selector else [])
        items: list[dict[str, Any]] = self.json(*args)["items"]
        return items

    def agent_pods(self) -> list[dict[str, Any]]:
        return self.pods("app.kubernetes.io/component=agent")

    def upgrade(self, values: Mapping[str, object], *, timeout: str = "10m") -> float:
        """``helm upgrade --reuse-values`` with ``values`` on top; returns its duration."""
        started = time.monotonic()
        self.cluster.helm(
            "upgrade",
            RELEASE,
            CHART,
            "-n",
            NAMESPACE,
            "--reuse-values",
            *helm_set_args(values),
            "--wait",
            "--timeout",
            timeout,
        )
        return time.monotonic() - started

    def patch_pool(self, spec: Mapping[str, object]) -> None:
        self.kubectl(
            "patch",
            "agentpool",
            f"{RELEASE}-agent",
            "--type=merge",
            "-p",
            json.dumps({"spec": spec}),
        )

    def apply_tasks(self, tasks: list[dict[str, Any]]) -> None:
        self.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(tasks))

    def tasks(self, selector: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.json("get", "agenttasks", "-l", selector)["items"]
        return items


def agent_task(name: str, mandate: str, ticks: int, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "euglena.dev/v1alpha1",
        "kind": "AgentTask",
        "metadata": {"name": name, "labels": labels},
        "spec": {"mandate": mandate, "maxTicks": ticks},
    }


def install_release(cluster: KindCluster) -> Release:
    postgres = cluster.images.dependencies.get("postgres") or "postgres:16-alpine"
    cluster.kubectl("create", "namespace", DB_NAMESPACE)
    cluster.kubectl("-n", DB_NAMESPACE, "apply", "-f", "-", input=postgres_manifest(postgres))
    cluster.kubectl(
        "-n", DB_NAMESPACE, "rollout", "status", "deployment/postgres", "--timeout=300s"
    )
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": NAMESPACE,
            "labels": {
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
            },
        },
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(namespace))
    started = time.monotonic()
    cluster.helm(
        "install",
        RELEASE,
        CHART,
        "-n",
        NAMESPACE,
        "-f",
        CHART / "ci" / "dev-values.yaml",
        *helm_set_args(release_values(cluster)),
        "--wait",
        "--timeout",
        "15m",
    )
    return Release(cluster, time.monotonic() - started)


# --- the node's view of a container ----------------------------------------------------------


def node_name(cluster: KindCluster) -> str:
    return f"{cluster.name}-control-plane"


def node_exec(cluster: KindCluster, *args: str) -> str:
    done = subprocess.run(
        ["docker", "exec", node_name(cluster), *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"{' '.join(args[:3])} in the node failed: {done.stderr}"
    return done.stdout


@dataclass(frozen=True)
class ProcessState:
    """What the kernel says about a container's main process."""

    uid: int
    no_new_privs: bool
    seccomp_filtered: bool
    effective_caps: int
    root_read_only: bool


def container_process(cluster: KindCluster, container_id: str) -> ProcessState:
    """The state of a container's process, read on the node from /proc via its CRI pid."""
    cid = container_id.split("://", 1)[-1]
    info = json.loads(node_exec(cluster, "crictl", "inspect", cid))
    pid = int(info["info"]["pid"])
    status = node_exec(cluster, "cat", f"/proc/{pid}/status")

    def field(name: str) -> str:
        found = re.search(rf"^{name}:\s*(.+)$", status, re.M)
        assert found, f"/proc/{pid}/status has no {name}"
        return found.group(1).split()[0]

    root_options = ""
    for line in node_exec(cluster, "cat", f"/proc/{pid}/mountinfo").splitlines():
        parts = line.split()
        if parts[4] == "/":
            root_options = parts[5]
    return ProcessState(
        uid=int(field("Uid")),
        no_new_privs=field("NoNewPrivs") == "1",
        seccomp_filtered=field("Seccomp") == "2",
        effective_caps=int(field("CapEff"), 16),
        root_read_only=root_options.split(",")[0] == "ro",
    )
