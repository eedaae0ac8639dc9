"""The kind tier's command line.

``python -m euglena_devkit.kind images`` builds (or confirms) every image of the kind tier.

``build-flags`` prints the ``docker build`` flags the service images need here (the local
base images), for ``EUGLENA_DOCKER_BUILD_FLAGS`` (skaffold). ``up [NAME]`` creates a cluster
with the images (kubeconfig printed; ``down NAME`` deletes it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from euglena_devkit.cluster.tools import tools_bin_dir
from euglena_devkit.kind import cluster, images
from euglena_devkit.kind.docker import DockerError, daemon_problem
from euglena_devkit.kind.tools import REPO_ROOT, kind_bin_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m euglena_devkit.kind")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("images", help="build or confirm every image, then print their sizes")
    build.add_argument("--no-node", action="store_true", help="skip the kind node image")
    build.add_argument("--no-services", action="store_true", help="skip the three service images")
    up = sub.add_parser("up", help="create a kind cluster with the images loaded")
    up.add_argument("name", nargs="?", default="euglena-dev")
    sub.add_parser("build-flags", help="print the docker build flags for the service images")
    down = sub.add_parser("down", help="delete a kind cluster")
    down.add_argument("name", nargs="?", default="euglena-dev")
    args = parser.parse_args(argv)

    if args.command == "build-flags":
        print(" ".join(images.build_flags()))
        return 0
    problem = daemon_problem()
    if problem:
        print(f"{problem}: run hack/docker/up.sh (make start-docker)", file=sys.stderr)
        return 1
    try:
        if args.command == "images":
            images.ensure_images(node=not args.no_node, services=not args.no_services)
            for ref, size in images.report():
                print(f"{size / 1e6:8.0f} MB  {ref}")
        elif args.command == "up":
            workdir = REPO_ROOT / ".run" / "kind" / args.name
            created = cluster.create(
                args.name,
                workdir,
                images.ensure_images(),
                kind=kind_bin_dir() / "kind",
                kubectl=tools_bin_dir() / "kubectl",
                helm=tools_bin_dir() / "helm",
            )
            cluster.keep(workdir)
            print(f"export KUBECONFIG={created.kubeconfig}")
        else:
            cluster.KindCluster(
                args.name, Path(), kind_bin_dir() / "kind", Path(), Path(), images.image_set()
            ).delete()
    except (DockerError, cluster.KindClusterError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
