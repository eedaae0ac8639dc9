"""Prometheus metrics of a worker (names are a contract: see docs/contracts.md)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_DURATION_BUCKETS = (1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900, 1800)
_LLM_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


@dataclass(frozen=True, slots=True)
class AgentMetrics:
    registry: CollectorRegistry
    tasks: Counter
    task_duration: Histogram
    ticks: Counter
    llm_latency: Histogram
    tokens: Counter
    busy: Gauge
    in_flight: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> AgentMetrics:
        reg = registry or CollectorRegistry()
        return cls(
            registry=reg,
            tasks=Counter(
                "euglena_agent_tasks",
                "Tasks finished by this worker, by outcome.",
                ["outcome"],
                registry=reg,
            ),
            task_duration=Histogram(
                "euglena_agent_task_duration_seconds",
                "Wall time of one task on this worker.",
                buckets=_DURATION_BUCKETS,
                registry=reg,
            ),
            ticks=Counter("euglena_agent_ticks", "Ticks run, by action.", ["action"], registry=reg),
            llm_latency=Histogram(
                "euglena_agent_llm_request_duration_seconds",
                "Latency of one chat-completions request.",
                buckets=_LLM_BUCKETS,
                registry=reg,
            ),
            tokens=Counter(
                "euglena_agent_llm_tokens", "LLM tokens used, by kind.", ["kind"], registry=reg
            ),
            busy=Gauge("euglena_agent_busy", "1 while this worker holds a task.", registry=reg),
            in_flight=Gauge(
                "euglena_agent_in_flight_tasks", "Tasks this worker is running.", registry=reg
            ),
        )
