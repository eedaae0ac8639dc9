"""Operator benchmarks P4 and P5 (a command, not a test): ``python bench/operator_bench.py``.

P4  time from a queue spike (30 messages published with confirms into the quorum queue) to
    the target Deployment's new replica count, over several spikes, against the polling
    interval (default 5 s; KEDA's default is 30 s, plus the HPA's own sync period).
P5  the operator's peak RSS and its throughput while 2,000 AgentTasks are applied at once:
    time until every one is ``Submitted`` (through a real gateway and PostgreSQL), next to the
    time ``kubectl apply`` itself took.

Everything is real and local: the control plane (etcd, kube-apiserver, controller-manager,
scheduler, kwok), RabbitMQ, Redis, PostgreSQL, the gateway and the operator as subprocesses.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import aio_pika
import asyncpg
import httpx
import yaml

from euglena.messages import MANDATES_QUEUE, mandates_queue_arguments
from euglena.settings import DEV_JWT_SECRET
from euglena_devkit.cluster import LocalCluster, tools_bin_dir
from euglena_devkit.local_gateway import gateway_env
from euglena_devkit.services import PostgresServer, RabbitMQServer, RedisServer, free_port
from euglena_devkit.supervisor import Supervisor
from euglena_devkit.tokens import mint_service_token
from euglena_devkit.waiting import eventually

REPO = Path(__file__).resolve().parents[1]
POLL_SECONDS = 5
SPIKES = 5
TASKS = 2000


def kubectl(cluster: LocalCluster, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(cluster.bin_dir / "kubectl"), "--kubeconfig", str(cluster.kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def wait_for(check: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> float:
    """Seconds until ``check`` holds (polled by the devkit's one polling helper)."""
    start = time.monotonic()
    eventually(check, timeout, what, interval=step)
    return time.monotonic() - start


def rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) in MiB from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def replicas(cluster: LocalCluster, namespace: str) -> int:
    out = kubectl(
        cluster, "get", "deployment", "agents", "-n", namespace, "-o", "jsonpath={.spec.replicas}"
    )
    return int(out or 0)


async def publish(url: str, count: int) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(
            MANDATES_QUEUE, durable=True, arguments=mandates_queue_arguments()
        )
        for i in range(count):
            await channel.default_exchange.publish(
                aio_pika.Message(
                    json.dumps({"n": i}).encode(), delivery_mode=aio_pika.DeliveryMode.PERSISTENT
                ),
                routing_key=MANDATES_QUEUE,
            )


async def purge(url: str) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(MANDATES_QUEUE, passive=True)
        await queue.purge()


def bench_p4(cluster: LocalCluster, amqp_url: str) -> list[float]:
    ns = "bench-p4"
    kubectl(cluster, "create", "namespace", ns)
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "agents"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "agents"}},
            "template": {
                "metadata": {"labels": {"app": "agents"}},
                "spec": {"containers": [{"name": "a", "image": "x.invalid/a"}]},
            },
        },
    }
    pool = {
        "apiVersion": "euglena.dev/v1alpha1",
        "kind": "AgentPool",
        "metadata": {"name": "pool"},
        "spec": {
            "scaleTargetRef": {"name": "agents"},
            "minReplicas": 1,
            "maxReplicas": 4,
            "targetPerReplica": 5,
            "pollingIntervalSeconds": POLL_SECONDS,
            "scaleDownStabilizationSeconds": 0,
        },
    }
    asyncio.run(publish(amqp_url, 0))
    kubectl(cluster, "apply", "-n", ns, "-f", "-", stdin=yaml.safe_dump_all([deployment, pool]))
    wait_for(
        lambda: bool(
            kubectl(
                cluster,
                "get",
                "agentpool",
                "pool",
                "-n",
                ns,
                "-o",
                "jsonpath={.status.queue.source}",
            )
        ),
        60,
        "the pool's first status",
    )
    latencies = []
    for _ in range(SPIKES):
        wait_for(lambda: replicas(cluster, ns) == 1, 60, "back to 1 replica")
        time.sleep(POLL_SECONDS * 0.37)  # land the spike at varying points of the poll cycle
        asyncio.run(publish(amqp_url, 30))
        latencies.append(wait_for(lambda: replicas(cluster, ns) == 4, 60, "4 replicas"))
        asyncio.run(purge(amqp_url))
    return latencies


async def create_user(dsn: str) -> uuid.UUID:
    user_id = uuid.uuid4()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "insert into auth.users (id, email) values ($1, $2)", user_id, f"{user_id}@bench.local"
        )
        await conn.execute(
            "update public.profiles set daily_tick_limit = $2 where id = $1", user_id, 10_000_000
        )
    finally:
        await conn.close()
    return user_id


def submitted_count(cluster: LocalCluster, namespace: str) -> int:
    out = kubectl(
        cluster,
        "get",
        "agenttasks",
        "-n",
        namespace,
        "-o",
        'jsonpath={range .items[*]}{.status.phase}{"\\n"}{end}',
    )
    return sum(1 for line in out.splitlines() if line == "Submitted")


def bench_p5(cluster: LocalCluster, operator_pid: int, gateway_pid: int) -> dict[str, float]:
    ns = "bench-p5"
    kubectl(cluster, "create", "namespace", ns)
    tasks = [
        {
            "apiVersion": "euglena.dev/v1alpha1",
            "kind": "AgentTask",
            "metadata": {"name": f"t-{i:04d}"},
            "spec": {"mandate": f"benchmark mandate {i}", "maxTicks": 1},
        }
        for i in range(TASKS)
    ]
    manifest = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": tasks})
    idle_rss, _ = rss_mb(operator_pid)
    watched = {"operator": operator_pid, "gateway": gateway_pid, **cluster.pids}
    cpu_before = {name: cpu_seconds(pid) for name, pid in watched.items()}
    started = time.monotonic()
    kubectl(cluster, "apply", "--server-side", "-n", ns, "-f", "-", stdin=manifest)
    applied = time.monotonic() - started
    peak = 0.0

    def all_submitted() -> bool:
        nonlocal peak
        peak = max(peak, rss_mb(operator_pid)[0])
        return submitted_count(cluster, ns) >= TASKS

    wait_for(all_submitted, 900, "2,000 AgentTasks Submitted", step=2.0)
    done = time.monotonic() - started
    cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in watched.items()}
    print(
        "P5 CPU seconds while processing: "
        + ", ".join(
            f"{name} {used:.0f}" for name, used in sorted(cpu.items(), key=lambda kv: -kv[1])
        )
    )
    return {
        "apply_s": applied,
        "submitted_s": done,
        "idle_rss_mb": idle_rss,
        "peak_rss_mb": max(peak, rss_mb(operator_pid)[1]),
        "throughput_per_s": TASKS / done,
    }


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="euglena-operator-bench-"))
    with ExitStack() as stack:
        cluster = stack.enter_context(LocalCluster(tools_bin_dir(), nodes=2))
        rabbit = stack.enter_context(RabbitMQServer())
        redis = stack.enter_context(RedisServer())
        postgres = stack.enter_context(PostgresServer())
        for server in (rabbit, redis, postgres):
            server.start()
        postgres.prepare_supabase(REPO)
        for crd in ("agenttasks.euglena.dev.yaml", "agentpools.euglena.dev.yaml"):
            kubectl(cluster, "apply", "-f", str(REPO / "crds" / crd))
        kubectl(cluster, "wait", "--for=condition=Established", "crd", "--all")
        env = gateway_env(
            redis_url=redis.url, rabbitmq_url=rabbit.amqp_url, database_url=postgres.dsn
        )
        port = free_port()
        procs = Supervisor(workdir)
        stack.callback(procs.stop_all, 30.0)
        gateway_proc = procs.start(
            "gw",
            [sys.executable, "-m", "euglena_gateway"],
            env={**os.environ, **env, "GATEWAY_PORT": str(port)},
        ).process
        gateway = f"http://127.0.0.1:{port}"
        wait_for(lambda: _ok(f"{gateway}/ready"), 60, "gateway ready", step=0.2)
        user = asyncio.run(create_user(postgres.dsn))
        operator_env = {
            **env,
            "KUBECONFIG": str(cluster.kubeconfig),
            "GATEWAY_URL": gateway,
            "SUPABASE_SERVICE_ROLE_KEY": mint_service_token(DEV_JWT_SECRET),
            "DEFAULT_USER_ID": str(user),
            "RABBITMQ_MANAGEMENT_URL": rabbit.management_url,
            "LIVENESS_PORT": str(free_port()),
            "METRICS_PORT": str(free_port()),
        }
        operator = procs.start(
            "operator",
            [sys.executable, "-m", "euglena_operator"],
            env={**os.environ, **operator_env},
        ).process
        wait_for(
            lambda: _ok(f"http://127.0.0.1:{operator_env['LIVENESS_PORT']}/healthz"),
            60,
            "operator healthz",
            step=0.2,
        )
        latencies = bench_p4(cluster, rabbit.amqp_url)
        p5 = bench_p5(cluster, operator.pid, gateway_proc.pid)
    print(
        f"P4 queue spike -> new replica count: median {statistics.median(latencies):.2f}s, "
        f"max {max(latencies):.2f}s over {SPIKES} spikes (polling interval {POLL_SECONDS}s; "
        f"max/interval = {max(latencies) / POLL_SECONDS:.2f}; KEDA default interval 30s)"
    )
    print(
        f"P5 2,000 AgentTasks: kubectl apply {p5['apply_s']:.1f}s, all Submitted after "
        f"{p5['submitted_s']:.1f}s ({p5['throughput_per_s']:.0f}/s, "
        f"{p5['submitted_s'] / p5['apply_s']:.2f}x the apply time); operator RSS idle "
        f"{p5['idle_rss_mb']:.0f} MiB, peak {p5['peak_rss_mb']:.0f} MiB (target <= 300)"
    )
    print(f"logs: {workdir}")


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
