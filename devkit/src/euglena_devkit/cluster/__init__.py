"""A real Kubernetes control plane on loopback, for tests and local runs.

``LocalCluster`` (:mod:`.local`) starts etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok from the binaries ``hack/k8s/build.sh`` caches outside the repo
(:mod:`.tools`), with certificates from :mod:`.pki` and an admin client from :mod:`.api`;
:mod:`.testing` is what cluster-tier tests get, and :mod:`.cli` is
``python -m euglena_devkit.cluster up|down|env`` (one detached cluster per checkout)::

    with LocalCluster(tools_bin_dir()) as cluster:
        subprocess.run([cluster.bin_dir / "kubectl", "--kubeconfig", cluster.kubeconfig, ...])
"""

from euglena_devkit.cluster.errors import ClusterError, ToolsMissing
from euglena_devkit.cluster.local import LocalCluster
from euglena_devkit.cluster.tools import REPO_ROOT, build_tools, tools_bin_dir, tools_built

__all__ = [
    "REPO_ROOT",
    "ClusterError",
    "LocalCluster",
    "ToolsMissing",
    "build_tools",
    "tools_bin_dir",
    "tools_built",
]
