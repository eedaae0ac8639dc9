"""HTTP adapter to the Euglena gateway, with the operator's service-role identity."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import httpx

from euglena.task import Task, TaskSource
from euglena_operator.errors import GatewayRejected, GatewayUnavailable, QuotaRejected
from euglena_operator.metrics import Metrics
from euglena_operator.vocabulary import GatewayOutcome

log = logging.getLogger(__name__)

MAX_IDS_PER_READ = 100


class GatewayClient:
    def __init__(
        self, base_url: str, token: str, *, timeout: float, metrics: Metrics | None = None
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            # A burst of AgentTasks queues for a connection rather than failing on the pool.
            timeout=httpx.Timeout(timeout, pool=None),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )
        self._metrics = metrics

    async def aclose(self) -> None:
        await self._http.aclose()

    async def submit(
        self, *, correlation_id: str, user_id: uuid.UUID, mandate: str, max_ticks: int
    ) -> Task:
        """Submit idempotently: a repeat with the same ``correlation_id`` returns the task."""
        body = {
            "mandate": mandate,
            "max_ticks": max_ticks,
            "user_id": str(user_id),
            "correlation_id": correlation_id,
            "source": TaskSource.KUBERNETES.value,
        }
        data = await self._request("POST", "/tasks", json=body)
        return Task.model_validate(data.get("task", data))

    async def get_many(self, ids: Sequence[str]) -> dict[str, Task]:
        """Current tasks by id, ``MAX_IDS_PER_READ`` per request; unknown ids are absent."""
        found: dict[str, Task] = {}
        for chunk in _chunks(ids, MAX_IDS_PER_READ):
            data = await self._request("GET", "/tasks", params={"ids": ",".join(chunk)})
            for item in data.get("items", []):
                task = Task.model_validate(item)
                found[str(task.correlation_id)] = task
        return found

    async def cancel(self, correlation_id: str) -> bool:
        """Cancel a task; False when it was already terminal (409) or is unknown (404)."""
        try:
            await self._request("POST", f"/tasks/{correlation_id}/cancel")
        except GatewayRejected as exc:
            if exc.status_code in (404, 409):
                log.debug("cancel of %s not needed: %s", correlation_id, exc.message)
                return False
            raise
        return True

    async def _request(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            self._count(GatewayOutcome.UNAVAILABLE)
            raise GatewayUnavailable(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            self._count(GatewayOutcome.UNAVAILABLE)
            raise GatewayUnavailable(f"{method} {url}: HTTP {response.status_code}")
        if response.status_code >= 400:
            self._count(GatewayOutcome.REJECTED)
            raise _rejection(response)
        self._count(GatewayOutcome.OK)
        payload = response.json() if response.content else {}
        return payload if isinstance(payload, dict) else {"items": payload}

    def _count(self, outcome: GatewayOutcome) -> None:
        if self._metrics is not None:
            self._metrics.gateway_requests.labels(outcome=outcome).inc()


def _rejection(response: httpx.Response) -> GatewayRejected:
    code, message = "http_error", response.text[:500]
    try:
        error = response.json().get("error", {})
        code = str(error.get("code", code))
        message = str(error.get("message", message))
    except (ValueError, AttributeError):
        pass
    cls = QuotaRejected if response.status_code == 429 else GatewayRejected
    return cls(response.status_code, code, message)


def _chunks(items: Iterable[str], size: int) -> Iterable[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
