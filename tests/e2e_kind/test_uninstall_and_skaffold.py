"""The end of the release's life, then a developer's first one: ``helm uninstall`` leaves only
what it says it leaves, and ``skaffold run -p kind`` builds the three images, loads them into the
cluster and deploys the chart again; a one-line change to the agent rebuilds only the agent.

These run last (modules run in name order): they remove the release the other modules share."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from kind_figures import Figures
from kind_release import DB_NAMESPACE, NAMESPACE, RELEASE, REPO, Release, eventually
from kind_support import gateway

from euglena_devkit.kind import images
from euglena_devkit.kind.tools import kind_bin_dir

pytestmark = [pytest.mark.e2e_kind, pytest.mark.timeout(2400)]

# Kept on purpose with persistence on (docs/deploy.md): the data volumes and the password that
# opens RabbitMQ's.
KEPT = {
    "persistentvolumeclaim": {f"data-{RELEASE}-redis-0", f"data-{RELEASE}-rabbitmq-0"},
    "secret": {f"{RELEASE}-rabbitmq"},
}
# What every namespace holds without anyone asking.
ALWAYS = {"configmap": {"kube-root-ca.crt"}, "serviceaccount": {"default"}}


def _namespaced_resources(release: Release) -> list[str]:
    out = release.cluster.kubectl("api-resources", "--verbs=list", "--namespaced", "-o", "name")
    return [r for r in out.split() if r not in ("events", "events.events.k8s.io")]


def _left_in_namespace(release: Release) -> dict[str, set[str]]:
    left: dict[str, set[str]] = {}
    for resource in _namespaced_resources(release):
        names = release.cluster.kubectl(
            "-n", NAMESPACE, "get", resource, "-o", "name", check=False, timeout=60
        ).split()
        kind = resource.split(".")[0].rstrip("s") if "." in resource else resource.rstrip("s")
        found = {n.split("/", 1)[1] for n in names} - ALWAYS.get(kind, set())
        if found:
            left[kind] = found
    return left


def test_helm_uninstall_leaves_only_the_crds_and_the_kept_data(
    release: Release, figures: Figures
) -> None:
    # AgentTasks are the users' objects: delete them while the operator can still let them go.
    release.kubectl("delete", "agenttasks", "--all", "--timeout=300s", timeout=360)
    release.cluster.helm("uninstall", RELEASE, "-n", NAMESPACE, "--wait", "--timeout", "10m")
    eventually(lambda: not release.pods() or None, 600, "every pod of the release to go")

    left = _left_in_namespace(release)
    cluster_scoped = {
        kind: set(
            release.cluster.kubectl(
                "get", kind, "-l", f"app.kubernetes.io/instance={RELEASE}", "-o", "name"
            ).split()
        )
        for kind in ("clusterrole", "clusterrolebinding", "crd")
    }
    crds = {
        name.split("/", 1)[1]
        for name in release.cluster.kubectl("get", "crd", "-o", "name").split()
        if name.endswith(".euglena.dev")
    }
    figures.record(
        "left after helm uninstall",
        "; ".join(f"{kind}: {', '.join(sorted(names))}" for kind, names in sorted(left.items()))
        + f"; CRDs: {', '.join(sorted(crds))}",
    )
    assert left == KEPT, left
    assert not any(cluster_scoped.values()), cluster_scoped
    assert crds == {"agenttasks.euglena.dev", "agentpools.euglena.dev"}
    for kind, names in KEPT.items():
        for name in names:
            release.kubectl("delete", kind, name, "--wait=true")


def _workspace(tmp: Path) -> Path:
    """A copy of the repository's files (tracked and untracked, not ignored) to build from, so a
    change made for the rebuild never touches the real tree."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, files):
        source = REPO / name.decode()
        if source.is_file() and not name.startswith(b".run/"):
            target = tmp / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return tmp


def _skaffold(release: Release, workdir: Path, *args: str) -> tuple[str, float]:
    cluster = release.cluster
    tools = [str(kind_bin_dir()), str(cluster.helm_bin.parent)]
    env = {
        **os.environ,
        "PATH": os.pathsep.join([*tools, os.environ["PATH"]]),
        "KUBECONFIG": str(cluster.kubeconfig),
        "SKAFFOLD_DISABLE_MONITORING": "true",
        "SKAFFOLD_UPDATE_CHECK": "false",
        "EUGLENA_E2E_IMAGES": cluster.images.mode,
        "EUGLENA_DOCKER_BUILD_FLAGS": " ".join(images.build_flags()),
        "EUGLENA_DATABASE_URL": (
            f"postgresql://postgres:postgres@postgres.{DB_NAMESPACE}.svc:5432/postgres"
        ),
    }
    started = time.monotonic()
    done = subprocess.run(
        [
            str(kind_bin_dir() / "skaffold"),
            *args,
            "-p",
            "kind",
            "--kube-context",
            f"kind-{cluster.name}",
            "--status-check=true",
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    return output, time.monotonic() - started


def _built(output: str) -> set[str]:
    """The artifacts skaffold built (not found in its cache)."""
    return set(re.findall(r"Building \[(euglena-\w+)\]", output))


def test_skaffold_run_builds_loads_and_deploys(
    release: Release, figures: Figures, tmp_path: Path
) -> None:
    workdir = _workspace(tmp_path / "workspace")
    # The first run builds all three even where an earlier run left them in skaffold's cache.
    output, first = _skaffold(release, workdir, "run", "--cache-artifacts=false")
    assert _built(output) == {"euglena-gateway", "euglena-agent", "euglena-operator"}, output
    figures.record("skaffold run (build 3 images, load, deploy)", f"{first:.0f} s")
    with gateway(release) as gw:
        ready = gw.client.get("/ready")
        assert ready.status_code == 200, ready.text

    before = _deployed_images(release)
    marker = workdir / "agent" / "src" / "euglena_agent" / "__init__.py"
    # A change no earlier run made, so its image cannot be in any cache yet.
    marker.write_text(marker.read_text() + f"# a one-line change {uuid.uuid4().hex}\n")
    output, again = _skaffold(release, workdir, "run")
    rebuilt = _built(output)
    figures.record(
        "skaffold run after a one-line agent change", f"{again:.0f} s, rebuilt {sorted(rebuilt)}"
    )
    assert rebuilt == {"euglena-agent"}, output
    after = _deployed_images(release)
    changed = {name for name in before if before[name] != after.get(name)}
    assert changed == {f"{RELEASE}-agent"}, (before, after)


def _deployed_images(release: Release) -> dict[str, str]:
    return {
        item["metadata"]["name"]: item["spec"]["template"]["spec"]["containers"][0]["image"]
        for item in release.json("get", "deployments")["items"]
    }
