"""The chart installed on a real kind cluster: real pods under the restricted security profile,
``helm test`` for real, an AgentTask run to Complete, and the AgentPool scaling real agents."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest
import yaml
from kind_figures import Figures
from kind_release import (
    CHART,
    NAMESPACE,
    RELEASE,
    REPO,
    Release,
    container_process,
    eventually,
)

pytestmark = [pytest.mark.e2e_kind, pytest.mark.timeout(1800)]

CHART_COMPONENTS = {"gateway", "agent", "operator", "redis", "rabbitmq", "chroma"}


def _ready(pod: dict[str, Any]) -> bool:
    conditions = pod["status"].get("conditions") or []
    return pod["status"].get("phase") == "Running" and any(
        c["type"] == "Ready" and c["status"] == "True" for c in conditions
    )


def _component(pod: dict[str, Any]) -> str:
    return str(pod["metadata"]["labels"].get("app.kubernetes.io/component", ""))


def test_every_pod_runs_ready_under_the_restricted_profile(release: Release) -> None:
    pods = release.pods()
    running = {_component(pod) for pod in pods if _ready(pod)}
    assert CHART_COMPONENTS - {"agent"} <= running, f"not Running and Ready: {pods}"
    # Agents may be scaled to zero by the pool; make sure one runs so it is checked too.
    release.kubectl(
        "patch", "agentpool", f"{RELEASE}-agent", "--type=merge", "-p", '{"spec":{"minReplicas":1}}'
    )
    eventually(
        lambda: [p for p in release.pods("app.kubernetes.io/component=agent") if _ready(p)],
        300,
        "an agent pod to be Ready",
    )
    for pod in release.pods():
        if not _ready(pod) or _component(pod) not in CHART_COMPONENTS:
            continue
        for status in pod["status"]["containerStatuses"]:
            state = container_process(release.cluster, status["containerID"])
            where = f"{pod['metadata']['name']}/{status['name']}"
            assert state.uid != 0, f"{where} runs as root"
            assert state.no_new_privs, f"{where} may gain privileges (NoNewPrivs 0)"
            assert state.seccomp_filtered, f"{where} has no seccomp filter"
            assert state.effective_caps == 0, (
                f"{where} holds capabilities {state.effective_caps:#x}"
            )
            assert state.root_read_only, f"{where} has a writable root filesystem"
    release.kubectl(
        "patch", "agentpool", f"{RELEASE}-agent", "--type=merge", "-p", '{"spec":{"minReplicas":0}}'
    )


def test_the_restricted_namespace_refuses_a_privileged_pod(release: Release) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "privileged-probe"},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": release.cluster.images.services["agent"],
                    "securityContext": {"privileged": True},
                }
            ]
        },
    }
    done = subprocess.run(
        [
            str(release.cluster.kubectl_bin),
            "--kubeconfig",
            str(release.cluster.kubeconfig),
            "-n",
            NAMESPACE,
            "apply",
            "-f",
            "-",
        ],
        input=yaml.safe_dump(pod),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "violates PodSecurity" in done.stderr, done.stderr


def _helm_test(release: Release) -> subprocess.CompletedProcess[str]:
    cluster = release.cluster
    return subprocess.run(
        [
            str(cluster.helm_bin),
            "--kubeconfig",
            str(cluster.kubeconfig),
            "test",
            RELEASE,
            "-n",
            NAMESPACE,
            "--timeout",
            "5m",
        ],
        capture_output=True,
        text=True,
        timeout=400,
    )


def test_helm_test_passes_and_fails_without_a_ready_gateway(release: Release) -> None:
    """Passes, fails with the gateway gone, passes again once it is back (and so removes the
    failed run's Job, which Helm keeps for its logs and ``helm uninstall`` would leave)."""
    passed = _helm_test(release)
    assert passed.returncode == 0 and "Succeeded" in passed.stdout, passed.stdout + passed.stderr

    release.kubectl("scale", "deployment", f"{RELEASE}-gateway", "--replicas=0")
    eventually(
        lambda: not release.pods("app.kubernetes.io/component=gateway") or None,
        120,
        "the gateway pods to go",
    )
    try:
        failed = _helm_test(release)
        assert failed.returncode != 0, failed.stdout
        assert "Failed" in failed.stdout + failed.stderr, failed.stdout + failed.stderr
    finally:
        release.kubectl("scale", "deployment", f"{RELEASE}-gateway", "--replicas=1")
        release.kubectl("rollout", "status", f"deployment/{RELEASE}-gateway", "--timeout=300s")
    again = _helm_test(release)
    assert again.returncode == 0, again.stdout + again.stderr
    eventually(
        lambda: not release.json("get", "jobs", "-l", "app.kubernetes.io/component=test")["items"],
        120,
        "the test Jobs to be deleted",
    )


def test_an_agenttask_applied_with_kubectl_completes(release: Release, figures: Figures) -> None:
    sample = REPO / "crds" / "samples" / "agenttask.yaml"
    name = yaml.safe_load(sample.read_text())["metadata"]["name"]
    started = time.monotonic()
    release.kubectl("apply", "-f", sample)
    release.kubectl(
        "wait", "--for=condition=Complete", f"agenttask/{name}", "--timeout=600s", timeout=660
    )
    figures.record("sample AgentTask: apply → Complete", f"{time.monotonic() - started:.0f} s")
    status = release.json("get", "agenttask", name)["status"]
    assert status["phase"] == "Completed", status
    assert status["result"] and status["workerId"] and status["correlationId"], status


def _agent_replicas(release: Release) -> tuple[int, int]:
    deployment = release.json("get", "deployment", f"{RELEASE}-agent")
    return int(deployment["spec"].get("replicas") or 0), int(
        deployment["status"].get("readyReplicas") or 0
    )


def test_the_agentpool_scales_real_agents_with_a_burst(release: Release, figures: Figures) -> None:
    eventually(
        lambda: _agent_replicas(release) == (0, 0) or None,
        300,
        "the pool to be idle at zero agents first",
    )
    burst = [
        {
            "apiVersion": "euglena.dev/v1alpha1",
            "kind": "AgentTask",
            "metadata": {"name": f"burst-{i}", "labels": {"e2e": "burst"}},
            "spec": {"mandate": f"Summarise topic number {i}.", "maxTicks": 3},
        }
        for i in range(12)
    ]
    started = time.monotonic()
    release.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(burst))
    eventually(
        lambda: _agent_replicas(release)[0] >= 2 or None,
        300,
        "the AgentPool to ask for at least two agents",
    )
    scaled = time.monotonic()
    eventually(lambda: _agent_replicas(release)[1] >= 2 or None, 600, "two agent pods to be Ready")
    ready = time.monotonic()
    peak = max(_agent_replicas(release)[0], 2)
    figures.record("burst of 12 → AgentPool scales up", f"{scaled - started:.0f} s")
    figures.record("AgentPool scales up → agent pods Ready", f"{ready - scaled:.0f} s")
    figures.record("burst of 12 → agent pods Ready", f"{ready - started:.0f} s")

    release.kubectl(
        "wait",
        "--for=condition=Complete",
        "agenttask",
        "-l",
        "e2e=burst",
        "--timeout=900s",
        timeout=960,
    )
    tasks = release.json("get", "agenttasks", "-l", "e2e=burst")["items"]
    done = [t for t in tasks if t["status"].get("phase") == "Completed"]
    figures.record("burst tasks completed / lost", f"{len(done)} / {len(burst) - len(done)}")
    assert len(done) == len(burst), [t["status"] for t in tasks]
    drained = time.monotonic()

    eventually(
        lambda: _agent_replicas(release)[0] == 0 or None,
        300,
        "the pool to scale the agents back to zero",
    )
    eventually(
        lambda: not release.pods("app.kubernetes.io/component=agent") or None,
        900,
        "the agent pods to drain and go",
    )
    figures.record(
        f"queue drained → {peak} agents scaled to 0", f"{time.monotonic() - drained:.0f} s"
    )


def test_chart_crds_are_the_ones_installed(release: Release) -> None:
    installed = release.cluster.json("get", "crd", "agenttasks.euglena.dev")
    shipped = yaml.safe_load((CHART / "crds" / "agenttasks.euglena.dev.yaml").read_text())
    assert installed["spec"]["versions"][0]["name"] == shipped["spec"]["versions"][0]["name"]
