"""Euglena's Grafana dashboards: an overview and one per service.

Metric names come from docs/contracts.md; the observability test runs every query below
against a Prometheus that scraped the real services.
"""

from __future__ import annotations

from grafana import RATE, Dashboard, Panel, Query, quantiles

TAGS = ("euglena",)


def _submissions() -> Panel:
    return Panel(
        "Submissions",
        (
            Query(
                f"sum by (source) (rate(euglena_gateway_submissions_total[{RATE}]))", "{{source}}"
            ),
        ),
        "Tasks accepted by the gateway per second, by source (api or kubernetes).",
        unit="reqps",
        stack=True,
    )


def _outcomes() -> Panel:
    return Panel(
        "Task outcomes",
        (Query(f"sum by (outcome) (rate(euglena_agent_tasks_total[{RATE}]))", "{{outcome}}"),),
        "Tasks finished by the agents per second, by outcome.",
        unit="ops",
        stack=True,
    )


def _task_duration() -> Panel:
    return Panel(
        "Task duration",
        quantiles("euglena_agent_task_duration_seconds"),
        "Time from a worker taking a task to its terminal status (p50, p95, p99).",
        unit="s",
    )


def _queue_depth() -> Panel:
    return Panel(
        "Queue depth",
        (
            Query(
                "sum by (pool, state) (euglena_operator_agentpool_queue_messages)",
                "{{pool}} {{state}}",
            ),
        ),
        "Messages in each AgentPool's queue: ready (waiting) and unacked (held by workers).",
        stack=True,
    )


def _replicas() -> Panel:
    return Panel(
        "Desired vs current replicas",
        (
            Query(
                "sum by (pool) (euglena_operator_agentpool_desired_replicas)", "{{pool}} desired"
            ),
            Query(
                "sum by (pool) (euglena_operator_agentpool_current_replicas)", "{{pool}} current"
            ),
        ),
        "Agent replicas the autoscaler wants and has, per AgentPool.",
    )


def _busy() -> Panel:
    return Panel(
        "Busy workers",
        (
            Query("sum(euglena_agent_busy)", "busy"),
            Query("count(euglena_agent_busy)", "workers"),
        ),
        "Workers holding a task, out of all workers that report metrics.",
    )


def _llm_latency() -> Panel:
    return Panel(
        "LLM latency",
        quantiles("euglena_agent_llm_request_duration_seconds", qs=(0.5, 0.95)),
        "Duration of chat-completion calls to the model endpoint (p50, p95).",
        unit="s",
    )


def _tokens() -> Panel:
    return Panel(
        "LLM tokens",
        (Query(f"sum by (kind) (rate(euglena_agent_llm_tokens_total[{RATE}]))", "{{kind}}"),),
        "Tokens per second sent (prompt) and received (completion).",
        stack=True,
    )


def _request_latency() -> Panel:
    return Panel(
        "API latency",
        quantiles("euglena_gateway_request_duration_seconds"),
        "Gateway request duration over all routes (p50, p95, p99).",
        unit="s",
    )


def overview() -> Dashboard:
    return (
        Dashboard(
            "euglena-overview",
            "Euglena / Overview",
            "Tasks in, tasks out, the queue between them and the workers that drain it.",
            TAGS,
        )
        .row("Tasks", _submissions(), _outcomes(), _task_duration(), _request_latency())
        .row("Queue and scaling", _queue_depth(), _replicas(), _busy())
        .row("Model", _llm_latency(), _tokens())
    )


def gateway() -> Dashboard:
    requests = Panel(
        "Requests by status",
        (Query(f"sum by (code) (rate(euglena_gateway_requests_total[{RATE}]))", "{{code}}"),),
        "HTTP requests per second, by response status.",
        unit="reqps",
        stack=True,
    )
    errors = Panel(
        "5xx ratio",
        (
            Query(
                f'(sum(rate(euglena_gateway_requests_total{{code=~"5.."}}[{RATE}])) or vector(0))'
                f" / sum(rate(euglena_gateway_requests_total[{RATE}]))",
                "5xx",
            ),
        ),
        "Share of requests answered with a server error.",
        unit="percentunit",
    )
    by_route = Panel(
        "p95 latency by route",
        quantiles("euglena_gateway_request_duration_seconds", by="route", qs=(0.95,)),
        "95th percentile request duration per route template.",
        unit="s",
        width=24,
    )
    quota = Panel(
        "Quota rejections",
        (Query(f"sum(rate(euglena_gateway_quota_rejections_total[{RATE}]))", "rejected"),),
        "Submissions refused (429) because they would exceed the user's daily tick limit.",
        unit="reqps",
        width=8,
    )
    syncs = Panel(
        "Redis → Postgres syncs",
        (Query(f"sum by (outcome) (rate(euglena_gateway_syncs_total[{RATE}]))", "{{outcome}}"),),
        "Status syncs from Redis into Postgres on reads and by the settler, by outcome.",
        unit="ops",
        stack=True,
        width=8,
    )
    finished_reads = Panel(
        "Finished-task reads from memory",
        (
            Query(
                f"sum(rate(euglena_gateway_finished_task_cache_hits_total[{RATE}]))",
                "from memory",
            ),
        ),
        "Reads of a finished task answered from the gateway's memory instead of Postgres.",
        unit="reqps",
        width=8,
    )
    return (
        Dashboard("euglena-gateway", "Euglena / Gateway", "The HTTP API.", TAGS)
        .row("Traffic", requests, errors, _request_latency(), _submissions())
        .row("Routes", by_route)
        .row("Storage and limits", syncs, finished_reads, quota)
    )


def agent() -> Dashboard:
    ticks = Panel(
        "Ticks by action",
        (Query(f"sum by (action) (rate(euglena_agent_ticks_total[{RATE}]))", "{{action}}"),),
        "Agent loop ticks per second, by the action the model chose.",
        unit="ops",
        stack=True,
    )
    in_flight = Panel(
        "Tasks in flight",
        (Query("sum(euglena_agent_in_flight_tasks)", "in flight"),),
        "Tasks held by all workers right now.",
    )
    return (
        Dashboard("euglena-agent", "Euglena / Agents", "The workers that run the agent loop.", TAGS)
        .row("Tasks", _outcomes(), _task_duration(), _busy(), in_flight)
        .row("Agent loop", ticks, _llm_latency(), _tokens())
    )


def operator() -> Dashboard:
    consumers = Panel(
        "Queue consumers",
        (Query("sum by (pool) (euglena_operator_agentpool_consumers)", "{{pool}}"),),
        "Consumers attached to each AgentPool's queue.",
    )
    scale_ops = Panel(
        "Scale operations",
        (
            Query(
                "sum by (pool, direction) "
                f"(increase(euglena_operator_scale_operations_total[{RATE}]))",
                "{{pool}} {{direction}}",
            ),
        ),
        "Replica changes made by the autoscaler, by direction.",
    )
    tasks = Panel(
        "AgentTasks by phase",
        (Query("sum by (phase) (euglena_operator_agenttasks)", "{{phase}}"),),
        "AgentTask objects the operator sees, by phase.",
        stack=True,
    )
    gateway_calls = Panel(
        "Gateway calls",
        (
            Query(
                f"sum by (outcome) (rate(euglena_operator_gateway_requests_total[{RATE}]))",
                "{{outcome}}",
            ),
        ),
        "Requests the operator made to the gateway, by outcome.",
        unit="reqps",
    )
    errors = Panel(
        "Handler runs and errors",
        (
            Query(
                f"sum by (handler) (rate(euglena_operator_errors_total[{RATE}]))",
                "{{handler}} errors",
            ),
            Query(
                "sum by (handler) "
                f"(rate(euglena_operator_reconcile_duration_seconds_count[{RATE}]))",
                "{{handler}} runs",
            ),
        ),
        "Handler passes per second, and the errors among them (none in a healthy operator).",
        unit="ops",
    )
    reconcile = Panel(
        "Reconcile duration",
        quantiles("euglena_operator_reconcile_duration_seconds", by="handler", qs=(0.95,)),
        "95th percentile duration of each handler.",
        unit="s",
    )
    return (
        Dashboard(
            "euglena-operator", "Euglena / Operator", "AgentTasks and AgentPool autoscaling.", TAGS
        )
        .row("Autoscaling", _queue_depth(), _replicas(), consumers, scale_ops)
        .row("AgentTasks", tasks, gateway_calls, errors, reconcile)
    )


ALL = {"overview": overview, "gateway": gateway, "agent": agent, "operator": operator}
