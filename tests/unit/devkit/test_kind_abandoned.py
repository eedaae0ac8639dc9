"""A killed e2e run's kind cluster is deleted by the next run; live and kept ones stay."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from euglena_devkit.kind import cluster


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_only_clusters_whose_creator_is_gone_are_deleted(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    kind = tmp_path / "kind"
    kind.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    kind.chmod(0o755)
    root = tmp_path / "clusters"
    owners = {"abandoned": _dead_pid(), "running": os.getpid()}
    for name, pid in owners.items():
        (root / name).mkdir(parents=True)
        (root / name / cluster.OWNER_FILE).write_text(f"{pid}\n")
    (root / "kept").mkdir()
    (root / "kept" / cluster.OWNER_FILE).write_text(f"{_dead_pid()}\n")
    cluster.keep(root / "kept")

    assert cluster.remove_abandoned(root, kind) == ["abandoned"]

    assert calls.read_text().split("\n")[0] == "delete cluster --name abandoned"
    assert sorted(p.name for p in root.iterdir()) == ["kept", "running"]
