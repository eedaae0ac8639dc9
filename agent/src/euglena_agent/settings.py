"""Agent settings: one validated object built from the shared pieces plus the agent's own."""

from __future__ import annotations

import json
import os
import socket
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from euglena.errors import ConfigurationError
from euglena.settings import BaseServiceSettings, Environment, RabbitSettings, RedisSettings


def _default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class AgentSettings(BaseServiceSettings, RedisSettings, RabbitSettings):
    """Environment variables of an agent worker (upper-case field names)."""

    model_api_url: str = Field(
        default="",
        description="Base URL of an OpenAI-compatible API (…/v1). Required outside "
        "EUGLENA_ENV=dev unless MODEL_OFFLINE=true.",
    )
    model_offline: bool = Field(
        default=False,
        description="Run the deterministic offline stand-in model on purpose (no LLM; canned "
        "answers). Without MODEL_API_URL this is the default only in EUGLENA_ENV=dev.",
    )
    model_name: str = Field(default="gpt-4o-mini", description="Model name sent to the API.")
    model_api_key: SecretStr = Field(
        default=SecretStr(""), description="Bearer key for the model API (may be empty)."
    )
    model_tool_calling: bool = Field(
        default=True,
        description="Use OpenAI tool calling; false forces the strict JSON-action protocol.",
    )
    model_tool_choice: Literal["required", "auto"] = Field(
        default="required",
        description='tool_choice on ordinary ticks: "required" (a reply must call a tool; '
        'falls back to "auto" where the server refuses it) or "auto".',
    )
    model_json_mode: bool = Field(
        default=True,
        description="In the JSON-action protocol, ask for response_format json_object (falls "
        "back to plain content where the server refuses it).",
    )
    model_temperature: float | None = Field(
        default=None, ge=0, description="Sampling temperature; unset: the server's default."
    )
    model_top_p: float | None = Field(
        default=None, gt=0, le=1, description="Nucleus sampling; unset: the server's default."
    )
    model_max_tokens: int | None = Field(
        default=None, gt=0, description="max_tokens of one reply; unset: the server's default."
    )
    model_seed: int | None = Field(
        default=None, description="Sampling seed, where the server supports one."
    )
    model_extra_body: dict[str, Any] = Field(
        default_factory=dict,
        description='JSON object merged into every chat request (e.g. {"reasoning_effort": '
        '"low"} or {"max_completion_tokens": 2000}).',
    )
    model_timeout_seconds: float = Field(
        default=120.0, gt=0, description="Timeout of one chat-completions request."
    )
    model_attempts: int = Field(
        default=6,
        ge=1,
        description=(
            "Attempts of one model request on transient errors (waits of 0.5, 1, 2, 4, 8 s "
            "between them: a model server that restarts does not fail the tasks using it)."
        ),
    )
    model_retry_after_max_seconds: float = Field(
        default=30.0,
        ge=0,
        description="Longest wait honoured from a Retry-After header (429/503) before a retry.",
    )
    conversation_turns: int = Field(
        default=6,
        ge=1,
        description="Most recent ticks the model sees as a conversation (older ones: one line).",
    )
    prompt_token_budget: int = Field(
        default=6000,
        ge=256,
        description="Estimated tokens one prompt may take; older ticks and long observations "
        "are shortened to fit.",
    )
    search_api_url: str = Field(
        default="",
        description="Web-search API endpoint (Brave Search shape: GET ?q=&count=, "
        "X-Subscription-Token header). Unset: the search tool is unavailable.",
    )
    search_api_key: SecretStr = Field(
        default=SecretStr(""), description="Key for the web-search API."
    )
    chroma_url: str = Field(
        default="", description="ChromaDB server URL. Unset: an embedded PersistentClient."
    )
    chroma_path: str = Field(
        default=".euglena/chroma", description="Directory of the embedded ChromaDB."
    )
    chroma_collection: str = Field(
        default="euglena_memory", description="ChromaDB collection that holds observations."
    )
    embedding_api_url: str = Field(
        default="",
        description="OpenAI-compatible embeddings API base URL (…/v1). Unset: the "
        "deterministic local hashing embedding (lexical similarity only).",
    )
    embedding_model: str = Field(
        default="text-embedding-3-small", description="Embedding model name."
    )
    embedding_api_key: SecretStr = Field(
        default=SecretStr(""), description="Bearer key for the embeddings API."
    )
    memory_recall_k: int = Field(
        default=3, ge=0, description="Observations recalled from memory into each prompt."
    )
    worker_concurrency: int = Field(
        default=1, ge=1, description="Tasks one worker runs at once; also the AMQP prefetch."
    )
    task_timeout_seconds: float = Field(
        default=900.0, gt=0, description="Wall-clock limit of one task; then it fails."
    )
    shutdown_grace_seconds: float = Field(
        default=30.0,
        ge=0,
        description="On SIGTERM, time to finish in-flight tasks before requeueing them.",
    )
    heartbeat_seconds: float = Field(
        default=5.0, gt=0, description="Presence heartbeat; the key lives 3 heartbeats."
    )
    visit_allow_private: bool = Field(
        default=False,
        description="Let `visit` fetch private/loopback addresses (SSRF guard off).",
    )
    visit_max_bytes: int = Field(
        default=2_000_000, gt=0, description="Largest page body `visit` reads."
    )
    visit_timeout_seconds: float = Field(
        default=15.0, gt=0, description="Time limit of one `visit`, redirects included."
    )
    observation_max_chars: int = Field(
        default=4000, gt=0, description="Longest observation text put into a prompt."
    )
    health_port: int = Field(
        default=8081, ge=0, le=65535, description="Port of /healthz and /metrics (0: any)."
    )
    health_host: str = Field(default="0.0.0.0", description="Address /healthz binds to.")
    worker_id: str = Field(
        default_factory=_default_worker_id, description="Worker id (default hostname-pid)."
    )
    pod_name: str = Field(
        default_factory=socket.gethostname, description="Pod name shown in presence."
    )
    requeue_delay_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Base delay before a failed message is requeued (doubles per delivery).",
    )
    status_retry_attempts: int = Field(
        default=5, ge=1, description="Attempts of one Redis status write before giving up."
    )
    status_buffer_size: int = Field(
        default=1000, ge=1, description="Pending status updates kept while Redis is away."
    )
    status_wait_seconds: float = Field(
        default=120.0,
        ge=0,
        description="While Redis is away, how long a claim or terminal status write waits for "
        "it (holding the message) before the message is requeued.",
    )
    status_breaker_reset_seconds: float = Field(
        default=5.0,
        gt=0,
        description="After Redis failures open the circuit, seconds before it is tried again.",
    )
    memory_flush_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="At a task's end, how long its memory writes to ChromaDB may take.",
    )

    @field_validator("model_extra_body", mode="before")
    @classmethod
    def _json_object(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                value = json.loads(value or "{}")
            except json.JSONDecodeError as exc:
                raise ValueError(f"MODEL_EXTRA_BODY is not JSON: {exc}") from None
        return value

    @model_validator(mode="after")
    def _coherent(self) -> AgentSettings:
        if self.search_api_url and not self.search_api_url.startswith(("http://", "https://")):
            raise ConfigurationError("SEARCH_API_URL must be an http(s) URL")
        if self.model_api_url and not self.model_api_url.startswith(("http://", "https://")):
            raise ConfigurationError("MODEL_API_URL must be an http(s) URL")
        if self.model_api_url and self.model_offline:
            raise ConfigurationError(
                "MODEL_OFFLINE=true and MODEL_API_URL are both set: choose the model or the "
                "offline stand-in"
            )
        if not self.model_api_url and not self.offline:
            raise ConfigurationError(
                "MODEL_API_URL is not set: agents need an OpenAI-compatible chat-completions "
                "API (e.g. https://api.openai.com/v1, or a vLLM, Ollama or llama.cpp server's "
                ".../v1). To run the offline stand-in model on purpose (canned answers, no "
                "LLM), set MODEL_OFFLINE=true."
            )
        return self

    @property
    def offline(self) -> bool:
        """Whether the agent runs the offline stand-in (explicitly, or by default in dev)."""
        return self.model_offline or (
            not self.model_api_url and self.environment is Environment.DEV
        )
