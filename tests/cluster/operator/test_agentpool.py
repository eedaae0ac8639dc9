"""AgentPool autoscaling against a real RabbitMQ quorum queue, Redis heartbeats and a
Deployment whose pods run on fake nodes; the operator runs with its least-privilege token."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest
import redis
import yaml
from kubernetes import client
from operator_kit import OperatorProcess, kubectl_json, running_operator

from euglena.keys import DEFAULT_WORKER_STATUS_SET_KEY, worker_status_key
from euglena.messages import mandates_queue_arguments
from euglena.task import utcnow
from euglena.workers import WorkerState, WorkerStatus
from euglena_devkit.cluster.testing import K8sCluster
from euglena_devkit.waiting import until

pytestmark = pytest.mark.cluster

QUEUE = "agent.mandates"
POLL = 2
WINDOW = 8


@pytest.fixture(scope="module")
def pool_vhost(rabbitmq_server: Any) -> Iterator[str]:
    vhost = f"pool-{uuid.uuid4().hex[:6]}"
    rabbitmq_server.create_vhost(vhost)
    yield vhost
    rabbitmq_server.delete_vhost(vhost)


@pytest.fixture(scope="module")
def pool_operator(
    operator_kubeconfig: Path,
    rabbitmq_server: Any,
    redis_server: Any,
    pool_vhost: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    with running_operator(
        operator_kubeconfig,
        tmp_path_factory.mktemp("pool-operator"),
        RABBITMQ_URL=rabbitmq_server.amqp_url,
        RABBITMQ_MANAGEMENT_URL=rabbitmq_server.management_url,
        REDIS_URL=redis_server.url,
        GATEWAY_URL="http://127.0.0.1:9",
    ) as operator:
        yield operator


@pytest.fixture
async def channel(rabbitmq_server: Any, pool_vhost: str) -> AsyncIterator[Any]:
    connection = await aio_pika.connect(rabbitmq_server.amqp_url_for(pool_vhost))
    async with connection:
        ch = await connection.channel(publisher_confirms=True)
        queue = await ch.declare_queue(QUEUE, durable=True, arguments=mandates_queue_arguments())
        await queue.purge()
        yield ch


def deployment(cluster: K8sCluster, namespace: str, name: str, replicas: int) -> None:
    labels = {"app": name}
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "agent", "image": "example.invalid/euglena-agent:test"}]
                },
            },
        },
    }
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(manifest))


def agent_pool(cluster: K8sCluster, namespace: str, vhost: str, **spec: Any) -> None:
    manifest = {
        "apiVersion": "euglena.dev/v1alpha1",
        "kind": "AgentPool",
        "metadata": {"name": "pool"},
        "spec": {
            "scaleTargetRef": {"name": "agents"},
            "queue": {"name": QUEUE, "vhost": vhost},
            "targetPerReplica": 5,
            "pollingIntervalSeconds": POLL,
            "scaleDownStabilizationSeconds": WINDOW,
            **spec,
        },
    }
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(manifest))


def replicas(api: Any, namespace: str) -> int:
    scale = client.AppsV1Api(api).read_namespaced_deployment_scale("agents", namespace)
    return int(scale.spec.replicas or 0)


def live_pods(api: Any, namespace: str) -> list[Any]:
    pods = client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector="app=agents")
    return [p for p in pods.items if p.metadata.deletion_timestamp is None]


def exactly(items: list[Any], count: int) -> list[Any] | None:
    return items if len(items) == count else None


async def publish(channel: Any, count: int) -> None:
    for i in range(count):
        body = json.dumps({"n": i}).encode()
        await channel.default_exchange.publish(
            aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=QUEUE,
        )


def heartbeat(r: redis.Redis, pod: str, state: str) -> None:
    """What an agent in ``pod`` publishes (the core's one worker-status record)."""
    busy = state == "busy"
    status = WorkerStatus(
        worker_id=f"{pod}-w",
        pod=pod,
        state=WorkerState(state),
        task_id=str(uuid.uuid4()) if busy else None,
        in_flight=1 if busy else 0,
        processed=1,
        last_heartbeat=utcnow(),
    )
    r.sadd(DEFAULT_WORKER_STATUS_SET_KEY, status.worker_id)
    r.set(worker_status_key(status.worker_id), status.model_dump_json(), ex=60)


async def test_queue_spike_scales_up_within_one_interval_and_drain_waits_for_the_window(
    k8s_cluster: K8sCluster,
    k8s_api: Any,
    k8s_namespace: str,
    pool_operator: OperatorProcess,
    pool_vhost: str,
    channel: Any,
    redis_server: Any,
    rabbitmq_server: Any,
) -> None:
    deployment(k8s_cluster, k8s_namespace, "agents", replicas=2)
    agent_pool(k8s_cluster, k8s_namespace, pool_vhost, minReplicas=2, maxReplicas=4)
    await until(
        lambda: (
            (kubectl_json(k8s_cluster, "get", "agentpool", "pool", "-n", k8s_namespace) or {})
            .get("status", {})
            .get("queue")
        ),
        30,
        "the pool's first status",
    )

    await publish(channel, 30)
    spiked = time.monotonic()
    await until(lambda: replicas(k8s_api, k8s_namespace) == 4, POLL + 5, "4 replicas")
    reaction = time.monotonic() - spiked
    assert reaction <= POLL + 1.0, f"scaled up {reaction:.1f}s after the spike"

    pool = kubectl_json(k8s_cluster, "get", "agentpool", "pool", "-n", k8s_namespace)
    assert pool["status"]["desiredReplicas"] == 4
    assert pool["status"]["queue"]["ready"] == 30
    assert pool["status"]["queue"]["source"] == "management+amqp"
    listing = k8s_cluster.kubectl("get", "agentpool", "-n", k8s_namespace).stdout
    assert listing.splitlines()[0].split() == [
        "NAME",
        "TARGET",
        "MIN",
        "MAX",
        "DESIRED",
        "CURRENT",
        "READY",
        "UNACKED",
        "AGE",
    ]

    pods = await until(
        lambda: exactly(live_pods(k8s_api, k8s_namespace), 4),
        60,
        "4 running agent pods",
    )
    names = sorted(p.metadata.name for p in pods)
    busy, idle = names[:2], names[2:]
    r = redis.Redis.from_url(redis_server.url)
    for pod in busy:
        heartbeat(r, pod, "busy")
    for pod in idle:
        heartbeat(r, pod, "idle")

    queue = await channel.declare_queue(QUEUE, passive=True)
    await queue.purge()
    drained = time.monotonic()
    # Nothing is removed inside the stabilization window.
    while time.monotonic() - drained < WINDOW - 1.5:
        assert replicas(k8s_api, k8s_namespace) == 4
        await asyncio.sleep(0.25)
    await until(lambda: replicas(k8s_api, k8s_namespace) == 2, WINDOW + POLL + 5, "2 replicas")
    waited = time.monotonic() - drained
    assert waited >= WINDOW - 0.5

    costs = {
        p.metadata.name: (p.metadata.annotations or {}).get(
            "controller.kubernetes.io/pod-deletion-cost"
        )
        for p in pods
    }
    current = {
        p.metadata.name: (p.metadata.annotations or {}).get(
            "controller.kubernetes.io/pod-deletion-cost"
        )
        for p in client.CoreV1Api(k8s_api)
        .list_namespaced_pod(k8s_namespace, label_selector="app=agents")
        .items
    }
    for pod in busy:
        assert current.get(pod) == "1000", (costs, current)
    survivors = await until(
        lambda: exactly(live_pods(k8s_api, k8s_namespace), 2),
        30,
        "2 agent pods left",
    )
    assert sorted(p.metadata.name for p in survivors) == busy

    events = k8s_cluster.kubectl(
        "get", "events", "-n", k8s_namespace, "--field-selector", "involvedObject.name=pool"
    ).stdout
    assert "ScaledUp" in events and "ScaledDown" in events
    metrics = pool_operator.metrics()
    assert (
        f'euglena_operator_agentpool_desired_replicas{{namespace="{k8s_namespace}",'
        'pool="pool"} 2.0' in metrics
    )
    assert "euglena_operator_scale_operations_total" in metrics
    r.close()
