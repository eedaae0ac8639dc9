"""Settings building blocks.

Each service composes one ``pydantic-settings`` class from these pieces, so an environment
variable means the same thing everywhere. Field names map to the upper-case variables the
architecture has always used (``REDIS_URL``, ``RABBITMQ_URL``, ``SUPABASE_JWT_SECRET``…).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from euglena.errors import ConfigurationError, Severity
from euglena.keys import DEFAULT_WORKER_STATUS_SET_KEY
from euglena.messages import DEFAULT_DELIVERY_LIMIT

log = logging.getLogger(__name__)
S = TypeVar("S", bound=BaseSettings)

DEV_JWT_SECRET = "euglena-local-development-secret-not-for-production-use"
"""The secret ``make run`` and the tests sign local tokens with; refused outside dev."""


class Environment(StrEnum):
    DEV = "dev"
    PRODUCTION = "production"


class BaseServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    environment: Environment = Field(
        default=Environment.PRODUCTION,
        validation_alias="EUGLENA_ENV",
        description="`dev` allows insecure local defaults; anything else refuses them.",
    )
    log_level: str = Field(default="INFO", description="Root log level.")
    log_json: bool = Field(default=False, description="Emit one JSON object per log line.")


class RedisSettings(BaseSettings):
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", description="Redis URL.")
    redis_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Connect and reply timeout of every Redis command: a Redis that stops "
        "answering fails a call within this time, as a stopped one does at once. Agents use "
        "at most one heartbeat (HEARTBEAT_SECONDS), so a hung write never outlives their "
        "presence record.",
    )
    worker_status_set_key: str = Field(
        default=DEFAULT_WORKER_STATUS_SET_KEY,
        description="Redis set that holds the ids of live workers.",
    )


class RabbitSettings(BaseSettings):
    rabbitmq_url: SecretStr = Field(
        default=SecretStr("amqp://guest:guest@127.0.0.1:5672/"),
        description="AMQP URL of RabbitMQ.",
    )
    delivery_limit: int = Field(
        default=DEFAULT_DELIVERY_LIMIT,
        ge=1,
        description="Deliveries before a message is dead-lettered (quorum x-delivery-limit).",
    )
    rabbitmq_heartbeat_seconds: int = Field(
        default=10,
        ge=1,
        le=600,
        description="AMQP heartbeat (unless RABBITMQ_URL sets ?heartbeat=): a connection silent "
        "for about three heartbeats is dropped and made again, and the broker requeues what "
        "its consumer held; also the connect timeout.",
    )

    def amqp_url(self) -> str:
        """``RABBITMQ_URL`` with the heartbeat applied (a ``heartbeat`` the URL sets wins)."""
        url = self.rabbitmq_url.get_secret_value()
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        query.setdefault("heartbeat", str(self.rabbitmq_heartbeat_seconds))
        return urlunsplit(parts._replace(query=urlencode(query)))


class SupabaseAuthSettings(BaseSettings):
    supabase_url: str = Field(default="", description="Supabase project URL (https://…).")
    supabase_jwt_secret: SecretStr = Field(
        default=SecretStr(""), description="HS256 secret that signs Supabase JWTs."
    )
    supabase_jwks_url: str = Field(
        default="",
        description="JWKS URL for asymmetric Supabase JWTs (default: derived from SUPABASE_URL "
        "when SUPABASE_JWT_SECRET is empty).",
    )
    supabase_service_role_key: SecretStr = Field(
        default=SecretStr(""),
        description="Supabase service-role key (a JWT with role=service_role).",
    )


def refuse_insecure(
    environment: Environment, secret: SecretStr, name: str, *, may_be_empty: bool = False
) -> None:
    """Refuse the well-known development secret outside ``dev``, and no secret at all unless
    ``may_be_empty`` (something else verifies tokens)."""
    if environment is Environment.DEV:
        return
    value = secret.get_secret_value()
    if value == DEV_JWT_SECRET:
        raise ConfigurationError(
            f"{name} is the public development secret, which is refused when EUGLENA_ENV is "
            "not 'dev': set the project's own secret"
        )
    if not value and not may_be_empty:
        raise ConfigurationError(
            f"{name} must be set to a real secret when EUGLENA_ENV is not 'dev'"
        )


class InsecureDefaultsGuard(BaseServiceSettings, SupabaseAuthSettings):
    """Mixin for services that verify tokens: no development secret outside dev, whatever
    else is set. The HS256 secret may be left empty only where asymmetric tokens are verified
    against the project's JWKS (``SUPABASE_URL`` or ``SUPABASE_JWKS_URL``)."""

    @model_validator(mode="after")
    def _no_dev_secret_in_production(self) -> InsecureDefaultsGuard:
        refuse_insecure(
            self.environment,
            self.supabase_jwt_secret,
            "SUPABASE_JWT_SECRET",
            may_be_empty=bool(self.supabase_jwks_url or self.supabase_url),
        )
        return self


def load_settings(factory: Callable[[], S]) -> S:
    """Build a service's settings at start-up. A configuration the service cannot run with is
    logged once at CRITICAL, naming what is wrong, and ends the process with exit code 2."""
    try:
        return factory()
    except (ValidationError, ConfigurationError) as exc:
        if not logging.getLogger().handlers:
            logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
        Severity.CRITICAL.log(log, "configuration refused: %s", exc)
        raise SystemExit(2) from None
