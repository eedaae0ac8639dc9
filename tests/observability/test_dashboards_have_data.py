"""Every panel of every shipped Grafana dashboard shows data from a real Prometheus that
scraped the running gateway, agent and operator while tasks went through them."""

from __future__ import annotations

import contextlib

import httpx
import pytest
import yaml
from obs_platform import NAMESPACE, REPO, Platform, unique

from euglena.settings import DEV_JWT_SECRET
from euglena_devkit.observability import has_data, panels, query_of
from euglena_devkit.waiting import eventually
from euglena_gateway.devtokens import DEMO_USER_ID, mint_user_token

pytestmark = [pytest.mark.integration, pytest.mark.cluster, pytest.mark.timeout(420)]


def drive_traffic(platform: Platform) -> None:
    """Tasks over HTTP and one AgentTask through the operator, all run to completion."""
    headers = {"Authorization": f"Bearer {mint_user_token(DEV_JWT_SECRET, DEMO_USER_ID)}"}
    with httpx.Client(base_url=platform.gateway_url, headers=headers, timeout=10) as client:
        ids = []
        for i in range(3):
            response = client.post("/tasks", json={"mandate": f"Observe thing {i}", "max_ticks": 3})
            assert response.status_code == 202, response.text
            ids.append(response.json()["correlation_id"])
        assert client.get("/tasks/00000000-0000-4000-8000-00000000dead").status_code == 404

        def finished() -> bool:
            return all(client.get(f"/tasks/{i}").json()["status"] == "completed" for i in ids)

        eventually(finished, 120, "three HTTP tasks to complete")
    name = unique("observed")
    task = {
        "apiVersion": "euglena.dev/v1alpha1",
        "kind": "AgentTask",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"mandate": "Observe the operator path.", "maxTicks": 3,
                 "userId": str(DEMO_USER_ID)},
    }  # fmt: skip
    platform.kubectl("apply", "-f", "-", input=yaml.safe_dump(task))
    platform.kubectl("wait", "-n", NAMESPACE, "--for=condition=Complete", f"agenttask/{name}",
                     "--timeout=120s")  # fmt: skip


def test_every_dashboard_panel_returns_data(platform: Platform) -> None:
    drive_traffic(platform)
    pending = {(d, p): exprs for d, p, exprs in panels()}
    assert len(pending) >= 20, "the dashboards lost their panels"

    def all_have_data() -> bool:
        for key, exprs in list(pending.items()):
            for expr in exprs:
                if has_data(platform.prometheus.query(query_of(expr))):
                    del pending[key]
                    break
        return not pending

    # Prometheus scrapes every second: poll its query API until every panel has data.
    with contextlib.suppress(AssertionError):
        eventually(all_have_data, 90, "every panel to have data")
    empty = [f"{dashboard} → {panel}" for dashboard, panel in sorted(pending)]
    assert not empty, "panels without data:\n  " + "\n  ".join(empty)


def test_every_scrape_target_is_up(platform: Platform) -> None:
    up = {s["metric"]["job"]: s["value"][1] for s in platform.prometheus.query("up")}
    assert up == {"gateway": "1", "agent": "1", "operator": "1"}


def test_dashboards_cover_the_contract_metrics() -> None:
    contract = (REPO / "docs" / "contracts.md").read_text()
    text = " ".join(e for _, _, exprs in panels() for e in exprs)
    for line in contract.splitlines():
        if line.startswith("- `euglena_"):
            metric = line.split("`")[1].split("{")[0]
            assert metric in text, f"{metric} is on no dashboard"
