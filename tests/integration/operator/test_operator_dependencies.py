"""The operator's own clients give up within their timeouts when a dependency stops answering.

A blackholed Redis (worker heartbeats, read for pod-deletion costs) or Kubernetes API (scale,
pods, status) must fail the call, as a stopped one would, so the AgentPool and AgentTask loops
log it and try again next pass instead of hanging on it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kubernetes.config import kube_config

from euglena.adapters.redis_workers import RedisWorkers
from euglena.errors import DependencyUnavailable
from euglena_devkit.faults import TcpProxy
from euglena_devkit.tokens import mint_service_token
from euglena_operator.errors import KubernetesUnavailable
from euglena_operator.settings import OperatorSettings
from euglena_operator.wiring import Services, build_services

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "http://127.0.0.1:{port}"}}}}]
users: [{{name: u, user: {{token: t}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
current-context: x
"""


@pytest.fixture
async def operator_services(
    redis_proxy: TcpProxy,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[Services, TcpProxy]]:
    # Nothing listens behind this one: a Kubernetes API that accepts and never answers.
    kube = TcpProxy(1).start()
    config = tmp_path / "kubeconfig"
    config.write_text(KUBECONFIG.format(port=kube.port))
    # read by the client at import time, so set where it keeps it
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(config))
    kube.blackhole()
    monkeypatch.setenv("REDIS_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("KUBERNETES_TIMEOUT_SECONDS", "1")
    settings = OperatorSettings(
        EUGLENA_ENV="dev",
        redis_url=redis_proxy.url(redis_url),
        supabase_service_role_key=mint_service_token("x" * 32),
    )
    services = build_services(settings)
    try:
        yield services, kube
    finally:
        await services.aclose()
        kube.close()


async def test_a_blackholed_redis_fails_a_heartbeat_read_within_its_timeout(
    operator_services: tuple[Services, TcpProxy], redis_proxy: TcpProxy
) -> None:
    services, _ = operator_services
    workers = RedisWorkers(services.redis, set_key=services.settings.worker_status_set_key)
    assert await workers.live_workers() == []
    redis_proxy.blackhole()
    began = time.monotonic()
    with pytest.raises(DependencyUnavailable):
        await asyncio.wait_for(workers.live_workers(), 30)
    # REDIS_TIMEOUT_SECONDS (0.5 s) bounds it, not the client library's own default
    assert time.monotonic() - began < 3
    redis_proxy.restore()
    assert await workers.live_workers() == []


async def test_a_blackholed_kubernetes_api_fails_a_scale_read_within_its_timeout(
    operator_services: tuple[Services, TcpProxy],
) -> None:
    services, _ = operator_services
    began = time.monotonic()
    with pytest.raises(KubernetesUnavailable):
        await asyncio.wait_for(services.kube.read_scale("default", "agents"), 30)
    assert time.monotonic() - began < 10
