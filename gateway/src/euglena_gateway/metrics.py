"""Gateway metrics (``euglena_gateway_*``), on a registry owned by each app instance."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "euglena_gateway_requests",
            "HTTP requests by route template, method and status code.",
            ["route", "method", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "euglena_gateway_request_duration_seconds",
            "HTTP request latency by route template and method.",
            ["route", "method"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.submissions = Counter(
            "euglena_gateway_submissions",
            "Tasks accepted, by source.",
            ["source"],
            registry=self.registry,
        )
        self.quota_rejections = Counter(
            "euglena_gateway_quota_rejections",
            "Submissions refused because of the daily tick quota.",
            registry=self.registry,
        )
        self.syncs = Counter(
            "euglena_gateway_syncs",
            "Redis to Postgres syncs by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.finished_task_cache_hits = Counter(
            "euglena_gateway_finished_task_cache_hits",
            "Reads of a finished task answered from the gateway's memory instead of Postgres.",
            registry=self.registry,
        )

    def observe_sync(self, outcome: str) -> None:
        self.syncs.labels(outcome).inc()
