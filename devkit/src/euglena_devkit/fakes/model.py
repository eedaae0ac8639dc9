"""An OpenAI-compatible model server (``/v1/chat/completions``, ``/v1/embeddings``), scripted.

Scripts are matched against the whole prompt text: ``llm.script("Zubrowka", [...])`` answers
the n-th chat request whose messages contain "Zubrowka" with the n-th reply (the last one
repeats). A request that matches no script gets :attr:`FakeModelServer.default`. Replies are
tool calls when the request carries ``tools`` and JSON actions as content otherwise. Every
request is recorded, so tests can assert on prompts.

It also behaves like the awkward servers real deployments meet, on demand:

- ``tool_calling=False``: ``tools`` refused with HTTP 400 (servers or models without them);
- ``required_choice=False``: ``tool_choice: "required"`` fails with a bare HTTP 500, as
  llama-cpp-python's function-calling handler does;
- ``json_mode=False``: ``response_format`` refused with HTTP 400; ``json_schema=False``: only
  a ``schema`` inside it is refused (llama-cpp-python's extension, unknown to others);
- scripted replies: several tool calls at once (``calls``), prose or ``<think>`` blocks around
  JSON (``text``), an empty reply (``text("")``), an error with the server's own body and
  headers (``refuse``, ``broken(retry_after=…)``, ``context_overflow``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from euglena_devkit.fakes.base import FakeServer, Request, Response


@dataclass(frozen=True)
class Reply:
    kind: str  # "tool" | "text" | "error"
    name: str = ""
    args: dict[str, str] = field(default_factory=dict)
    content: str = ""
    status: int = 200
    delay: float = 0.0
    more: tuple[Reply, ...] = ()  # further tool calls of the same reply
    error: dict[str, Any] | None = None  # an error's JSON body
    headers: dict[str, str] = field(default_factory=dict)


def tool(name: str, *, delay: float = 0.0, **args: str) -> Reply:
    """Call tool ``name`` with ``args`` (``tool("exit", answer="…")``)."""
    return Reply("tool", name=name, args=args, delay=delay)


def calls(first: Reply, *others: Reply) -> Reply:
    """One reply with several tool calls (``calls(tool("search", …), tool("visit", …))``)."""
    return Reply("tool", name=first.name, args=first.args, delay=first.delay, more=others)


def text(content: str, *, delay: float = 0.0) -> Reply:
    """Answer with plain content (a JSON action, or garbage to test malformed output)."""
    return Reply("text", content=content, delay=delay)


def broken(status: int = 500, *, delay: float = 0.0, retry_after: str | None = None) -> Reply:
    """Answer with an HTTP error (a ``Retry-After`` header when given)."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Reply("error", status=status, delay=delay, headers=headers)


def refuse(status: int, message: str, **fields: str) -> Reply:
    """An error in OpenAI's shape: ``{"error": {"message", …fields}}``."""
    return Reply("error", status=status, error={"error": {"message": message, **fields}})


def context_overflow(limit: int = 2048) -> Reply:
    """The 400 OpenAI, vLLM and llama-cpp-python answer to a prompt that does not fit."""
    return refuse(
        400,
        f"This model's maximum context length is {limit} tokens. However, you requested "
        f"{limit + 1000} tokens ({limit + 1000} in the messages, 0 in the completion). "
        "Please reduce the length of the messages or completion.",
        type="invalid_request_error",
        param="messages",
        code="context_length_exceeded",
    )


@dataclass
class _Script:
    match: str
    replies: list[Reply]
    served: int = 0


class FakeModelServer(FakeServer):
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tool_calling: bool = True,
        required_choice: bool = True,
        json_mode: bool = True,
        json_schema: bool = True,
        default: Reply | None = None,
    ) -> None:
        super().__init__(host, port)
        self.tool_calling = tool_calling
        self.required_choice = required_choice
        self.json_mode = json_mode
        self.json_schema = json_schema
        self.default = default or tool("exit", answer="No script matched this prompt.")
        self._scripts: list[_Script] = []
        self._ids = itertools.count(1)

    @property
    def url(self) -> str:
        """The API base URL (``MODEL_API_URL``)."""
        return self.base_url + "/v1"

    def script(self, match: str, replies: list[Reply]) -> None:
        with self._lock:
            self._scripts.append(_Script(match, list(replies)))

    def chat_requests(self, match: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            bodies = [r.json() for r in self.requests if r.path.endswith("/chat/completions")]
        return [b for b in bodies if match is None or match in _prompt_text(b)]

    def prompts(self, match: str | None = None) -> list[str]:
        """The text of every chat request (all messages), oldest first."""
        return [_prompt_text(b) for b in self.chat_requests(match)]

    def handle(self, request: Request) -> Response:
        if request.path.endswith("/chat/completions") and request.method == "POST":
            return self._chat(request.json())
        if request.path.endswith("/embeddings") and request.method == "POST":
            return _embeddings(request.json())
        if request.path.endswith("/models"):
            return Response.of_json({"object": "list", "data": [{"id": "fake", "object": "model"}]})
        return Response.of_json({"error": {"message": "not found"}}, 404)

    def _chat(self, body: dict[str, Any]) -> Response:
        refused = self._refusal(body)
        if refused is not None:
            return refused
        reply = self._next_reply(_prompt_text(body))
        if reply.kind == "error":
            doc = reply.error or {"error": {"message": "scripted failure"}}
            response = Response.of_json(doc, reply.status)
            response.headers.update(reply.headers)
            response.delay = reply.delay
            return response
        response = Response.of_json(completion(reply, body, call_id=next(self._ids)))
        response.delay = reply.delay
        return response

    def _refusal(self, body: dict[str, Any]) -> Response | None:
        if "tools" in body and not self.tool_calling:
            return Response.of_json(
                {"error": {"message": "tools are not supported by this server", "code": 400}},
                400,
            )
        if body.get("tool_choice") == "required" and not self.required_choice:
            return Response.of_json(
                {"error": {"message": "", "type": "internal_server_error"}}, 500
            )
        if "response_format" in body and not self.json_mode:
            return Response.of_json(
                {"error": {"message": "response_format is not supported", "code": 400}}, 400
            )
        if "schema" in body.get("response_format", {}) and not self.json_schema:
            message = "Unrecognized request argument supplied: response_format.schema"
            return Response.of_json({"error": {"message": message}}, 400)
        return None

    def _next_reply(self, prompt: str) -> Reply:
        with self._lock:
            for script in self._scripts:
                if script.match in prompt:
                    index = min(script.served, len(script.replies) - 1)
                    script.served += 1
                    return script.replies[index]
        return self.default


def completion(reply: Reply, body: dict[str, Any], *, call_id: int) -> dict[str, Any]:
    """A chat.completion answering ``body`` with ``reply`` (tool calls when it has ``tools``)."""
    message = _message(reply, tools="tools" in body, call_id=call_id)
    prompt_tokens = max(1, len(json.dumps(body["messages"])) // 4)
    completion_tokens = max(1, len(json.dumps(message)) // 4)
    return {
        "id": f"chatcmpl-{call_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _message(reply: Reply, *, tools: bool, call_id: int) -> dict[str, Any]:
    if reply.kind == "text":
        return {"role": "assistant", "content": reply.content}
    if not tools:
        return {
            "role": "assistant",
            "content": json.dumps({"action": reply.name, "args": reply.args}),
        }
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": f"call_{call_id}_{index}",
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.args)},
            }
            for index, call in enumerate((reply, *reply.more))
        ],
    }


def _prompt_text(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content") or "") for m in body.get("messages", []))


def _embeddings(body: dict[str, Any]) -> Response:
    inputs = body.get("input", [])
    texts = [inputs] if isinstance(inputs, str) else list(inputs)
    data = [
        {"object": "embedding", "index": i, "embedding": _vector(t)} for i, t in enumerate(texts)
    ]
    tokens = sum(max(1, len(t) // 4) for t in texts)
    return Response.of_json(
        {
            "object": "list",
            "data": data,
            "model": body.get("model", "fake"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


def _vector(text: str, dimensions: int = 64) -> list[float]:
    values = [0.0] * dimensions
    for word in text.lower().split():
        digest = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "big")
        values[digest % dimensions] += 1.0 if digest & 1 << 40 else -1.0
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]
