"""The operator's settings: one validated object built from environment variables."""

from __future__ import annotations

import uuid

from pydantic import Field, SecretStr, model_validator

from euglena.settings import BaseServiceSettings, RabbitSettings, RedisSettings, refuse_insecure


class OperatorSettings(BaseServiceSettings, RedisSettings, RabbitSettings):
    gateway_url: str = Field(
        default="http://127.0.0.1:8000", description="Base URL of the Euglena gateway."
    )
    supabase_service_role_key: SecretStr = Field(
        default=SecretStr(""),
        description="Service-role JWT the operator submits AgentTasks with (Bearer token).",
    )
    default_user_id: uuid.UUID | None = Field(
        default=None, description="Owner of AgentTasks that set no spec.userId."
    )
    rabbitmq_management_url: str = Field(
        default="",
        description="RabbitMQ management API base URL (http://user:pass@host:15672). Empty: "
        "fall back to an AMQP passive declare, which sees only ready messages.",
    )
    watch_namespaces: str = Field(
        default="",
        description="Comma-separated namespaces to watch; empty watches the whole cluster.",
    )
    status_sync_interval_seconds: float = Field(
        default=2.0, gt=0, description="How often one batched gateway read mirrors all tasks."
    )
    status_sync_max_interval_seconds: float = Field(
        default=16.0,
        gt=0,
        description="Longest pause before re-reading a task that has not changed (doubling).",
    )
    status_sync_max_backoff_seconds: float = Field(
        default=60.0, gt=0, description="Longest pause between reads while the gateway is down."
    )
    gateway_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Timeout of one gateway request."
    )
    queue_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Timeout of one queue-depth read (management API request or AMQP declare).",
    )
    kubernetes_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Read timeout of one Kubernetes API call the operator makes itself (scale, "
        "pods, status); connecting is bounded by 10 s.",
    )
    cancel_timeout_seconds: float = Field(
        default=20.0,
        gt=0,
        description="How long deleting a running AgentTask tries to cancel its task before "
        "giving up (the deletion then proceeds with a Warning Event).",
    )
    liveness_port: int = Field(default=8080, description="Port of kopf's /healthz endpoint.")
    metrics_port: int = Field(default=8081, description="Port of the Prometheus /metrics.")
    watch_server_timeout_seconds: int = Field(
        default=300, description="Server-side timeout of each watch request (kopf reconnects)."
    )
    watch_client_timeout_seconds: int = Field(
        default=330, description="Client-side timeout of each watch request."
    )

    @model_validator(mode="after")
    def _service_key_outside_dev(self) -> OperatorSettings:
        refuse_insecure(
            self.environment, self.supabase_service_role_key, "SUPABASE_SERVICE_ROLE_KEY"
        )
        return self

    @property
    def namespaces(self) -> list[str]:
        return [ns.strip() for ns in self.watch_namespaces.split(",") if ns.strip()]
