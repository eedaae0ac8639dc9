"""Helpers for the operator's cluster tests: a running operator subprocess, awaiting, kubectl."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx

from euglena_devkit.cluster_testing import K8sCluster, eventually
from euglena_devkit.services import free_port

T = TypeVar("T")


async def until(
    check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.1
) -> T:
    """Await until ``check()`` is truthy (the event loop keeps running meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(interval)


async def until_async(check: Callable[[], Awaitable[T | None]], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.1)


class OperatorProcess:
    def __init__(
        self, proc: subprocess.Popen[bytes], log: Path, metrics_port: int, liveness_port: int
    ) -> None:
        self.proc = proc
        self.log = log
        self.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        self.healthz_url = f"http://127.0.0.1:{liveness_port}/healthz"

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def metrics(self) -> str:
        return httpx.get(self.metrics_url, timeout=5).text

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextlib.contextmanager
def running_operator(kubeconfig: Path, workdir: Path, **env: str) -> Iterator[OperatorProcess]:
    metrics_port, liveness_port = free_port(), free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if k != "KUBECONFIG"},
        "KUBECONFIG": str(kubeconfig),
        "EUGLENA_ENV": "dev",
        "LOG_LEVEL": "DEBUG",
        "METRICS_PORT": str(metrics_port),
        "LIVENESS_PORT": str(liveness_port),
        "STATUS_SYNC_INTERVAL_SECONDS": "0.5",
        **env,
    }
    log = workdir / f"operator-{uuid.uuid4().hex[:6]}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "euglena_operator"],
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    operator = OperatorProcess(proc, log, metrics_port, liveness_port)

    def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"the operator exited:\n{operator.logs()[-4000:]}")
        try:
            return httpx.get(operator.healthz_url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        eventually(healthy, 60, "the operator's /healthz")
        yield operator
    finally:
        operator.stop()
        sys.stderr.write(f"\n--- operator log tail ({log}) ---\n{operator.logs()[-6000:]}\n")


def kubectl_json(cluster: K8sCluster, *args: str) -> Any:
    result = cluster.kubectl(*args, "-o", "json", check=False)
    if result.returncode != 0:
        return None
    return json.loads(result.stdout)
