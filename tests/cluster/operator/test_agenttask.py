"""AgentTask end to end: kubectl → operator (least-privilege token) → real gateway → real agent
workers (scripted OpenAI-compatible model) → status back on the AgentTask."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml
from operator_kit import OperatorProcess, kubectl_json, running_operator

from euglena.settings import DEV_JWT_SECRET
from euglena_devkit.cluster.testing import K8sCluster
from euglena_devkit.fakes.model import FakeModelServer, tool
from euglena_devkit.local_gateway import gateway_env
from euglena_devkit.services import free_port
from euglena_devkit.supervisor import Supervisor
from euglena_devkit.tokens import mint_service_token
from euglena_devkit.waiting import eventually

pytestmark = pytest.mark.cluster

SAMPLE = Path(__file__).resolve().parents[3] / "crds" / "samples" / "agenttask.yaml"
SLOW = "SLOW-MANDATE"


@dataclass
class Stack:
    gateway_url: str
    service_token: str
    user_id: uuid.UUID
    operator: OperatorProcess

    def task(self, correlation_id: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.gateway_url}/tasks/{correlation_id}",
            timeout=10,
            headers={"Authorization": f"Bearer {self.service_token}"},
        )
        response.raise_for_status()
        return dict(response.json())


async def _create_user(dsn: str) -> uuid.UUID:
    user_id = uuid.uuid4()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "insert into auth.users (id, email) values ($1, $2)",
            user_id,
            f"{user_id}@operator.test",
        )
    finally:
        await conn.close()
    return user_id


@pytest.fixture(scope="module")
def model_server() -> Iterator[FakeModelServer]:
    with FakeModelServer() as server:
        server.script(SLOW, [tool("think", thought="still thinking", delay=1.0)])
        yield server


@pytest.fixture(scope="module")
async def user_id(postgres_server: Any) -> uuid.UUID:
    return await _create_user(postgres_server.dsn)


@pytest.fixture(scope="module")
def stack(
    operator_kubeconfig: Path,
    rabbitmq_server: Any,
    redis_server: Any,
    postgres_server: Any,
    model_server: FakeModelServer,
    user_id: uuid.UUID,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("agenttask-stack")
    vhost = f"tasks-{uuid.uuid4().hex[:6]}"
    amqp_url = rabbitmq_server.create_vhost(vhost)
    env = gateway_env(
        redis_url=redis_server.url, rabbitmq_url=amqp_url, database_url=postgres_server.dsn
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    procs = Supervisor(workdir)
    gateway = {**os.environ, **env, "GATEWAY_PORT": str(port)}
    procs.start("gateway", _module("euglena_gateway"), env=gateway)

    def gateway_ready() -> bool:
        procs.check(waiting_for="the gateway's /ready")
        return httpx.get(f"{url}/ready", timeout=2).status_code == 200

    try:
        eventually(gateway_ready, 60, "the gateway's /ready", ignoring=(httpx.HTTPError,))
        for i in range(2):
            agent = {
                **os.environ,
                "EUGLENA_ENV": "dev",
                "REDIS_URL": redis_server.url,
                "RABBITMQ_URL": amqp_url,
                "MODEL_API_URL": model_server.url,
                "HEALTH_PORT": str(free_port()),
                "CHROMA_PATH": str(workdir / f"chroma-{i}"),
                "WORKER_ID": f"agent-{i}",
                "POD_NAME": f"agent-{i}",
            }
            procs.start(f"agent-{i}", _module("euglena_agent"), env=agent)
        token = mint_service_token(DEV_JWT_SECRET)
        with running_operator(
            operator_kubeconfig,
            workdir,
            GATEWAY_URL=url,
            SUPABASE_SERVICE_ROLE_KEY=token,
            DEFAULT_USER_ID=str(user_id),
            RABBITMQ_URL=amqp_url,
            RABBITMQ_MANAGEMENT_URL=rabbitmq_server.management_url,
            REDIS_URL=redis_server.url,
            CANCEL_TIMEOUT_SECONDS="3",
        ) as operator:
            yield Stack(url, token, user_id, operator)
    finally:
        procs.stop_all(grace=30)
        for log in sorted(workdir.glob("*.log")):
            sys.stderr.write(f"\n--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}\n")
        with contextlib.suppress(Exception):
            rabbitmq_server.delete_vhost(vhost)


def _module(name: str) -> list[str]:
    return [sys.executable, "-m", name]


def get_task(cluster: K8sCluster, namespace: str, name: str) -> dict[str, Any]:
    return dict(kubectl_json(cluster, "get", "agenttask", name, "-n", namespace) or {})


def apply_task(cluster: K8sCluster, namespace: str, name: str, **spec: Any) -> None:
    manifest = {
        "apiVersion": "euglena.dev/v1alpha1",
        "kind": "AgentTask",
        "metadata": {"name": name},
        "spec": spec,
    }
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(manifest))


def events_of(cluster: K8sCluster, namespace: str, name: str) -> str:
    return cluster.kubectl(
        "get", "events", "-n", namespace, "--field-selector", f"involvedObject.name={name}"
    ).stdout


def test_sample_task_completes_and_kubectl_wait_returns(
    k8s_cluster: K8sCluster, k8s_namespace: str, stack: Stack
) -> None:
    k8s_cluster.kubectl("apply", "-n", k8s_namespace, "-f", str(SAMPLE))
    waited = k8s_cluster.kubectl(
        "wait",
        "--for=condition=Complete",
        "--timeout=90s",
        "-n",
        k8s_namespace,
        "agenttask/hello-euglena",
        check=False,
    )
    assert waited.returncode == 0, waited.stderr
    assert "condition met" in waited.stdout

    task = get_task(k8s_cluster, k8s_namespace, "hello-euglena")
    status = task["status"]
    assert status["phase"] == "Completed"
    assert status["result"]
    assert status["correlationId"] == task["metadata"]["uid"]
    assert status["ticks"] >= 1 and status["completionTime"]
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "Submitted": "True",
        "Complete": "True",
    }

    listing = k8s_cluster.kubectl("get", "agenttasks", "-n", k8s_namespace).stdout
    row = listing.splitlines()[1].split()
    assert row[:2] == ["hello-euglena", "Completed"]
    assert row[3] == "5"

    remote = stack.task(status["correlationId"])
    assert remote["status"] == "completed" and remote["source"] == "kubernetes"
    assert remote["user_id"] == str(stack.user_id)
    events = events_of(k8s_cluster, k8s_namespace, "hello-euglena")
    assert "Submitted" in events and "TaskCompleted" in events
    # The finalizer is only held while the task runs.
    eventually(
        lambda: (
            not get_task(k8s_cluster, k8s_namespace, "hello-euglena")["metadata"].get("finalizers")
        ),
        10,
        "the finalizer to go once the task finished",
    )
    assert 'euglena_operator_agenttasks{phase="Completed"}' in stack.operator.metrics()


def test_deleting_a_running_task_cancels_it(
    k8s_cluster: K8sCluster, k8s_namespace: str, stack: Stack
) -> None:
    apply_task(
        k8s_cluster, k8s_namespace, "long", mandate=f"{SLOW}: count to infinity", maxTicks=50
    )
    eventually(
        lambda: (
            get_task(k8s_cluster, k8s_namespace, "long").get("status", {}).get("phase") == "Running"
        ),
        60,
        "phase Running",
    )
    uid = get_task(k8s_cluster, k8s_namespace, "long")["metadata"]["uid"]
    assert get_task(k8s_cluster, k8s_namespace, "long")["metadata"]["finalizers"] == [
        "euglena.dev/cancel-task"
    ]
    deleted = k8s_cluster.kubectl(
        "delete", "agenttask", "long", "-n", k8s_namespace, "--timeout=30s", check=False
    )
    assert deleted.returncode == 0, deleted.stderr
    assert stack.task(uid)["status"] == "cancelled"


def test_expired_deadline_cancels_and_fails_with_deadline_exceeded(
    k8s_cluster: K8sCluster, k8s_namespace: str, stack: Stack
) -> None:
    apply_task(
        k8s_cluster,
        k8s_namespace,
        "late",
        mandate=f"{SLOW}: never done",
        maxTicks=50,
        activeDeadlineSeconds=4,
    )
    waited = k8s_cluster.kubectl(
        "wait",
        "--for=condition=Failed",
        "--timeout=60s",
        "-n",
        k8s_namespace,
        "agenttask/late",
        check=False,
    )
    assert waited.returncode == 0, waited.stderr
    status = get_task(k8s_cluster, k8s_namespace, "late")["status"]
    assert status["phase"] == "Failed" and status["reason"] == "DeadlineExceeded"
    failed = next(c for c in status["conditions"] if c["type"] == "Failed")
    assert failed["reason"] == "DeadlineExceeded"
    assert stack.task(status["correlationId"])["status"] == "cancelled"
    assert "DeadlineExceeded" in events_of(k8s_cluster, k8s_namespace, "late")


def test_finished_task_is_deleted_after_its_ttl(
    k8s_cluster: K8sCluster, k8s_namespace: str, stack: Stack
) -> None:
    ttl = 3
    apply_task(
        k8s_cluster,
        k8s_namespace,
        "brief",
        mandate="say hi",
        maxTicks=3,
        ttlSecondsAfterFinished=ttl,
    )
    uid = get_task(k8s_cluster, k8s_namespace, "brief")["metadata"]["uid"]
    # Waiting for `Complete` first would race the deletion this test is about: wait for the
    # object to go, then check it went only after its task finished and its TTL passed.
    k8s_cluster.kubectl(
        "wait", "--for=delete", "--timeout=90s", "-n", k8s_namespace, "agenttask/brief"
    )
    deleted_at = time.time()
    task = stack.task(uid)
    assert task["status"] == "completed"
    completed_at = datetime.fromisoformat(task["completed_at"].replace("Z", "+00:00"))
    assert deleted_at - completed_at.timestamp() >= ttl


def test_resubmitting_with_the_objects_uid_returns_the_existing_task(
    k8s_cluster: K8sCluster, k8s_namespace: str, stack: Stack, postgres_server: Any
) -> None:
    apply_task(k8s_cluster, k8s_namespace, "once", mandate="only once please", maxTicks=3)
    k8s_cluster.kubectl(
        "wait", "--for=condition=Complete", "--timeout=60s", "-n", k8s_namespace, "agenttask/once"
    )
    uid = get_task(k8s_cluster, k8s_namespace, "once")["metadata"]["uid"]
    # what an operator restarted mid-submission sends: the same id, so no second task
    response = httpx.post(
        f"{stack.gateway_url}/tasks",
        timeout=10,
        headers={"Authorization": f"Bearer {stack.service_token}"},
        json={
            "mandate": "only once please",
            "max_ticks": 3,
            "user_id": str(stack.user_id),
            "correlation_id": uid,
            "source": "kubernetes",
        },
    )
    assert response.status_code == 200
    assert json.loads(response.text)["task"]["status"] == "completed"
