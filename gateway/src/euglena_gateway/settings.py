"""Gateway settings: one validated object built from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from euglena.errors import ConfigurationError
from euglena.settings import InsecureDefaultsGuard, RabbitSettings, RedisSettings


class GatewaySettings(InsecureDefaultsGuard, RedisSettings, RabbitSettings):
    database_url: SecretStr = Field(
        default=SecretStr(""),
        description="Postgres URL of Supabase's database (direct or pooler). When empty and "
        "SUPABASE_URL + SUPABASE_SERVICE_ROLE_KEY are set, the gateway uses Supabase's REST API.",
    )
    database_pool_size: int = Field(default=16, ge=1, description="Postgres connections.")
    gateway_host: str = Field(default="127.0.0.1", description="Address to listen on.")
    gateway_port: int = Field(default=8000, ge=1, le=65535, description="Port to listen on.")
    gateway_workers: int = Field(
        default=1, ge=1, le=32, description="Server processes (each with its own pools)."
    )
    max_mandate_length: int = Field(default=4000, ge=1, description="Longest mandate accepted.")
    max_ticks: int = Field(default=50, ge=1, description="Largest max_ticks a task may ask for.")
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, description="Largest request body.")
    request_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Requests taking longer are answered 504."
    )
    dependency_timeout_seconds: float = Field(
        default=3.0,
        gt=0,
        description="Budget for one call to Postgres or RabbitMQ (connect, query, publisher "
        "confirm; REDIS_TIMEOUT_SECONDS bounds Redis calls).",
    )
    ready_timeout_seconds: float = Field(
        default=2.0, gt=0, description="Budget for each dependency check of /ready."
    )
    events_keepalive_seconds: float = Field(
        default=15.0, gt=0, description="Comment line sent on idle event streams."
    )
    settle_interval_seconds: float = Field(
        default=15.0,
        ge=0,
        description="How often the gateway persists finished tasks nobody has read yet, before "
        "their Redis copy expires (0 turns this off).",
    )
    settle_after_seconds: float = Field(
        default=30.0,
        ge=0,
        le=300,
        description="How long a finished task may wait for a reader before the settler "
        "persists it.",
    )
    reconcile_interval_seconds: float = Field(
        default=10.0,
        ge=0,
        description="How often the gateway looks for recorded tasks whose message the broker "
        "never confirmed, to queue them again or fail them (0 turns this off).",
    )
    requeue_after_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How long after its submission a pending task whose message was never "
        "confirmed is queued again (longer than DEPENDENCY_TIMEOUT_SECONDS).",
    )
    queue_give_up_seconds: float = Field(
        default=600.0,
        gt=0,
        description="A task that could not be queued this long after its submission fails "
        "(its ticks come back) instead of being queued again.",
    )
    finished_task_cache_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How long a finished task read from Postgres is served again from memory "
        "to the same reader (finished tasks never change; 0 turns this off).",
    )
    finished_task_cache_size: int = Field(
        default=10_000, ge=0, description="Finished tasks kept in memory per gateway process."
    )
    frontend_dir: Path | None = Field(
        default=None,
        description="Built web UI to serve at / (default: frontend/dist beside the source tree "
        "or /app/frontend when present).",
    )
    supabase_anon_key: SecretStr = Field(
        default=SecretStr(""), description="Public anon key handed to the web UI for sign-in."
    )

    @model_validator(mode="after")
    def _requeue_after_a_publish_could_have_been_confirmed(self) -> GatewaySettings:
        if self.requeue_after_seconds <= self.dependency_timeout_seconds:
            raise ConfigurationError(
                "REQUEUE_AFTER_SECONDS must be longer than DEPENDENCY_TIMEOUT_SECONDS, or tasks "
                "still waiting for their confirm would be queued twice"
            )
        return self
