"""LocalCluster: etcd, kube-apiserver, controller-manager, scheduler and kwok on loopback.

kwok runs fake nodes that report Ready and run pods. Every component binds 127.0.0.1 on a free
port and keeps its log under ``<workdir>/logs``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

import httpx

from euglena_devkit.cluster import pki as cluster_pki
from euglena_devkit.cluster.api import AdminApi, Check, http_ok
from euglena_devkit.cluster.errors import ClusterError, ToolsMissing
from euglena_devkit.cluster.tools import TOOLS, stages_file, tools_bin_dir
from euglena_devkit.services import free_port
from euglena_devkit.supervisor import ProcessExited, Supervisor
from euglena_devkit.waiting import TimedOut, eventually

FAKE_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"

_CLIENTS = {
    "admin": ("euglena-admin", "system:masters"),
    "controller-manager": ("system:kube-controller-manager", None),
    "scheduler": ("system:kube-scheduler", None),
    "kwok": ("kwok-controller", "system:masters"),
}


class LocalCluster:
    """etcd + kube-apiserver + controller-manager + scheduler + kwok on loopback.

    ``workdir`` holds certificates, kubeconfigs, etcd data and ``logs/``; a temporary
    directory is created (and removed by ``stop()``) when none is given. ``detach=True``
    leaves the processes running when this Python process exits (used by ``make cluster-up``).
    """

    def __init__(
        self,
        bin_dir: Path | None = None,
        *,
        workdir: Path | None = None,
        nodes: int = 2,
        detach: bool = False,
        startup_timeout: float = 120.0,
    ) -> None:
        self.bin_dir = bin_dir or tools_bin_dir()
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="euglena-k8s-"))
        self.nodes = nodes
        self.startup_timeout = startup_timeout
        self.kubeconfig = self.workdir / "kubeconfig"
        self.logs_dir = self.workdir / "logs"
        self.server = ""
        self.node_names = [f"kwok-node-{i}" for i in range(nodes)]
        self._components = Supervisor(self.logs_dir, detach=detach)
        self._api: AdminApi | None = None

    # -- lifecycle -----------------------------------------------------------------

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        missing = [tool for tool in TOOLS if not (self.bin_dir / tool).is_file()]
        if missing:
            raise ToolsMissing(
                f"not built in {self.bin_dir}: {', '.join(missing)} (make k8s-tools)"
            )
        try:
            self._start()
        except BaseException as exc:
            # Keep the work dir: its logs are what explains the failure.
            self._own_workdir = False
            self.stop()
            exc.add_note(f"control plane logs: {self.logs_dir}")
            raise

    def stop(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None
        self._components.stop_all()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def release(self) -> None:
        """Forget the (detached) processes, leaving them running for ``make cluster-down``."""
        if self._api is not None:
            self._api.close()
            self._api = None
        self._components.forget()

    @property
    def pids(self) -> dict[str, int]:
        return self._components.pids

    @property
    def api(self) -> AdminApi:
        """An admin (system:masters) HTTP client for the API server."""
        if self._api is None:
            raise ClusterError("cluster is not running")
        return self._api

    # -- logs ------------------------------------------------------------------------

    def log_tail(self, component: str, lines: int = 40) -> str:
        return self._components.tail(component, lines)

    def copy_logs(self, dest: Path) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        for log in self.logs_dir.glob("*.log"):
            shutil.copy2(log, dest / log.name)

    # -- start-up --------------------------------------------------------------------

    def _start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        pki = cluster_pki.generate(self.workdir / "pki", _CLIENTS)
        port = free_port()
        self.server = f"https://127.0.0.1:{port}"
        kubeconfigs = {
            name: AdminApi.write_kubeconfig(
                self.workdir / f"{name}.kubeconfig", self.server, pki.ca, pair
            )
            for name, pair in pki.clients.items()
        }
        shutil.copy2(kubeconfigs["admin"], self.kubeconfig)
        self._api = AdminApi(self.server, pki.ca, pki.clients["admin"])

        etcd_url = self._start_etcd()
        self._start_apiserver(port, etcd_url, pki)
        self._start_controller_manager(kubeconfigs["controller-manager"], pki)
        self._start_scheduler(kubeconfigs["scheduler"])
        self._start_kwok(kubeconfigs["kwok"])
        self._create_nodes()

    def _bin(self, name: str) -> str:
        return str(self.bin_dir / name)

    def _wait(self, what: str, check: Check) -> None:
        """Wait until ``check`` holds; fail at once when a component exits meanwhile."""

        def healthy() -> bool:
            self._components.check(waiting_for=what)
            return check()

        try:
            eventually(
                healthy,
                self.startup_timeout,
                what,
                interval=0.1,
                ignoring=(httpx.HTTPError, OSError),
            )
        except ProcessExited as exc:
            raise ClusterError(str(exc)) from None
        except TimedOut as exc:
            tails = "\n".join(
                f"--- {name} ---\n{self._components.tail(name, 15)}"
                for name in self._components.pids
            )
            raise ClusterError(f"{exc}\n{tails}") from None

    def _start_etcd(self) -> str:
        client, peer = free_port(), free_port()
        url = f"http://127.0.0.1:{client}"
        peer_url = f"http://127.0.0.1:{peer}"
        self._components.start(
            "etcd",
            [
                self._bin("etcd"),
                "--name=euglena",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={url}",
                f"--advertise-client-urls={url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=euglena={peer_url}",
                # A throwaway cluster does not need durable writes; fsync dominates start-up.
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            cwd=self.workdir,
        )
        self._wait("etcd /health", http_ok(f"{url}/health", contains='"health":"true"'))
        return url

    def _start_apiserver(self, port: int, etcd_url: str, pki: cluster_pki.Pki) -> None:
        self._components.start(
            "kube-apiserver",
            [
                self._bin("kube-apiserver"),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                # The reconciler refuses loopback addresses for the `kubernetes` Endpoints;
                # nothing in-cluster dials the API server through that Service here.
                "--endpoint-reconciler-type=none",
                f"--secure-port={port}",
                f"--cert-dir={self.workdir / 'apiserver'}",
                f"--tls-cert-file={pki.serving.cert}",
                f"--tls-private-key-file={pki.serving.key}",
                f"--client-ca-file={pki.ca.cert}",
                "--authorization-mode=Node,RBAC",
                f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                f"--service-account-key-file={pki.sa_public_key}",
                f"--service-account-signing-key-file={pki.sa_private_key}",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--allow-privileged=true",
                "--profiling=false",
                "--v=1",
            ],
            cwd=self.workdir,
        )
        self._wait("kube-apiserver /readyz", self.api.ready_check("/readyz"))

    def _delegated_flags(self, kubeconfig: Path, name: str, port: int) -> list[str]:
        return [
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={port}",
            f"--cert-dir={self.workdir / name}",
            "--leader-elect=false",
            "--v=1",
        ]

    def _start_controller_manager(self, kubeconfig: Path, pki: cluster_pki.Pki) -> None:
        port = free_port()
        self._components.start(
            "kube-controller-manager",
            [
                self._bin("kube-controller-manager"),
                *self._delegated_flags(kubeconfig, "controller-manager", port),
                "--controllers=*",
                f"--service-account-private-key-file={pki.sa_private_key}",
                f"--root-ca-file={pki.ca.cert}",
                "--use-service-account-credentials=true",
                f"--cluster-signing-cert-file={pki.ca.cert}",
                f"--cluster-signing-key-file={pki.ca.key}",
            ],
            cwd=self.workdir,
        )
        self._wait(
            "kube-controller-manager /healthz",
            http_ok(f"https://127.0.0.1:{port}/healthz", insecure=True),
        )

    def _start_scheduler(self, kubeconfig: Path) -> None:
        port = free_port()
        self._components.start(
            "kube-scheduler",
            [self._bin("kube-scheduler"), *self._delegated_flags(kubeconfig, "scheduler", port)],
            cwd=self.workdir,
        )
        self._wait(
            "kube-scheduler /readyz", http_ok(f"https://127.0.0.1:{port}/readyz", insecure=True)
        )

    def _start_kwok(self, kubeconfig: Path) -> None:
        port = free_port()
        key, value = FAKE_NODE_ANNOTATION
        home = self.workdir / "kwok"
        home.mkdir(exist_ok=True)
        self._components.start(
            "kwok",
            [
                self._bin("kwok"),
                f"--kubeconfig={kubeconfig}",
                f"--config={stages_file(self.bin_dir)}",
                "--manage-all-nodes=false",
                f"--manage-nodes-with-annotation-selector={key}={value}",
                "--node-lease-duration-seconds=40",
                "--cidr=10.244.0.1/16",
                "--node-ip=10.244.0.1",
                f"--server-address=127.0.0.1:{port}",
            ],
            cwd=home,
            # kwok also reads ~/.kwok/kwok.yaml; keep the user's configuration out.
            env={**os.environ, "HOME": str(home)},
        )
        self._wait("kwok /healthz", http_ok(f"http://127.0.0.1:{port}/healthz"))

    def _create_nodes(self) -> None:
        key, value = FAKE_NODE_ANNOTATION
        for name in self.node_names:
            self.api.create_fake_node(name, {key: value})
        self._wait(f"{self.nodes} fake nodes Ready", self.api.nodes_ready_check(self.node_names))
        # The ServiceAccount controller creating `default` proves the controller-manager
        # works with its own credentials; pods are rejected until that account exists.
        self._wait(
            "ServiceAccount default/default",
            self.api.ready_check("/api/v1/namespaces/default/serviceaccounts/default"),
        )
