"""A kind cluster for the e2e tier: real nodes running real containers.

One control-plane node (it also runs workloads) created with pytest-kind from either kind's own
node image (upstream) or the one built here (local, see ``node``). The same configuration is used
in both cases:

- the kubelet is allowed to run on a cgroup v1 host (``failCgroupV1: false``; from Kubernetes
  1.35 it refuses to by default);
- kind's default CNI (kindnetd) is off; pods get their addresses from the CNI plugins every kind
  node ships (ptp + host-local + portmap), configured by a file mounted into the node. Pod
  traffic is not masqueraded, so nothing a pod sends can leave this machine;
- CoreDNS answers for the cluster only (no ``forward`` to the host's resolvers), for the same
  reason;
- NetworkPolicies are enforced by kube-router's policy controller (iptables and ipset; kindnetd's
  own enforcement needs the kernel's nftables ``queue``, which some hosts lack), running alone:
  no routing, no service proxy (kube-proxy stays).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from euglena_devkit.kind.images import ImageSet, say

POD_SUBNET = "10.244.0.0/16"
NODE_POD_CIDR = "10.244.0.0/24"  # what the controller-manager gives the one node


class KindClusterError(RuntimeError):
    """The cluster could not be created or set up; the message says which step failed."""


def cni_config() -> dict[str, object]:
    return {
        "cniVersion": "1.0.0",
        "name": "euglena-e2e",
        "plugins": [
            {
                "type": "ptp",
                "ipMasq": False,
                "mtu": 1500,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": NODE_POD_CIDR}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def kind_config(cni_file: Path) -> dict[str, object]:
    return {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "networking": {"disableDefaultCNI": True, "podSubnet": POD_SUBNET},
        "kubeadmConfigPatches": ["kind: KubeletConfiguration\nfailCgroupV1: false\n"],
        "nodes": [
            {
                "role": "control-plane",
                "extraMounts": [
                    {
                        "hostPath": str(cni_file),
                        "containerPath": "/etc/cni/net.d/10-euglena-e2e.conflist",
                        "readOnly": True,
                    }
                ],
            }
        ],
    }


@dataclass
class KindCluster:
    """A running kind cluster and the tools to drive it."""

    name: str
    kubeconfig: Path
    kind: Path
    kubectl_bin: Path
    helm_bin: Path
    images: ImageSet

    def kubectl(
        self, *args: str | Path, input: str | None = None, timeout: float = 300, check: bool = True
    ) -> str:
        return _run(
            [self.kubectl_bin, "--kubeconfig", self.kubeconfig, *args],
            input=input,
            timeout=timeout,
            check=check,
        )

    def helm(self, *args: str | Path, timeout: float = 900, check: bool = True) -> str:
        return _run(
            [self.helm_bin, "--kubeconfig", self.kubeconfig, *args], timeout=timeout, check=check
        )

    def json(self, *args: str | Path) -> dict[str, object]:
        loaded: dict[str, object] = json.loads(self.kubectl(*args, "-o", "json"))
        return loaded

    def load(self, refs: Sequence[str]) -> None:
        started = time.monotonic()
        _run([self.kind, "load", "docker-image", "--name", self.name, *refs], timeout=1800)
        say(f"loaded {len(refs)} images into {self.name} in {time.monotonic() - started:.0f} s")

    def delete(self) -> None:
        _run([self.kind, "delete", "cluster", "--name", self.name], timeout=300, check=False)


def _run(
    cmd: Sequence[str | Path], *, input: str | None = None, timeout: float, check: bool = True
) -> str:
    done = subprocess.run(
        [str(c) for c in cmd], input=input, capture_output=True, text=True, timeout=timeout
    )
    if check and done.returncode != 0:
        raise KindClusterError(
            f"`{' '.join(map(str, cmd[:4]))} …` failed (exit {done.returncode}):\n"
            f"{(done.stderr or done.stdout)[-3000:]}"
        )
    return done.stdout


def create(
    name: str,
    workdir: Path,
    images: ImageSet,
    *,
    kind: Path,
    kubectl: Path,
    helm: Path,
) -> KindCluster:
    """Create the cluster, make its node Ready and load every image of ``images``."""
    from pytest_kind import KindCluster as PytestKindCluster

    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / OWNER_FILE).write_text(f"{os.getpid()}\n")
    cni_file = workdir / "cni.conflist"
    cni_file.write_text(json.dumps(cni_config(), indent=2))
    config_file = workdir / "kind.yaml"
    config_file.write_text(yaml.safe_dump(kind_config(cni_file), sort_keys=False))
    kubeconfig = workdir / "kubeconfig"
    started = time.monotonic()
    say(f"creating kind cluster {name} ({images.node_image or 'kind default node image'})")
    # pytest-kind keeps its state under .pytest-kind/ in the working directory.
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        PytestKindCluster(
            name,
            kubeconfig=kubeconfig,
            image=images.node_image,
            kind_path=kind,
            kubectl_path=kubectl,
        ).create(config_file)
    except subprocess.CalledProcessError as exc:
        raise KindClusterError(f"kind create cluster failed (exit {exc.returncode})") from exc
    finally:
        os.chdir(cwd)
    cluster = KindCluster(name, kubeconfig, kind, kubectl, helm, images)
    try:
        cluster.kubectl("wait", "--for=condition=Ready", "node", "--all", "--timeout=300s")
        _check_pod_cidr(cluster)
        _cluster_only_dns(cluster)
        cluster.load(images.to_load())
        _enforce_network_policies(cluster)
        say(f"cluster {name} ready in {time.monotonic() - started:.0f} s")
    except BaseException:
        cluster.delete()
        raise
    return cluster


OWNER_FILE = "owner.pid"  # the process that created the cluster; removed when it is kept


def keep(workdir: Path) -> None:
    """Mark the cluster in ``workdir`` as kept: ``remove_abandoned`` leaves it alone."""
    (workdir / OWNER_FILE).unlink(missing_ok=True)


def remove_abandoned(root: Path, kind: Path) -> list[str]:
    """Delete the clusters under ``root`` (one work dir each) whose creating process is gone:
    a test run that was killed leaves its cluster behind, and dockerd starts its node again
    after a restart. Clusters that were kept, or that a live process owns, stay."""
    removed = []
    for workdir in sorted(root.glob("*/")):
        owner = workdir / OWNER_FILE
        try:
            pid = int(owner.read_text())
        except (OSError, ValueError):
            continue
        if Path(f"/proc/{pid}").exists():
            continue
        say(f"deleting the abandoned kind cluster {workdir.name} (its creator {pid} is gone)")
        _run([kind, "delete", "cluster", "--name", workdir.name], timeout=300, check=False)
        shutil.rmtree(workdir, ignore_errors=True)
        removed.append(workdir.name)
    return removed


def _check_pod_cidr(cluster: KindCluster, timeout: float = 120) -> None:
    """The static CNI configuration is right only for the one node's podCIDR."""
    deadline = time.monotonic() + timeout
    while True:
        items = cluster.json("get", "nodes").get("items")
        cidrs = [item["spec"].get("podCIDR") for item in items] if isinstance(items, list) else []
        if cidrs == [NODE_POD_CIDR]:
            return
        if any(cidrs) or time.monotonic() > deadline:
            raise KindClusterError(
                f"the CNI configuration assumes one node with podCIDR {NODE_POD_CIDR}, "
                f"found {cidrs}"
            )
        time.sleep(1)


def _cluster_only_dns(cluster: KindCluster) -> None:
    """Drop CoreDNS's forwarding to the node's resolvers, then wait for the rollout."""
    configmap = cluster.json("-n", "kube-system", "get", "configmap", "coredns")
    data = configmap["data"]
    assert isinstance(data, dict)
    corefile: str = data["Corefile"]
    lines, skipping = [], False
    for line in corefile.splitlines():
        if line.strip().startswith("forward "):
            skipping = line.rstrip().endswith("{")
            continue
        if skipping:
            skipping = line.strip() != "}"
            continue
        lines.append(line)
    patch = {"data": {"Corefile": "\n".join(lines) + "\n"}}
    cluster.kubectl(
        "-n",
        "kube-system",
        "patch",
        "configmap",
        "coredns",
        "--type",
        "merge",
        "-p",
        json.dumps(patch),
    )
    cluster.kubectl("-n", "kube-system", "rollout", "restart", "deployment/coredns")
    cluster.kubectl(
        "-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=300s"
    )


def network_policy_manifest(image: str) -> list[dict[str, object]]:
    """kube-router as a policy controller only: a DaemonSet with the RBAC it reads with."""
    name, namespace = "kube-router", "kube-system"
    labels = {"k8s-app": name}
    read = ["get", "list", "watch"]
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": namespace},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name},
            "rules": [
                {
                    "apiGroups": [""],
                    "verbs": read,
                    "resources": ["namespaces", "pods", "services", "nodes", "endpoints"],
                },
                {
                    "apiGroups": ["networking.k8s.io"],
                    "resources": ["networkpolicies"],
                    "verbs": read,
                },
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": read},
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "verbs": ["get", "create", "update"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": name,
            },
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        },
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": name,
                        "priorityClassName": "system-node-critical",
                        "hostNetwork": True,
                        "tolerations": [{"operator": "Exists"}],
                        "containers": [
                            {
                                "name": name,
                                "image": image,
                                "imagePullPolicy": "IfNotPresent",
                                "args": [
                                    "--run-router=false",
                                    "--run-firewall=true",
                                    "--run-service-proxy=false",
                                    "--health-port=20244",
                                ],
                                "env": [
                                    {
                                        "name": "NODE_NAME",
                                        "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}},
                                    }
                                ],
                                "securityContext": {"privileged": True},
                                "readinessProbe": {
                                    "httpGet": {"path": "/healthz", "port": 20244},
                                    "periodSeconds": 3,
                                },
                                "volumeMounts": [
                                    {
                                        "name": "lib-modules",
                                        "mountPath": "/lib/modules",
                                        "readOnly": True,
                                    },
                                    {"name": "xtables-lock", "mountPath": "/run/xtables.lock"},
                                ],
                            }
                        ],
                        "volumes": [
                            {"name": "lib-modules", "hostPath": {"path": "/lib/modules"}},
                            {
                                "name": "xtables-lock",
                                "hostPath": {"path": "/run/xtables.lock", "type": "FileOrCreate"},
                            },
                        ],
                    },
                },
            },
        },
    ]


def _enforce_network_policies(cluster: KindCluster) -> None:
    manifest = yaml.safe_dump_all(network_policy_manifest(cluster.images.network_policy))
    cluster.kubectl("apply", "-f", "-", input=manifest)
    cluster.kubectl(
        "-n", "kube-system", "rollout", "status", "daemonset/kube-router", "--timeout=300s"
    )
