"""The Kubernetes side of ``make run``: a local control plane, the CRDs, the operator, and the
sample AgentTask followed to ``Complete`` beside the HTTP sample.

The cluster starts fresh on every run, like the services: its etcd would otherwise still hold
the AgentTasks of an earlier run, whose tasks the fresh Postgres no longer has. Without Go the
control-plane tools cannot be built: it says so once and the rest runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from contextlib import ExitStack

from euglena_devkit.cluster import REPO_ROOT, LocalCluster, build_tools, tools_built
from euglena_devkit.services import free_port
from euglena_devkit.supervisor import Supervisor
from euglena_gateway.devtokens import DEMO_USER_ID

CRDS = sorted((REPO_ROOT / "crds").glob("*.yaml"))
SAMPLE = REPO_ROOT / "crds" / "samples" / "agenttask.yaml"
WORKDIR = REPO_ROOT / ".run" / "run-cluster"


def start_cluster_side(
    stack: ExitStack,
    env: dict[str, str],
    gateway_url: str,
    procs: Supervisor,
    say: Callable[[str], None],
) -> None:
    if os.environ.get("EUGLENA_RUN_CLUSTER", "1") == "0":
        return
    if not tools_built():
        if shutil.which("go") is None:
            say("Go is not installed: skipping the local Kubernetes control plane and operator.")
            return
        say("Building the local Kubernetes control plane (first run only; a few minutes)…")
        build_tools()
    say("Starting a fresh local Kubernetes control plane (etcd, apiserver, kwok nodes)…")
    shutil.rmtree(WORKDIR, ignore_errors=True)  # fresh, as the services are
    cluster = stack.enter_context(LocalCluster(workdir=WORKDIR))
    kubectl = [str(cluster.bin_dir / "kubectl"), "--kubeconfig", str(cluster.kubeconfig)]

    def k(*args: str) -> str:
        return subprocess.run([*kubectl, *args], check=True, capture_output=True, text=True).stdout

    k("apply", *(arg for crd in CRDS for arg in ("-f", str(crd))))
    k("wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")
    procs.start(
        "operator",
        [sys.executable, "-m", "euglena_operator"],
        env={
            **os.environ,
            **env,
            "KUBECONFIG": str(cluster.kubeconfig),
            "GATEWAY_URL": gateway_url,
            "DEFAULT_USER_ID": str(DEMO_USER_ID),
            "LIVENESS_PORT": str(free_port()),
            "METRICS_PORT": str(free_port()),
        },
    )
    say(f"Kubernetes: export KUBECONFIG={cluster.kubeconfig}  (kubectl: {cluster.bin_dir})")
    say(f"Applying {SAMPLE.relative_to(REPO_ROOT)} and waiting for it to complete…")
    k("apply", "-f", str(SAMPLE))
    k("wait", "--for=condition=Complete", "--timeout=180s", "agenttask/hello-euglena")
    say(k("get", "agenttasks"))
