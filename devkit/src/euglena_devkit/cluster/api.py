"""Admin access to the local API server: kubeconfigs, the few calls start-up needs, and the
health checks start-up waits on."""

from __future__ import annotations

import base64
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from euglena_devkit.cluster.pki import CertPair

CONTEXT = "euglena-local"
Check = Callable[[], bool]


def http_ok(url: str, *, contains: str | None = None, insecure: bool = False) -> Check:
    """A check that ``url`` answers 200 (and contains ``contains``).

    ``insecure`` is for loopback components that serve a self-signed certificate and whose
    health endpoints need no authentication: only the status code matters there.
    """

    def check() -> bool:
        response = httpx.get(url, timeout=2.0, verify=not insecure)
        return response.status_code == 200 and (contains is None or contains in response.text)

    return check


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


class AdminApi:
    """An httpx client authenticated with a client certificate, verifying the cluster CA."""

    def __init__(self, server: str, ca: CertPair, client: CertPair) -> None:
        context = ssl.create_default_context(cafile=str(ca.cert))
        context.load_cert_chain(str(client.cert), str(client.key))
        self.server = server
        self.http = httpx.Client(base_url=server, verify=context, timeout=10.0)

    def close(self) -> None:
        self.http.close()

    @staticmethod
    def write_kubeconfig(path: Path, server: str, ca: CertPair, client: CertPair) -> Path:
        """A self-contained kubeconfig (certificates embedded) for ``client``."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": CONTEXT,
                    "cluster": {"server": server, "certificate-authority-data": _b64(ca.cert)},
                }
            ],
            "users": [
                {
                    "name": CONTEXT,
                    "user": {
                        "client-certificate-data": _b64(client.cert),
                        "client-key-data": _b64(client.key),
                    },
                }
            ],
            "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT}}],
            "current-context": CONTEXT,
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)
        return path

    def ready_check(self, path: str) -> Check:
        def check() -> bool:
            return self.http.get(path).status_code == 200

        return check

    def create_fake_node(self, name: str, annotations: dict[str, str]) -> None:
        node: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "annotations": {"node.alpha.kubernetes.io/ttl": "0", **annotations},
                "labels": {
                    "kubernetes.io/arch": "amd64",
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/hostname": name,
                    "type": "kwok",
                },
            },
            "status": {
                "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            },
        }
        response = self.http.post("/api/v1/nodes", json=node)
        if response.status_code != 409:  # already there: a restart over the same etcd
            response.raise_for_status()

    def nodes_ready_check(self, names: list[str]) -> Check:
        def check() -> bool:
            items = self.http.get("/api/v1/nodes").raise_for_status().json()["items"]
            ready = {
                item["metadata"]["name"]
                for item in items
                for cond in item.get("status", {}).get("conditions", [])
                if cond["type"] == "Ready" and cond["status"] == "True"
            }
            return set(names) <= ready

        return check
