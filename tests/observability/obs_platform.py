"""Observability tier fixtures: the real gateway, an agent and the operator, each as its own process
(`python -m euglena_<service>`, as in the images), scraped by a real Prometheus (Debian's
package) while tasks flow through them.

The operator needs a Kubernetes API: a local control plane (kwok nodes) is started here from
the tools `make k8s-tools` builds; without them the tests skip with the reason. Redis,
RabbitMQ (+management) and PostgreSQL are the real local services; only the LLM is a local
HTTP server speaking the OpenAI protocol.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from euglena.settings import DEV_JWT_SECRET
from euglena_devkit.cluster import LocalCluster, tools_bin_dir, tools_built
from euglena_devkit.fakes import FakeModelServer
from euglena_devkit.services import (
    LocalServices,
    PrometheusServer,
    ScrapeTarget,
    ServiceError,
    free_port,
)
from euglena_devkit.tokens import mint_service_token
from euglena_devkit.waiting import eventually

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "observability"
POOL = "agents"


@dataclass
class Platform:
    gateway_url: str
    prometheus: PrometheusServer
    cluster: LocalCluster
    logs: Path

    def kubectl(self, *args: str, input: str | None = None) -> str:
        return kubectl(self.cluster, *args, input=input)


def kubectl(cluster: LocalCluster, *args: str, input: str | None = None) -> str:
    proc = subprocess.run(
        [str(cluster.bin_dir / "kubectl"), "--kubeconfig", str(cluster.kubeconfig), *args],
        input=input, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


class Processes:
    """The three services as child processes, logs kept for a failing test's report."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.children: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, module: str, env: dict[str, str]) -> None:
        with (self.logs / f"{name}.log").open("wb") as sink:
            self.children[name] = subprocess.Popen(
                [sys.executable, "-m", module],
                env={**os.environ, **env},
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_http(self, name: str, url: str) -> None:
        proc = self.children[name]

        def up() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited:\n{self.tail(name)}")
            try:
                return httpx.get(url, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        eventually(up, 90, f"{name} at {url}")

    def tail(self, name: str, chars: int = 4000) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        for proc in self.children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.children.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _pool_objects() -> str:
    """An AgentPool and the Deployment it scales (fake pods on kwok nodes)."""
    labels = {"app": "observability-agents"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": POOL, "namespace": NAMESPACE},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "agent", "image": "euglena-agent:test"}]},
            },
        },
    }
    pool = {
        "apiVersion": "euglena.dev/v1alpha1",
        "kind": "AgentPool",
        "metadata": {"name": POOL, "namespace": NAMESPACE},
        "spec": {
            "scaleTargetRef": {"name": POOL},
            "queue": {"name": "agent.mandates"},
            "minReplicas": 1,
            "maxReplicas": 3,
            "targetPerReplica": 1,
            "pollingIntervalSeconds": 1,
            "scaleDownStabilizationSeconds": 0,
        },
    }
    return yaml.safe_dump_all([deployment, pool])


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    if not tools_built():
        pytest.skip("the local Kubernetes tools are not built (make k8s-tools); the operator "
                    "needs an API server")  # fmt: skip
    base = tmp_path_factory.mktemp("observability")
    logs = base / "logs"
    logs.mkdir()
    with contextlib.ExitStack() as stack:
        try:
            services = stack.enter_context(LocalServices(REPO, base / "services"))
        except ServiceError as exc:
            pytest.fail(str(exc), pytrace=False)
        model = stack.enter_context(FakeModelServer())
        cluster = LocalCluster(tools_bin_dir(), workdir=base / "cluster", nodes=1)
        cluster.start()
        stack.callback(cluster.stop)

        ports = {"gateway": free_port(), "agent": free_port(), "operator": free_port()}
        common = {
            **services.env(),
            "EUGLENA_ENV": "dev",
            "LOG_LEVEL": "INFO",
            "SUPABASE_JWT_SECRET": DEV_JWT_SECRET,
            "SUPABASE_SERVICE_ROLE_KEY": mint_service_token(DEV_JWT_SECRET),
        }
        procs = Processes(logs)
        stack.callback(procs.stop)
        gateway_env = {"GATEWAY_HOST": "127.0.0.1", "GATEWAY_PORT": str(ports["gateway"])}
        procs.start("gateway", "euglena_gateway", {**common, **gateway_env})
        procs.start(
            "agent",
            "euglena_agent",
            {
                **common,
                "MODEL_API_URL": model.url,
                "HEALTH_HOST": "127.0.0.1",
                "HEALTH_PORT": str(ports["agent"]),
                "WORKER_ID": "observability-agent",
                "CHROMA_PATH": str(base / "chroma"),
            },
        )
        gateway_url = f"http://127.0.0.1:{ports['gateway']}"
        kubectl(cluster, "apply", "--server-side", "-f", str(REPO / "crds"))
        kubectl(cluster, "wait", "--for=condition=Established", "--timeout=60s",
                         "crd/agenttasks.euglena.dev", "crd/agentpools.euglena.dev")  # fmt: skip
        kubectl(cluster, "create", "namespace", NAMESPACE)
        kubectl(cluster, "apply", "-f", "-", input=_pool_objects())
        liveness = free_port()
        procs.start(
            "operator",
            "euglena_operator",
            {
                **common,
                "KUBECONFIG": str(cluster.kubeconfig),
                "GATEWAY_URL": gateway_url,
                "WATCH_NAMESPACES": NAMESPACE,
                "METRICS_PORT": str(ports["operator"]),
                "LIVENESS_PORT": str(liveness),
                "STATUS_SYNC_INTERVAL_SECONDS": "0.5",
            },
        )
        procs.wait_http("gateway", f"{gateway_url}/ready")
        procs.wait_http("agent", f"http://127.0.0.1:{ports['agent']}/healthz")
        procs.wait_http("operator", f"http://127.0.0.1:{liveness}/healthz")

        prometheus = PrometheusServer(
            [ScrapeTarget(name, f"127.0.0.1:{port}") for name, port in ports.items()],
            base_dir=base / "prometheus",
        )
        prometheus.start()
        stack.callback(prometheus.close)

        def scraped() -> bool:
            up = prometheus.query("up")
            return len(up) == len(ports) and all(s["value"][1] == "1" for s in up)

        # Traffic starts only once every target has been scraped, so every increase is seen.
        eventually(scraped, 30, "Prometheus to scrape the gateway, agent and operator")
        try:
            yield Platform(gateway_url, prometheus, cluster, logs)
        finally:
            for name in procs.children:
                sys.stderr.write(f"\n--- {name} log tail ---\n{procs.tail(name, 2000)}\n")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"
