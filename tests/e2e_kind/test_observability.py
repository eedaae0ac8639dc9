"""The dashboards' metrics scraped from the real pods by a Prometheus in the cluster, and the
"no workers while work is queued" alert firing when the agents are held at zero."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator

import pytest
from kind_figures import Figures
from kind_release import RELEASE, Release, agent_task, eventually
from kind_support import Prometheus, deploy_prometheus, gateway, prometheus, remove_prometheus

from euglena_devkit.observability import has_data, panels, query_of

pytestmark = [pytest.mark.e2e_kind, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def prom(paced: Release) -> Iterator[Prometheus]:
    release = paced
    deploy_prometheus(release.cluster)
    with prometheus(release.cluster) as client:
        eventually(
            lambda: (
                {s["metric"]["job"] for s in client.query("up == 1")} >= {"gateway", "operator"}
            ),
            120,
            "Prometheus to scrape the gateway and the operator pods",
        )
        yield client
    remove_prometheus(release.cluster)


def test_every_dashboard_panel_has_data_from_the_real_pods(
    release: Release, prom: Prometheus
) -> None:
    # An agent that stays, scraped before the traffic, so its histograms are seen growing (the
    # pool's agents come and go within seconds here). It talks to the paced model, so its LLM
    # latency is measured too.
    release.patch_pool({"minReplicas": 1})
    try:
        eventually(lambda: prom.query('up{job="agent"} == 1'), 300, "an agent pod scraped")
        # Traffic every panel shows: tasks through the gateway (one of them not found) and
        # through the operator.
        run = uuid.uuid4().hex[:6]
        with gateway(release) as gw:
            ids = [
                gw.submit(f"Observe thing {i} ({run}).", 3).json()["correlation_id"]
                for i in range(3)
            ]
            assert gw.task("00000000-0000-4000-8000-00000000dead").status_code == 404
            eventually(
                lambda: all(gw.task(i).json()["status"] == "completed" for i in ids),
                300,
                "the HTTP tasks to complete",
            )
        release.apply_tasks(
            [agent_task(f"observed-{run}", "Observe the operator path.", 3, e2e=f"observed-{run}")]
        )
        release.kubectl(
            "wait",
            "--for=condition=Complete",
            f"agenttask/observed-{run}",
            "--timeout=300s",
            timeout=360,
        )
        pending = {(d, p): exprs for d, p, exprs in panels()}

        def all_have_data() -> bool:
            for key, exprs in list(pending.items()):
                if any(has_data(prom.query(query_of(e))) for e in exprs):
                    del pending[key]
            return not pending

        with contextlib.suppress(AssertionError):
            eventually(all_have_data, 120, "every panel to have data", interval=5)
        empty = [f"{dashboard} → {panel}" for dashboard, panel in sorted(pending)]
        assert not empty, "panels without data from the real pods:\n  " + "\n  ".join(empty)
    finally:
        release.patch_pool({"minReplicas": 0})


def test_no_workers_for_queued_work_fires(
    release: Release, prom: Prometheus, figures: Figures
) -> None:
    # A pool that will not start an agent for fewer than 1,000 messages: work waits, nobody
    # consumes it.
    eventually(lambda: not release.agent_pods() or None, 900, "the pool to be at zero agents")
    release.patch_pool({"activationThreshold": 1000})
    run = uuid.uuid4().hex[:6]
    try:
        release.apply_tasks(
            [
                agent_task(
                    f"unserved-{i}-{run}", f"Wait in the queue {i}.", 3, e2e=f"unserved-{run}"
                )
                for i in range(2)
            ]
        )
        queued = time.monotonic()
        eventually(
            lambda: "EuglenaNoWorkersForQueuedWork" in prom.firing(),
            300,
            "EuglenaNoWorkersForQueuedWork to fire",
            interval=3,
        )
        figures.record(
            "work queued with no workers → alert firing (held 15 s)",
            f"{time.monotonic() - queued:.0f} s",
        )
        assert release.json("get", "deployment", f"{RELEASE}-agent")["spec"]["replicas"] == 0
    finally:
        release.patch_pool({"activationThreshold": 0})
    release.kubectl(
        "wait",
        "--for=condition=Complete",
        "agenttask",
        "-l",
        f"e2e=unserved-{run}",
        "--timeout=600s",
        timeout=660,
    )
    eventually(
        lambda: "EuglenaNoWorkersForQueuedWork" not in prom.firing(),
        300,
        "the alert to resolve once agents serve the queue",
        interval=3,
    )
