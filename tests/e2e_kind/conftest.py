"""kind tier: the chart on a real cluster whose node runs real containers.

``make test`` starts Docker (``hack/docker/up.sh``), builds kind and the node binaries
(``hack/kind/build.sh``) and every image (``python -m euglena_devkit.kind images``) before pytest
runs; when these tests are run on their own, the collection hook below builds what is missing,
outside any per-test timeout. Where no Docker daemon answers, every test here is skipped with the
reason (and under ``CI=true`` a skip counts as a failure, see ``tests/conftest.py``).

``EUGLENA_E2E_IMAGES=upstream`` uses kind's node image and the chart's default images from their
registries instead of building them (see ``euglena_devkit.kind.images``).

Fixtures:
    kind_cluster  session  ``euglena_devkit.kind.cluster.KindCluster``: one node, every image
                           loaded; deleted afterwards (kept with ``EUGLENA_E2E_KEEP=1``)
    release       session  ``kind_release.Release``: PostgreSQL and the chart installed (the
                           modules run in name order; the last one uninstalls it)
    paced         session  the same release, its agents on the paced model
                           (``paced_model.py``) and its pool at one task per agent
    figures       session  ``figures.record(name, value)``: measurements printed at the end
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kind_figures import FIGURES, Figures
from kind_release import Release, install_release
from kind_support import deploy_paced_model, paced_model_values

from euglena_devkit.cluster.tools import build_tools, tools_bin_dir, tools_built
from euglena_devkit.kind import cluster as kind_cluster_kit
from euglena_devkit.kind import images
from euglena_devkit.kind.docker import DockerError, daemon_problem
from euglena_devkit.kind.tools import REPO_ROOT, build_kind_tools, kind_bin_dir

E2E_DIR = Path(__file__).parent
ARTIFACTS = REPO_ROOT / "test-artifacts" / "kind"

_unavailable: str | None = None
_broken: str | None = None
_image_set: images.ImageSet | None = None


_figures = FIGURES


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    global _unavailable, _broken, _image_set
    ours = [item for item in items if E2E_DIR in Path(item.path).parents]
    for item in ours:
        item.add_marker(pytest.mark.e2e_kind)
    if not ours:
        return
    _unavailable = daemon_problem()
    if _unavailable:
        _unavailable += " (hack/docker/up.sh installs and starts one)"
        for item in ours:
            item.add_marker(pytest.mark.skip(reason=f"kind e2e skipped: {_unavailable}"))
        return
    capture = config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        sys.stderr.write(
            "\npreparing the kind tier (tools and images; cached after a first build)\n"
        )
        try:
            if not tools_built():
                build_tools()
            build_kind_tools()
            _image_set = images.ensure_images()
            for ref, size in images.report():
                _figures.record(f"image size {ref}", f"{size / 1e6:.0f} MB")
        except (DockerError, RuntimeError, OSError) as exc:
            _broken = f"preparing the kind tier failed: {exc}"
        except Exception as exc:  # a failed build script (CalledProcessError) and the like
            _broken = f"preparing the kind tier failed: {exc!r}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _figures.rows:
        terminalreporter.section("kind e2e figures")
        width = max(len(name) for name, _ in _figures.rows)
        for name, value in _figures.rows:
            terminalreporter.write_line(f"{name:<{width}}  {value}")


@pytest.fixture(scope="session")
def figures() -> Figures:
    return _figures


@pytest.fixture(scope="session")
def kind_cluster(request: pytest.FixtureRequest) -> Iterator[kind_cluster_kit.KindCluster]:
    if _unavailable:
        pytest.skip(_unavailable)
    if _broken or _image_set is None:
        pytest.fail(_broken or "the kind tier's images were not prepared")
    clusters = REPO_ROOT / ".run" / "kind"
    kind_cluster_kit.remove_abandoned(clusters, kind_bin_dir() / "kind")
    name = f"euglena-e2e-{uuid.uuid4().hex[:6]}"
    workdir = clusters / name
    started = time.monotonic()
    cluster = kind_cluster_kit.create(
        name,
        workdir,
        _image_set,
        kind=kind_bin_dir() / "kind",
        kubectl=tools_bin_dir() / "kubectl",
        helm=tools_bin_dir() / "helm",
    )
    _figures.record(
        "kind cluster created, node Ready, images loaded", f"{time.monotonic() - started:.0f} s"
    )
    try:
        yield cluster
    finally:
        if request.session.testsfailed:
            _keep_diagnostics(cluster)
        if os.environ.get("EUGLENA_E2E_KEEP") == "1":
            kind_cluster_kit.keep(workdir)
            sys.stderr.write(f"\nkept kind cluster {name}: KUBECONFIG={cluster.kubeconfig}\n")
        else:
            cluster.delete()
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def release(kind_cluster: kind_cluster_kit.KindCluster) -> Release:
    installed = install_release(kind_cluster)
    _figures.record("helm install --wait (all pods Ready)", f"{installed.install_seconds:.0f} s")
    return installed


PACE_SECONDS = 0.5
# One task per agent, at most four agents, back down ten seconds after the queue shrinks.
POOL = {
    "agentPool.targetPerReplica": "1",
    "agentPool.maxReplicas": "4",
    "agentPool.minReplicas": "0",
    "agentPool.pollingIntervalSeconds": "2",
    "agentPool.scaleDownStabilizationSeconds": "10",
}


@pytest.fixture(scope="session")
def paced(release: Release) -> Release:
    deploy_paced_model(release.cluster, PACE_SECONDS)
    seconds = release.upgrade({**paced_model_values(), **POOL})
    _figures.record("helm upgrade to the paced model (agents rolled)", f"{seconds:.0f} s")
    return release


def _keep_diagnostics(cluster: kind_cluster_kit.KindCluster) -> None:
    """Pods, events and container logs of every namespace, into test-artifacts/kind/."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    for what, args in {
        "pods.txt": ("get", "pods", "-A", "-o", "wide"),
        "events.txt": ("get", "events", "-A", "--sort-by=.lastTimestamp"),
        "describe-pods.txt": ("describe", "pods", "-A"),
        "agenttasks.yaml": ("get", "agenttasks", "-A", "-o", "yaml"),
    }.items():
        (ARTIFACTS / what).write_text(cluster.kubectl(*args, check=False, timeout=60))
    cluster_logs = ARTIFACTS / "logs"
    kind = kind_bin_dir() / "kind"
    subprocess.run(
        [str(kind), "export", "logs", str(cluster_logs), "--name", cluster.name],
        capture_output=True,
        timeout=300,
        check=False,
    )
    sys.stderr.write(f"\nkind diagnostics (pods, events, node and container logs) in {ARTIFACTS}\n")
