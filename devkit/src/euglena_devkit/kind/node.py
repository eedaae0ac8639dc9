"""The kind node image, assembled here from locally built pieces.

kind's own ``kind build node-image`` starts from ``kindest/base`` and pulls CoreDNS, etcd, pause,
kindnetd and the storage images from registries. This does the same assembly with nothing
pulled: the base is ``hack/images/kind-base`` (Debian packages, containerd, crictl and CNI
plugins from Go modules, kind's node files from the pinned kind module); the Kubernetes binaries
come from the control plane's module; every image the node needs is built here under the name
kubeadm and containerd ask for and imported into the node's containerd, pinned, exactly as kind
imports its own. The node gets no CNI: the kind tier installs its own network (see ``cluster``).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from euglena_devkit.cluster.tools import tools_bin_dir
from euglena_devkit.kind import docker
from euglena_devkit.kind.images import (
    IMAGES_DIR,
    INPUTS_LABEL,
    KUBE_REGISTRY,
    LOCAL,
    _build_dir,
    _digest,
    kubernetes_version,
    say,
    up_to_date,
)
from euglena_devkit.kind.storage import storage_manifest
from euglena_devkit.kind.tools import REPO_ROOT, kind_module_dir, read_env

_ASSEMBLY_REVISION = "1"  # bump when the assembly below changes what it produces
NODE_BINARIES = ("kubelet", "kubeadm", "kubectl")
BASE_BINARIES = ("containerd", "containerd-shim-runc-v2", "ctr", "runc", "crictl", "runc-dropcaps")
CNI_PLUGINS = ("host-local", "loopback", "ptp", "portmap")


def _component_images(kind_bin: Path) -> dict[str, tuple[Path, str]]:
    """Image ref -> (binary, Dockerfile target) for everything kubeadm and containerd run."""
    kube = kubernetes_version()
    control = tools_bin_dir()
    pins = read_env(REPO_ROOT / "hack/kind/versions.env")
    etcd = read_env(REPO_ROOT / "hack/k8s/versions.env")["ETCD_VERSION"].lstrip("v")
    sandbox = sandbox_image()
    return {
        f"{KUBE_REGISTRY}/kube-apiserver:{kube}": (control / "kube-apiserver", "static"),
        f"{KUBE_REGISTRY}/kube-controller-manager:{kube}": (
            control / "kube-controller-manager",
            "static",
        ),
        f"{KUBE_REGISTRY}/kube-scheduler:{kube}": (control / "kube-scheduler", "static"),
        f"{KUBE_REGISTRY}/kube-proxy:{kube}": (kind_bin / "kube-proxy", "proxy"),
        f"{KUBE_REGISTRY}/etcd:{etcd}-0": (control / "etcd", "static"),
        f"{KUBE_REGISTRY}/coredns/coredns:{pins['COREDNS_VERSION']}": (
            kind_bin / "coredns",
            "coredns",
        ),
        sandbox: (kind_bin / "pause", "pause"),
        local_path_image(): (kind_bin / "local-path-provisioner", "static"),
    }


def local_path_image() -> str:
    version = read_env(REPO_ROOT / "hack/kind/versions.env")["LOCAL_PATH_VERSION"]
    return f"{LOCAL}/local-path-provisioner:{version}"


def sandbox_image() -> str:
    """The pause image kind's containerd configuration names as the pod sandbox."""
    config = (kind_module_dir() / "images/base/files/etc/containerd/config.toml").read_text()
    found = re.search(r'sandbox_image\s*=\s*"([^"]+)"', config)
    if found is None:
        raise RuntimeError("kind's containerd config names no sandbox_image")
    return found.group(1)


def _copy_tree(src: Path, dest: Path) -> None:
    """Copy kind's files out of the read-only module cache: scripts 0755, the rest 0644."""
    for path in src.rglob("*"):
        target = dest / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            target.chmod(0o755)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        text_start = path.read_bytes()[:2]
        executable = text_start == b"#!" or path.parent.name == "bin"
        target.chmod(0o755 if executable else 0o644)


def build_base(ref: str, debian: str, kind_bin: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ctx = Path(tmp)
        _copy_tree(kind_module_dir() / "images/base/files", ctx / "files")
        (ctx / "bin" / "cni").mkdir(parents=True)
        for name in BASE_BINARIES:
            shutil.copy2(kind_bin / name, ctx / "bin" / name)
        for name in CNI_PLUGINS:
            shutil.copy2(kind_bin / "cni" / name, ctx / "bin" / "cni" / name)
        shutil.copy2(IMAGES_DIR / "kind-base" / "restrict-oom-score-adj", ctx)
        _build_dir("kind-base", ref, base=debian, context=ctx)


def build_components(debian: str, kind_bin: Path) -> dict[str, str]:
    """Build each component image; returns ref -> image id."""
    ids: dict[str, str] = {}
    for ref, (binary, target) in _component_images(kind_bin).items():
        with tempfile.TemporaryDirectory() as tmp:
            ctx = Path(tmp)
            shutil.copy2(binary, ctx / binary.name)
            _build_dir(
                "kube",
                ref,
                base=debian,
                context=ctx,
                target=target,
                build_args={"BINARY": binary.name},
            )
        ids[ref] = docker.image_id(ref) or ""
    return ids


def build_node_image(refs: Mapping[str, str], kind_bin: Path) -> None:
    """Build the kind base, the component images and the node image unless all are current."""
    debian, base_ref, node_ref = refs["debian"], refs["kind-base"], refs["kind-node"]
    build_base(base_ref, debian, kind_bin)
    components = build_components(debian, kind_bin)
    storage = storage_manifest(local_path_image(), debian)
    inputs = _digest(
        _ASSEMBLY_REVISION,
        storage,
        docker.image_id(debian) or "",
        docker.image_id(base_ref) or "",
        *(f"{ref}={image}" for ref, image in sorted(components.items())),
        *(kind_bin / name for name in NODE_BINARIES),
    )
    if up_to_date(node_ref, inputs):
        say(f"up to date: {node_ref}")
        return
    started = time.monotonic()
    say(f"assembling {node_ref} (Kubernetes {kubernetes_version()}, {len(components)} images)")
    container = docker.docker(
        "run",
        "--detach",
        "--entrypoint",
        "sleep",
        "--security-opt",
        "seccomp=unconfined",
        base_ref,
        "infinity",
    ).strip()
    try:
        for name in NODE_BINARIES:
            docker.docker("cp", kind_bin / name, f"{container}:/usr/bin/{name}")
        docker.docker(
            "exec",
            container,
            "sh",
            "-c",
            f"chown root:root /usr/bin/kube* && chmod 0755 /usr/bin/kube* "
            f"&& printf %s {kubernetes_version()} > /kind/version",
        )
        docker.docker(
            "exec",
            "-i",
            container,
            "sh",
            "-c",
            "mkdir -p /kind/manifests && cat > /kind/manifests/default-storage.yaml",
            input=storage,
        )
        docker.docker("exec", container, "sh", "-c", "nohup containerd >/dev/null 2>&1 &")
        docker.docker(
            "exec",
            container,
            "sh",
            "-c",
            "for i in $(seq 100); do ctr version >/dev/null 2>&1 && exit 0; sleep 0.1; done;"
            " exit 1",
        )
        # The storage helper pod runs the Debian base.
        for ref in [*components, debian]:
            docker.pipe(
                ["save", ref],
                [
                    "exec",
                    "-i",
                    container,
                    "ctr",
                    "--namespace=k8s.io",
                    "images",
                    "import",
                    "--label=io.cri-containerd.pinned=pinned",
                    "--all-platforms",
                    "--no-unpack",
                    "--digests",
                    "-",
                ],
            )
        docker.docker("exec", container, "pkill", "containerd")
        docker.docker(
            "commit",
            "--change",
            'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]',
            "--change",
            f"LABEL {INPUTS_LABEL}={inputs}",
            container,
            node_ref,
        )
    finally:
        docker.docker("rm", "--force", "--volumes", container)
    size = docker.image_size(node_ref) / 1e6
    say(f"built {node_ref} in {time.monotonic() - started:.0f} s ({size:.0f} MB)")


__all__ = ["IMAGES_DIR", "build_node_image", "sandbox_image"]
