"""OpenAI-compatible chat completions (OpenAI, vLLM, Ollama, llama.cpp server…).

Tool calling first; a server that refuses ``tools`` (HTTP 400/422) is switched to the strict
JSON-action protocol for the rest of the worker's life, and a reply without ``tool_calls`` is
parsed as a JSON action.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from euglena_agent.actions import (
    Action,
    ActionName,
    parse_json_action,
    parse_tool_call,
    tool_schemas,
)
from euglena_agent.errors import MalformedOutput, ModelError
from euglena_agent.metrics import AgentMetrics
from euglena_agent.ports import ModelReply, ModelRequest, Usage

log = logging.getLogger(__name__)


class OpenAIChatModel:
    offline = False

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        model: str,
        api_key: str,
        tool_calling: bool,
        metrics: AgentMetrics,
    ) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + "/chat/completions"
        self.name = model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._tool_calling = tool_calling
        self._metrics = metrics

    async def decide(self, request: ModelRequest) -> ModelReply:
        body: dict[str, Any] = {"model": self.name, "messages": request.messages, "temperature": 0}
        if self._tool_calling:
            final = request.context.final
            body["tools"] = tool_schemas(only=ActionName.EXIT if final else None)
            body["tool_choice"] = (
                {"type": "function", "function": {"name": "exit"}} if final else "auto"
            )
        response = await self._post(body)
        if response.status_code in (400, 422) and self._tool_calling:
            log.info(
                "model server refused tool calling (%s); using JSON actions", response.status_code
            )
            self._tool_calling = False
            return await self.decide(request)
        if response.status_code >= 400:
            raise ModelError(f"model API answered HTTP {response.status_code}")
        return self._reply(response)

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        started = time.perf_counter()
        try:
            return await self._client.post(self._url, json=body, headers=self._headers)
        except httpx.HTTPError as exc:
            raise ModelError(f"model API unreachable: {exc!r}") from exc
        finally:
            self._metrics.llm_latency.observe(time.perf_counter() - started)

    def _reply(self, response: httpx.Response) -> ModelReply:
        try:
            doc = response.json()
            message = doc["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise MalformedOutput("model API answered an unexpected body") from None
        raw_usage = doc.get("usage") or {}
        usage = Usage(
            prompt_tokens=int(raw_usage.get("prompt_tokens") or 0),
            completion_tokens=int(raw_usage.get("completion_tokens") or 0),
        )
        try:
            return ModelReply(action=_action(message), usage=usage)
        except MalformedOutput as exc:
            raise MalformedOutput(
                str(exc),
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
            ) from None


def _action(message: dict[str, Any]) -> Action:
    calls = message.get("tool_calls") or []
    if calls:
        function = calls[0].get("function") or {}
        return parse_tool_call(function.get("name"), function.get("arguments"))
    content = message.get("content")
    if not isinstance(content, str) or not content.strip():
        raise MalformedOutput("model reply has neither a tool call nor content")
    return parse_json_action(content)
