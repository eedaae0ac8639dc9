"""The Kubernetes side of ``make run``: a local control plane, the CRDs and the operator.

Skipped, with one message, when the control-plane tools cannot be built (no Go).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any


def start_cluster_side(
    stack: ExitStack, env: dict[str, str], gateway_url: str, procs: Any, say: Callable[[str], None]
) -> None:
    if shutil.which("go") is None:
        say("Go is not installed: skipping the local Kubernetes control plane and the operator.")
        return
    say("(The local Kubernetes control plane is started by `make cluster-up`.)")
