"""OpenAI-compatible chat completions (OpenAI, vLLM, Ollama, llama.cpp server…).

Servers differ in what they accept, so the client negotiates, per worker, from the strongest
protocol down, and remembers what a server refused:

    tools + tool_choice "required"   (a named ``exit`` on the last tick)
      └─ refused tool_choice ─▶ tools + tool_choice "auto"
           └─ refused tools ─▶ JSON mode: response_format json_object with the actions' schema
                └─ refused schema ─▶ response_format json_object
                     └─ refused response_format ─▶ JSON actions in plain content

A server that answers ``tool_choice: "auto"`` with empty replies again and again (llama-cpp-
python's function-calling format) is moved to JSON mode too.

A feature counts as refused only when an error names it (``tool_choice``, ``tools``,
``response_format``…) — or, for ``tool_choice: "required"``, when a server fails on it before
it has ever worked (llama-cpp-python answers 500). Any other 4xx is the request's own fault:
the task fails with the server's message (a context overflow is told apart so the loop can
shorten the prompt). 408/429/5xx are transient, retried by the loop after ``Retry-After``.
Sampling settings are sent only when configured (reasoning models refuse ``temperature``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import httpx

from euglena_agent.actions import ActionName, action_schema, tool_schemas
from euglena_agent.errors import MalformedOutput, ModelError, ModelRejected
from euglena_agent.metrics import AgentMetrics
from euglena_agent.model.replies import (
    Parsed,
    classify,
    decision_of,
    error_message,
    final_answer_of,
    is_context_overflow,
    parse_completion,
)
from euglena_agent.ports import ModelAnswer, ModelReply, ModelRequest

log = logging.getLogger(__name__)
_MAX_NEGOTIATION = 4
_EMPTY_REPLIES_BEFORE_JSON = 3


@dataclass(frozen=True, slots=True)
class ModelOptions:
    """What is sent with every request besides the messages; unset means the server's default."""

    tool_calling: bool = True
    tool_choice_required: bool = True
    json_mode: bool = True
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    extra_body: dict[str, Any] = field(default_factory=dict)

    def sampling(self) -> dict[str, Any]:
        values = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
        }
        return {k: v for k, v in values.items() if v is not None} | self.extra_body


class Feature(Enum):
    NAMED_CHOICE = "tool_choice naming a function"
    REQUIRED_CHOICE = 'tool_choice "required"'
    TOOLS = "tool calling"
    JSON_SCHEMA = "a JSON schema in response_format"
    JSON_MODE = "response_format json_object"


# words in an error that blame each feature
_BLAME: dict[Feature, tuple[str, ...]] = {
    Feature.NAMED_CHOICE: ("tool_choice", "tool choice", "function_call"),
    Feature.REQUIRED_CHOICE: ("tool_choice", "tool choice", "required"),
    Feature.TOOLS: ("tool", "function"),
    Feature.JSON_SCHEMA: ("schema", "response_format", "response format"),
    Feature.JSON_MODE: ("response_format", "json_object", "json mode", "response format"),
}


_DROPPABLE = (
    Feature.NAMED_CHOICE,
    Feature.REQUIRED_CHOICE,
    Feature.JSON_SCHEMA,
    Feature.JSON_MODE,
)


class OpenAIChatModel:
    offline = False

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        model: str,
        api_key: str,
        options: ModelOptions,
        metrics: AgentMetrics,
    ) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + "/chat/completions"
        self.name = model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._options = options
        self._metrics = metrics
        self._refused: set[Feature] = set()
        self._working: set[Feature] = set()
        self._empty_replies = 0
        if not options.tool_calling:
            self._refused.add(Feature.TOOLS)
        if not options.tool_choice_required:
            self._refused.add(Feature.REQUIRED_CHOICE)
        if not options.json_mode:
            self._refused |= {Feature.JSON_MODE, Feature.JSON_SCHEMA}

    @property
    def protocol(self) -> str:
        """How this worker talks to the server now (shown in logs and tests)."""
        if Feature.TOOLS not in self._refused:
            return "tools"
        if Feature.JSON_MODE in self._refused:
            return "json-text"
        return "json-mode" if Feature.JSON_SCHEMA in self._refused else "json-schema"

    async def decide(self, request: ModelRequest) -> ModelReply:
        parsed, sent = await self._negotiate(request, final_answer=False)
        self._watch_empty_tool_replies(parsed)
        decision = decision_of(parsed)
        return ModelReply(
            action=decision.action,
            usage=parsed.usage,
            said=decision.said,
            ignored=decision.ignored,
            requests=sent,
        )

    async def answer(self, request: ModelRequest) -> ModelAnswer:
        parsed, sent = await self._negotiate(request, final_answer=True)
        try:
            text = final_answer_of(parsed)
        except MalformedOutput as exc:
            raise MalformedOutput(
                str(exc),
                prompt_tokens=parsed.usage.prompt_tokens,
                completion_tokens=parsed.usage.completion_tokens,
                reply=parsed.content,
            ) from None
        return ModelAnswer(text=text, usage=parsed.usage, requests=sent)

    def _watch_empty_tool_replies(self, parsed: Parsed) -> None:
        """Under ``tool_choice: "auto"``, llama-cpp-python's function-calling format answers a
        model that chose to write a message with an empty one, every time: after a few empty
        replies in a row, JSON mode (whose schema the server enforces) serves far better."""
        if self.protocol != "tools" or Feature.REQUIRED_CHOICE not in self._refused:
            return
        if parsed.tool_calls or parsed.content.strip():
            self._empty_replies = 0
            return
        self._empty_replies += 1
        if self._empty_replies >= _EMPTY_REPLIES_BEFORE_JSON:
            log.warning(
                "model server answered %d empty replies in a row with tool_choice auto; "
                "using JSON actions from now on",
                self._empty_replies,
            )
            self._refused.add(Feature.TOOLS)

    # -- negotiation

    async def _negotiate(self, request: ModelRequest, *, final_answer: bool) -> tuple[Parsed, int]:
        for sent in range(1, _MAX_NEGOTIATION + 1):
            body, used = self._body(request, final_answer=final_answer)
            response = await self._post(body)
            if response.status_code < 400:
                self._working |= used
                return parse_completion(response), sent
            message = error_message(response)
            overflow = is_context_overflow(message)
            culprit = None if overflow else self._culprit(response.status_code, message, used)
            if culprit is None:
                raise classify(response, message)
            log.info(
                "model server refused %s (HTTP %d: %s); continuing without it",
                culprit.value,
                response.status_code,
                message,
            )
            self._refused.add(culprit)
        raise ModelRejected("model API refused every protocol this agent speaks")

    def _culprit(self, status: int, message: str, used: set[Feature]) -> Feature | None:
        """The feature an error blames, if it is one we can do without."""
        if status not in (400, 422, 500, 501):
            return None
        lowered = message.lower()
        for feature in _DROPPABLE:
            if feature in used and feature not in self._working:
                blamed = any(word in lowered for word in _BLAME[feature])
                # llama-cpp-python fails on "required" with a bare 500
                if blamed or (feature is Feature.REQUIRED_CHOICE and status >= 500):
                    return feature
        if (
            Feature.TOOLS in used
            and Feature.TOOLS not in self._working
            and status < 500
            and any(word in lowered for word in _BLAME[Feature.TOOLS])
        ):
            return Feature.TOOLS
        return None

    def _body(
        self, request: ModelRequest, *, final_answer: bool
    ) -> tuple[dict[str, Any], set[Feature]]:
        body: dict[str, Any] = {"model": self.name, "messages": request.messages}
        body.update(self._options.sampling())
        used: set[Feature] = set()
        if final_answer:
            return body, used
        if Feature.TOOLS not in self._refused:
            used.add(Feature.TOOLS)
            final = request.context.final
            body["tools"] = tool_schemas(
                only=ActionName.EXIT if final else None, search=request.context.can_search
            )
            if final and Feature.NAMED_CHOICE not in self._refused:
                used.add(Feature.NAMED_CHOICE)
                body["tool_choice"] = {"type": "function", "function": {"name": "exit"}}
            elif Feature.REQUIRED_CHOICE not in self._refused:
                used.add(Feature.REQUIRED_CHOICE)
                body["tool_choice"] = "required"
            else:
                body["tool_choice"] = "auto"
        elif Feature.JSON_MODE not in self._refused:
            used.add(Feature.JSON_MODE)
            body["response_format"] = {"type": "json_object"}
            if Feature.JSON_SCHEMA not in self._refused:
                # llama-cpp-python turns it into a grammar: every reply is a valid action
                used.add(Feature.JSON_SCHEMA)
                body["response_format"]["schema"] = action_schema(
                    only=ActionName.EXIT if request.context.final else None,
                    search=request.context.can_search,
                )
        return body, used

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        started = time.perf_counter()
        try:
            return await self._client.post(self._url, json=body, headers=self._headers)
        except httpx.HTTPError as exc:
            raise ModelError(f"model API unreachable: {exc!r}") from exc
        finally:
            self._metrics.llm_latency.observe(time.perf_counter() - started)
