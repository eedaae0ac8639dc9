"""What the composition root hands to the HTTP edge: built once per app, frozen."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from euglena.ports import HealthCheck, WorkerDirectory
from euglena_gateway.auth import TokenVerifier
from euglena_gateway.metrics import GatewayMetrics
from euglena_gateway.settings import GatewaySettings
from euglena_gateway.usecases.tasks import TaskService

EnsureUser = Callable[[str], Awaitable[str]]
"""Local development only: make sure a user with this name exists; return its UUID."""


@dataclass(frozen=True, slots=True)
class Services:
    settings: GatewaySettings
    verifier: TokenVerifier
    tasks: TaskService
    workers: WorkerDirectory
    checks: Mapping[str, HealthCheck]
    metrics: GatewayMetrics
    ensure_user: EnsureUser | None = None
