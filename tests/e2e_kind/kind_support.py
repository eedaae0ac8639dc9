"""What the real-pods tests run beside the release: a paced model for the agents, a way in to
the gateway from the test, and probes run inside a pod."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from kind_release import DEMO_USER, NAMESPACE, RELEASE, Release, app_deployment, eventually

from euglena.settings import DEV_JWT_SECRET
from euglena_devkit.kind.cluster import KindCluster
from euglena_devkit.tokens import mint_service_token

MODEL_NAMESPACE = "euglena-model"
MODEL_PORT = 8080
MODEL_URL = f"http://paced-model.{MODEL_NAMESPACE}.svc:{MODEL_PORT}/v1"
PACED_MODEL = Path(__file__).with_name("paced_model.py")


def deploy_paced_model(cluster: KindCluster, pace_seconds: float) -> None:
    """The paced model server (``paced_model.py``) in its own namespace, run by the agent image."""
    labels = {"app": "paced-model"}
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": MODEL_NAMESPACE}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "paced-model", "namespace": MODEL_NAMESPACE},
            "data": {"paced_model.py": PACED_MODEL.read_text()},
        },
        app_deployment(
            {
                "name": "paced-model",
                "image": cluster.images.services["agent"],
                "imagePullPolicy": "Never",
                "command": ["python", "/model/paced_model.py"],
                "env": [{"name": "PACE_SECONDS", "value": str(pace_seconds)}],
                "ports": [{"containerPort": MODEL_PORT}],
                "readinessProbe": {
                    "httpGet": {"path": "/health", "port": MODEL_PORT},
                    "periodSeconds": 2,
                },
                "volumeMounts": [{"name": "code", "mountPath": "/model"}],
            },
            [{"name": "code", "configMap": {"name": "paced-model"}}],
            MODEL_NAMESPACE,
        ),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "paced-model", "namespace": MODEL_NAMESPACE},
            "spec": {"selector": labels, "ports": [{"port": MODEL_PORT}]},
        },
    ]
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objects))
    cluster.kubectl(
        "-n", MODEL_NAMESPACE, "rollout", "status", "deployment/paced-model", "--timeout=300s"
    )


def paced_model_values() -> dict[str, object]:
    """Chart values that point the agents at the paced model, through their NetworkPolicy."""
    return {
        "agent.model.apiUrl": MODEL_URL,
        "agent.model.name": "paced",
        "agent.model.offline": False,
        "agent.networkPolicy.extraEgress": [
            {
                "to": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": MODEL_NAMESPACE}
                        }
                    }
                ],
                "ports": [{"port": MODEL_PORT, "protocol": "TCP"}],
            }
        ],
    }


def model_stats(cluster: KindCluster) -> dict[str, dict[str, int]]:
    """Per task key: how often the paced model saw it start, and its requests."""
    out = cluster.kubectl(
        "-n",
        MODEL_NAMESPACE,
        "exec",
        "deployment/paced-model",
        "--",
        "python",
        "-c",
        f"import urllib.request; print(urllib.request.urlopen("
        f"'http://127.0.0.1:{MODEL_PORT}/stats').read().decode())",
    )
    stats: dict[str, dict[str, int]] = json.loads(out)
    return stats


def paced_mandate(key: str, steps: int, pace_seconds: float | None = None) -> str:
    """A mandate the paced model finishes in ``steps`` ticks of ``pace_seconds`` (default: the
    server's pace) each."""
    pace = f" of {pace_seconds:g} s" if pace_seconds else ""
    return f"Work through a paced exercise. [task {key}: {steps} steps{pace}]"


# --- reaching the gateway from the test ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def port_forward(cluster: KindCluster, target: str, port: int, namespace: str) -> Iterator[int]:
    """``kubectl port-forward`` to ``target`` (``svc/…``); yields the local port."""
    local = _free_port()
    proc = subprocess.Popen(
        [
            str(cluster.kubectl_bin),
            "--kubeconfig",
            str(cluster.kubeconfig),
            "-n",
            namespace,
            "port-forward",
            target,
            f"{local}:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:

        def accepting() -> bool:
            if proc.poll() is not None:
                raise AssertionError(
                    f"port-forward exited: {proc.stderr.read() if proc.stderr else b''!r}"
                )
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", local), 1):
                return True
            return False

        eventually(accepting, 60, f"port-forward to {target}", interval=0.2)
        yield local
    finally:
        proc.terminate()
        proc.wait(10)


@dataclass
class Gateway:
    """The gateway seen from the test through a port-forward, as the service role."""

    client: httpx.Client

    def submit(self, mandate: str, max_ticks: int) -> httpx.Response:
        return self.client.post(
            "/tasks", json={"mandate": mandate, "max_ticks": max_ticks, "user_id": DEMO_USER}
        )

    def task(self, correlation_id: str) -> httpx.Response:
        return self.client.get(f"/tasks/{correlation_id}")


@contextlib.contextmanager
def gateway(release: Release) -> Iterator[Gateway]:
    # The Service, not a pod: a port-forward to a pod dies with it.
    with port_forward(release.cluster, f"svc/{RELEASE}-gateway", 8000, NAMESPACE) as port:
        token = mint_service_token(DEV_JWT_SECRET)
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=15,
        ) as client:
            yield Gateway(client)


# --- probes from inside a pod ---------------------------------------------------------------

_PROBE = """
import json, socket, sys
results = {}
for target in json.loads(sys.argv[1]):
    host, port = target.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
        results[target] = "open"
    except OSError as exc:
        results[target] = type(exc).__name__
print(json.dumps(results))
"""


def tcp_probe(release: Release, pod: str, targets: list[str]) -> dict[str, str]:
    """Which ``host:port`` targets accept a TCP connection from inside ``pod`` ("open"), and
    how the others fail."""
    out = release.kubectl("exec", pod, "--", "python", "-c", _PROBE, json.dumps(targets))
    results: dict[str, str] = json.loads(out)
    return results


def wait_ready(release: Release, selector: str, count: int, timeout: float) -> list[str]:
    def ready() -> list[str]:
        names = [
            p["metadata"]["name"]
            for p in release.pods(selector)
            if not p["metadata"].get("deletionTimestamp")
            and any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in p["status"].get("conditions") or []
            )
        ]
        return names if len(names) >= count else []

    return eventually(ready, timeout, f"{count} Ready pods ({selector})")


def now() -> float:
    return time.monotonic()


# --- an in-cluster Prometheus scraping the release's pods ---------------------------------------

MONITORING_NAMESPACE = "euglena-monitoring"
RULES = Path(__file__).resolve().parents[2] / "charts/euglena/files/prometheus/euglena.rules.yaml"
ALERT_HOLD = "15s"


# Scrape targets by component: the pod port the chart's prometheus.io annotations name.
SCRAPED = {"gateway": 8000, "agent": 8081, "operator": 8081}


def prometheus_objects(image: str, rules: str) -> list[dict[str, Any]]:
    """Prometheus scraping the release's pods, with the chart's alert rules. Pods are found
    through a headless Service per component (DNS), a discovery every Prometheus build has."""
    config = {
        "global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
        "rule_files": ["/etc/prometheus/rules/*.yaml"],
        "scrape_configs": [
            {
                "job_name": component,
                "dns_sd_configs": [
                    {
                        "names": [f"scrape-{component}.{NAMESPACE}.svc"],
                        "type": "A",
                        "port": port,
                        "refresh_interval": "5s",
                    }
                ],
                "relabel_configs": [{"target_label": "namespace", "replacement": NAMESPACE}],
            }
            for component, port in SCRAPED.items()
        ],
    }
    headless = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": f"scrape-{component}",
                "namespace": NAMESPACE,
                "labels": {"e2e": "scrape"},
            },
            "spec": {
                "clusterIP": "None",
                "selector": {
                    "app.kubernetes.io/instance": RELEASE,
                    "app.kubernetes.io/component": component,
                },
                "ports": [{"name": "metrics", "port": port}],
            },
        }
        for component, port in SCRAPED.items()
    ]
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": MONITORING_NAMESPACE}},
        *headless,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "prometheus", "namespace": MONITORING_NAMESPACE},
            "data": {"prometheus.yml": yaml.safe_dump(config), "euglena.rules.yaml": rules},
        },
        app_deployment(
            {
                "name": "prometheus",
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["prometheus"],
                "args": [
                    "--config.file=/etc/prometheus/prometheus.yml",
                    "--storage.tsdb.path=/prometheus",
                    "--web.listen-address=:9090",
                ],
                "ports": [{"containerPort": 9090}],
                "readinessProbe": {
                    "httpGet": {"path": "/-/ready", "port": 9090},
                    "periodSeconds": 2,
                },
                "volumeMounts": [
                    {
                        "name": "config",
                        "mountPath": "/etc/prometheus/prometheus.yml",
                        "subPath": "prometheus.yml",
                    },
                    {
                        "name": "config",
                        "mountPath": "/etc/prometheus/rules/euglena.yaml",
                        "subPath": "euglena.rules.yaml",
                    },
                    {"name": "data", "mountPath": "/prometheus"},
                ],
            },
            [
                {"name": "config", "configMap": {"name": "prometheus"}},
                {"name": "data", "emptyDir": {}},
            ],
            MONITORING_NAMESPACE,
        ),
    ]


def chart_rules_held(hold: str = ALERT_HOLD) -> str:
    """The chart's alert rules, each held for ``hold`` instead of its production ``for`` (the
    durations are checked by promtool's rule tests; here the expressions meet real metrics)."""
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                rule["for"] = hold
    return yaml.safe_dump(rules, sort_keys=False)


def remove_prometheus(cluster: KindCluster) -> None:
    cluster.kubectl("-n", NAMESPACE, "delete", "service", "-l", "e2e=scrape", "--wait=true")
    cluster.kubectl("delete", "namespace", MONITORING_NAMESPACE, "--wait=true", timeout=600)


def deploy_prometheus(cluster: KindCluster) -> None:
    image = cluster.images.dependencies.get("prometheus") or "docker.io/prom/prometheus:v2.53.4"
    objects = prometheus_objects(image, chart_rules_held())
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objects))
    cluster.kubectl(
        "-n", MONITORING_NAMESPACE, "rollout", "status", "deployment/prometheus", "--timeout=300s"
    )


@dataclass
class Prometheus:
    client: httpx.Client

    def query(self, promql: str) -> list[dict[str, Any]]:
        response = self.client.get("/api/v1/query", params={"query": promql})
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()["data"]["result"]
        return result

    def firing(self) -> set[str]:
        response = self.client.get("/api/v1/alerts")
        response.raise_for_status()
        return {
            a["labels"]["alertname"]
            for a in response.json()["data"]["alerts"]
            if a["state"] == "firing"
        }


@contextlib.contextmanager
def prometheus(cluster: KindCluster) -> Iterator[Prometheus]:
    with port_forward(cluster, "deployment/prometheus", 9090, MONITORING_NAMESPACE) as port:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield Prometheus(client)
