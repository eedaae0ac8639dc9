"""Prometheus metrics of the operator (names fixed in docs/contracts.md).

Built at startup in their own registry, never at import time, and served on METRICS_PORT.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        pool = ["namespace", "pool"]
        r = self.registry
        self.queue_messages = Gauge(
            "euglena_operator_agentpool_queue_messages",
            "Messages in an AgentPool's queue by state (ready, unacked).",
            [*pool, "state"],
            registry=r,
        )
        self.consumers = Gauge(
            "euglena_operator_agentpool_consumers",
            "Consumers of the pool's queue.",
            pool,
            registry=r,
        )
        self.desired_replicas = Gauge(
            "euglena_operator_agentpool_desired_replicas",
            "Replicas the pool wants.",
            pool,
            registry=r,
        )
        self.current_replicas = Gauge(
            "euglena_operator_agentpool_current_replicas",
            "Replicas the target has.",
            pool,
            registry=r,
        )
        self.scale_operations = Counter(
            "euglena_operator_scale_operations_total",
            "Scale patches applied to AgentPool targets.",
            [*pool, "direction"],
            registry=r,
        )
        self.agenttasks = Gauge(
            "euglena_operator_agenttasks",
            "AgentTasks known to the operator by phase.",
            ["phase"],
            registry=r,
        )
        self.gateway_requests = Counter(
            "euglena_operator_gateway_requests_total",
            "Gateway requests by outcome (ok, rejected, unavailable).",
            ["outcome"],
            registry=r,
        )
        self.errors = Counter(
            "euglena_operator_errors_total", "Handler errors.", ["handler"], registry=r
        )
        self.reconcile_duration = Histogram(
            "euglena_operator_reconcile_duration_seconds",
            "Duration of one reconcile pass.",
            ["handler"],
            registry=r,
        )

    def serve(self, port: int) -> None:
        start_http_server(port, registry=self.registry)

    def forget_pool(self, namespace: str, pool: str) -> None:
        for gauge in (self.consumers, self.desired_replicas, self.current_replicas):
            try:
                gauge.remove(namespace, pool)
            except KeyError:
                pass
        for state in ("ready", "unacked"):
            try:
                self.queue_messages.remove(namespace, pool, state)
            except KeyError:
                pass
