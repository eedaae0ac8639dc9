"""What only real pods can prove: agents isolated by an enforced NetworkPolicy, idle agents
removed first on scale-down while busy ones drain, upgrades and rollbacks that lose nothing, and
recovery from losing a dependency's pod.

The agents talk to a paced model in the cluster (``paced_model.py``): each step of a task takes
a known time, and the model sees every time a task starts, so a task run twice is seen."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from kind_figures import Figures
from kind_release import (
    DB_NAMESPACE,
    NAMESPACE,
    RELEASE,
    Release,
    agent_task,
    eventually,
)
from kind_support import (
    gateway,
    model_stats,
    paced_mandate,
    tcp_probe,
    wait_ready,
)

pytestmark = [pytest.mark.e2e_kind, pytest.mark.timeout(1800)]

AGENTS = "app.kubernetes.io/component=agent"


def _pod_of(task: dict[str, Any]) -> str | None:
    """The pod that ran ``task``: the chart gives each agent its pod's name as worker id."""
    worker = task.get("status", {}).get("workerId")
    return str(worker) if worker else None


def _phase(task: dict[str, Any]) -> str:
    return str(task.get("status", {}).get("phase", ""))


def _replicas(release: Release) -> int:
    deployment = release.json("get", "deployment", f"{RELEASE}-agent")
    return int(deployment["spec"].get("replicas") or 0)


def _idle_pool(release: Release) -> None:
    eventually(
        lambda: _replicas(release) == 0 and not release.agent_pods() or None,
        900,
        "the pool to be idle at zero agents",
    )


def _duplicates(release: Release, keys: list[str]) -> int:
    stats = model_stats(release.cluster)
    return sum(max(stats.get(key, {}).get("starts", 0) - 1, 0) for key in keys)


def _finished(release: Release, selector: str, count: int, timeout: float) -> list[dict[str, Any]]:
    def done() -> list[dict[str, Any]]:
        tasks = release.tasks(selector)
        finished = [t for t in tasks if _phase(t) in ("Completed", "Failed", "Cancelled")]
        return tasks if len(finished) == count else []

    return eventually(done, timeout, f"{count} AgentTasks ({selector}) to finish")


# --- worker isolation ---------------------------------------------------------------------------


def _probe_until(release: Release, pod: str, targets: list[str], want: str) -> float:
    """Seconds until every target is ``want`` ("open", or "closed": anything but open) from
    ``pod``; the policy controller applies a change within seconds, slower on a busy node."""
    started = time.monotonic()
    last: dict[str, str] = {}

    def settled() -> bool:
        last.update(tcp_probe(release, pod, targets))
        return all((v == "open") == (want == "open") for v in last.values())

    try:
        eventually(settled, 240, f"{targets} to be {want} from {pod}")
    except Exception as exc:
        raise AssertionError(f"{exc}; last probe: {last}") from exc
    return time.monotonic() - started


def test_agents_are_isolated_by_their_network_policy(release: Release, figures: Figures) -> None:
    release.patch_pool({"minReplicas": 1})
    try:
        # An agent of the current revision (an earlier module may have rolled them).
        eventually(lambda: _replicas(release) >= 1 or None, 120, "the pool to ask for an agent")
        release.kubectl("rollout", "status", f"deployment/{RELEASE}-agent", "--timeout=300s")
        pod = wait_ready(release, AGENTS, 1, 300)[0]
        spec = release.json("get", "pod", pod)["spec"]
        assert spec.get("automountServiceAccountToken") is False
        mounts = release.kubectl("exec", pod, "--", "cat", "/proc/self/mounts")
        assert "serviceaccount" not in mounts, mounts
        listing = release.kubectl(
            "exec",
            pod,
            "--",
            "python",
            "-c",
            "import os; print(os.path.exists('/var/run/secrets/kubernetes.io/serviceaccount'))",
        )
        assert listing.strip() == "False"

        postgres_pod = release.cluster.json(
            "-n", DB_NAMESPACE, "get", "pods", "-l", "app=postgres"
        )["items"][0]["status"]["podIP"]
        node_ip = release.cluster.json("get", "nodes")["items"][0]["status"]["addresses"][0][
            "address"
        ]
        allowed = [f"{RELEASE}-redis:6379", f"{RELEASE}-rabbitmq:5672", f"{RELEASE}-chroma:8000"]
        denied = [
            f"postgres.{DB_NAMESPACE}.svc:5432",  # Supabase's Postgres, through its Service
            f"{postgres_pod}:5432",  # and directly
            "kubernetes.default.svc:443",  # the Kubernetes API, through its Service
            f"{node_ip}:6443",  # and on the node
        ]
        seen = tcp_probe(release, pod, allowed + denied)
        assert {t: seen[t] for t in allowed} == dict.fromkeys(allowed, "open"), seen
        assert not [t for t in denied if seen[t] == "open"], seen

        # Without the policy the same probes get through: the policy is what stops them.
        policy = release.json("get", "networkpolicy", f"{RELEASE}-agent")
        release.kubectl("delete", "networkpolicy", f"{RELEASE}-agent")
        try:
            opened = _probe_until(release, pod, denied, "open")
            figures.record("agent policy deleted → denied addresses answer", f"{opened:.0f} s")
        finally:
            for key in (
                "resourceVersion",
                "uid",
                "creationTimestamp",
                "generation",
                "managedFields",
            ):
                policy["metadata"].pop(key, None)
            release.kubectl("apply", "-f", "-", input=json.dumps(policy))
        closed = _probe_until(release, pod, denied, "closed")
        figures.record("agent policy restored → denied addresses closed", f"{closed:.0f} s")
    finally:
        release.patch_pool({"minReplicas": 0})


# --- the agents on a paced model ------------------------------------------------------------


def test_scale_down_removes_idle_agents_and_busy_ones_drain(
    paced: Release, figures: Figures
) -> None:
    release = paced
    _idle_pool(release)
    run = uuid.uuid4().hex[:6]
    selector = f"e2e=scale-{run}"
    long_keys = [f"long{i}{run}" for i in range(2)]
    short_keys = [f"short{i}{run}" for i in range(2)]
    tasks = [
        agent_task(f"long-{i}-{run}", paced_mandate(key, 40, 3), 45, e2e=f"scale-{run}")
        for i, key in enumerate(long_keys)
    ] + [
        agent_task(f"short-{i}-{run}", paced_mandate(key, 2), 5, e2e=f"scale-{run}")
        for i, key in enumerate(short_keys)
    ]
    release.apply_tasks(tasks)

    # Watch every second: which pods hold a long task, and which pods are being deleted.
    busy_killed: list[str] = []
    deleted: set[str] = set()
    seen: set[str] = set()
    busy: set[str] = set()
    peak = 0
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        current = release.tasks(selector)
        busy = {
            pod
            for t in current
            if t["metadata"]["name"].startswith("long") and _phase(t) != "Completed"
            if (pod := _pod_of(t))
        }
        peak = max(peak, _replicas(release))
        pods = {p["metadata"]["name"]: p for p in release.agent_pods()}
        # A pod is on its way out when it is being deleted or already gone (idle agents exit
        # at once, between two looks).
        leaving = {n for n, p in pods.items() if p["metadata"].get("deletionTimestamp")}
        leaving |= seen - pods.keys()
        for name in leaving - deleted:
            deleted.add(name)
            if name in busy:
                busy_killed.append(name)
        seen |= pods.keys()
        shorts_done = all(
            _phase(t) == "Completed" for t in current if t["metadata"]["name"].startswith("short")
        )
        if shorts_done and len(busy) == 2 and peak >= 3 and _replicas(release) <= 2:
            break
        time.sleep(1)
    else:
        raise AssertionError(f"no scale-down while the long tasks ran: {release.tasks(selector)}")
    figures.record("scale-down: agents at peak → kept", f"{peak} → {_replicas(release)}")
    figures.record(
        "scale-down: idle pods deleted / busy pods deleted",
        f"{len(deleted - set(busy_killed))} / {len(busy_killed)}",
    )
    assert not busy_killed, f"the pool's scale-down deleted busy agents {busy_killed}"

    # A busy agent that gets SIGTERM anyway finishes its task before it exits.
    victim = sorted(busy)[0]
    victim_task = next(t for t in release.tasks(selector) if _pod_of(t) == victim)
    grace = int(release.json("get", "pod", victim)["spec"]["terminationGracePeriodSeconds"])
    started = time.monotonic()
    release.kubectl("delete", "pod", victim, "--wait=false")
    eventually(
        lambda: victim not in {p["metadata"]["name"] for p in release.agent_pods()},
        grace + 60,
        f"{victim} to drain and exit",
    )
    drained = time.monotonic() - started
    finished = _finished(release, selector, len(tasks), 600)
    by_name = {t["metadata"]["name"]: t for t in finished}
    assert all(_phase(t) == "Completed" for t in finished), [t["status"] for t in finished]
    assert _pod_of(by_name[victim_task["metadata"]["name"]]) == victim, "the task moved"
    duplicates = _duplicates(release, long_keys + short_keys)
    figures.record(
        "SIGTERM to a busy agent → it finished its task and exited",
        f"{drained:.0f} s (grace {grace} s)",
    )
    figures.record("scale-down: tasks lost / run twice", f"0 / {duplicates}")
    assert drained < grace
    assert duplicates == 0


def test_helm_upgrade_and_rollback_while_tasks_run(paced: Release, figures: Figures) -> None:
    release = paced
    _idle_pool(release)
    run = uuid.uuid4().hex[:6]
    keys = [f"upg{i}{run}" for i in range(8)]
    tasks = [
        agent_task(f"upgrade-{i}-{run}", paced_mandate(key, 20), 25, e2e=f"upgrade-{run}")
        for i, key in enumerate(keys)
    ]
    release.apply_tasks(tasks)
    eventually(
        lambda: [t for t in release.tasks(f"e2e=upgrade-{run}") if _phase(t) == "Running"],
        300,
        "the first tasks to run",
    )
    history = json.loads(release.cluster.helm("history", RELEASE, "-n", NAMESPACE, "-o", "json"))
    before = history[-1]["revision"]
    seconds = release.upgrade({"logging.level": "INFO"})
    finished = _finished(release, f"e2e=upgrade-{run}", len(tasks), 600)
    lost = [t["metadata"]["name"] for t in finished if _phase(t) != "Completed"]
    duplicates = _duplicates(release, keys)
    figures.record("helm upgrade while 8 tasks queued/running", f"{seconds:.0f} s")
    figures.record("upgrade: tasks lost / run twice", f"{len(lost)} / {duplicates}")
    assert not lost and duplicates == 0, [t["status"] for t in finished]
    config = release.json("get", "configmap", f"{RELEASE}-config")["data"]
    assert config["LOG_LEVEL"] == "INFO"

    started = time.monotonic()
    release.cluster.helm(
        "rollback", RELEASE, str(before), "-n", NAMESPACE, "--wait", "--timeout", "10m"
    )
    figures.record("helm rollback", f"{time.monotonic() - started:.0f} s")
    assert release.json("get", "configmap", f"{RELEASE}-config")["data"]["LOG_LEVEL"] == "DEBUG"
    after = agent_task(
        f"after-rollback-{run}", paced_mandate(f"rb{run}", 2), 5, e2e=f"rollback-{run}"
    )
    release.apply_tasks([after])
    (done,) = _finished(release, f"e2e=rollback-{run}", 1, 300)
    assert _phase(done) == "Completed", done["status"]


# --- losing a dependency's pod ----------------------------------------------------------------


def _outage(release: Release, pod: str, component: str, figures: Figures) -> None:
    """Delete ``pod`` while tasks run; the gateway must answer 503 at worst, and every task the
    gateway accepted, and every AgentTask, must finish."""
    release.patch_pool({"minReplicas": 2})
    wait_ready(release, AGENTS, 2, 300)
    run = uuid.uuid4().hex[:6]
    keys = [f"out{i}{run}" for i in range(4)]
    selector = f"e2e=outage-{run}"
    release.apply_tasks(
        [
            agent_task(f"outage-{i}-{run}", paced_mandate(key, 20), 25, e2e=f"outage-{run}")
            for i, key in enumerate(keys)
        ]
    )
    eventually(
        lambda: [t for t in release.tasks(selector) if _phase(t) == "Running"],
        300,
        "the first tasks to run",
    )
    codes: dict[str, list[int]] = {"POST /tasks": [], "GET /ready": [], "GET /tasks/{id}": []}
    accepted: list[str] = []
    with gateway(release) as gw:
        started = time.monotonic()
        release.kubectl("delete", "pod", pod, "--wait=false")
        back = first_accept = None
        while time.monotonic() - started < 420 and first_accept is None:
            ready = gw.client.get("/ready")
            codes["GET /ready"].append(ready.status_code)
            submitted = gw.submit(paced_mandate(f"probe{run}{len(codes['POST /tasks'])}", 2), 5)
            codes["POST /tasks"].append(submitted.status_code)
            if submitted.status_code == 202:
                accepted.append(submitted.json()["correlation_id"])
                if back is not None:
                    first_accept = time.monotonic() - started
            if accepted:
                codes["GET /tasks/{id}"].append(gw.task(accepted[0]).status_code)
            if back is None and wait_ready_quiet(release, pod):
                back = time.monotonic() - started
            time.sleep(1)
        assert first_accept is not None, f"the gateway did not recover: {codes}"

        def all_done() -> bool:
            return all(gw.task(cid).json().get("status") == "completed" for cid in accepted)

        eventually(all_done, 600, "every task the gateway accepted to complete")
    errors = {
        route: sorted({c for c in seen if c >= 500 and c != 503}) for route, seen in codes.items()
    }
    finished = _finished(release, selector, len(keys), 600)
    lost = [t["metadata"]["name"] for t in finished if _phase(t) != "Completed"]
    outage = sum(1 for c in codes["GET /ready"] if c == 503)
    figures.record(
        f"{component} pod deleted → Ready again / gateway accepting",
        f"{back:.0f} s / {first_accept:.0f} s",
    )
    figures.record(
        f"{component} outage: 503 answers / other 5xx / tasks lost",
        f"{outage} / {sum(map(len, errors.values()))} / {len(lost)}",
    )
    release.patch_pool({"minReplicas": 0})
    assert not any(errors.values()), f"5xx other than 503: {errors}"
    assert not lost, [t["status"] for t in finished]


def wait_ready_quiet(release: Release, pod: str) -> bool:
    found = release.pods()
    for item in found:
        if item["metadata"]["name"] == pod and not item["metadata"].get("deletionTimestamp"):
            conditions = item["status"].get("conditions") or []
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
    return False


def test_losing_the_rabbitmq_pod_loses_no_task(paced: Release, figures: Figures) -> None:
    _outage(paced, f"{RELEASE}-rabbitmq-0", "RabbitMQ", figures)


def test_losing_the_redis_pod_loses_no_task(paced: Release, figures: Figures) -> None:
    _outage(paced, f"{RELEASE}-redis-0", "Redis", figures)
