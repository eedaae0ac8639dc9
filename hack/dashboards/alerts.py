"""Euglena's Prometheus alerting rules (shipped in the chart's PrometheusRule).

Each alert says what a user would notice and what to look at; thresholds are deliberately
conservative and `for:` durations long enough to ride out a scale-up.
"""

from __future__ import annotations

from typing import Any

Rule = dict[str, Any]

READY = 'euglena_operator_agentpool_queue_messages{state="ready"}'


def _alert(name: str, expr: str, for_: str, severity: str, summary: str, description: str) -> Rule:
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity},
        "annotations": {"summary": summary, "description": description},
    }


def rules() -> dict[str, Any]:
    alerts = [
        _alert(
            "EuglenaQueueBacklogGrowing",
            f"sum by (namespace, pool) ({READY}) > 0\n"
            f"and sum by (namespace, pool) (deriv({READY}[10m])) > 0",
            "15m",
            "warning",
            "The queue of AgentPool {{ $labels.namespace }}/{{ $labels.pool }} keeps growing.",
            "Ready messages have grown for 15 minutes ({{ $value }} waiting now). "
            "The pool may be at maxReplicas or its workers may be failing; "
            "check `kubectl get agentpools`.",
        ),
        _alert(
            "EuglenaNoWorkersForQueuedWork",
            f"sum by (namespace, pool) ({READY}) > 0\n"
            "and sum by (namespace, pool) (euglena_operator_agentpool_consumers) == 0",
            "10m",
            "critical",
            "Work is queued for AgentPool {{ $labels.namespace }}/{{ $labels.pool }} "
            "but no worker consumes it.",
            "Messages have waited for 10 minutes with zero consumers. Check the agent "
            "Deployment's pods and the operator's scaling events.",
        ),
        _alert(
            "EuglenaTaskFailureRatioHigh",
            'sum(rate(euglena_agent_tasks_total{outcome=~"failed|dead_lettered"}[15m]))\n'
            '/ sum(rate(euglena_agent_tasks_total{outcome=~"completed|failed|dead_lettered"}[15m]))'
            "\n> 0.25",
            "15m",
            "warning",
            "More than a quarter of tasks fail.",
            "{{ $value | humanizePercentage }} of finished tasks failed or were dead-lettered "
            "over 15 minutes. Check the model endpoint and the agents' logs.",
        ),
        _alert(
            "EuglenaGatewayErrorRatioHigh",
            'sum(rate(euglena_gateway_requests_total{code=~"5.."}[5m]))\n'
            "/ sum(rate(euglena_gateway_requests_total[5m]))\n> 0.05",
            "10m",
            "critical",
            "The gateway answers more than 5% of requests with a server error.",
            "{{ $value | humanizePercentage }} of requests got a 5xx over 5 minutes. Check "
            "the gateway's /ready (Redis, RabbitMQ, Postgres) and its logs.",
        ),
        _alert(
            "EuglenaOperatorErrors",
            "sum by (handler) (increase(euglena_operator_errors_total[10m])) > 3",
            "10m",
            "warning",
            "The operator's {{ $labels.handler }} handler keeps failing.",
            "{{ $value }} errors in 10 minutes. AgentTasks may not be submitted or mirrored, "
            "or AgentPools not scaled; see the operator's logs and Events.",
        ),
    ]
    return {"groups": [{"name": "euglena", "rules": alerts}]}
