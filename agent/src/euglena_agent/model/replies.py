"""Reading an OpenAI-compatible chat-completions answer: actions, final answers, errors.

What real servers send back varies more than the protocol suggests, so this module is lenient
where a reply still carries a clear action, and precise where it does not:

- every tool call of a reply is read; the first valid one is the tick's action and the others
  are reported back to the model as ignored (one action per tick);
- a reply with no tool call is searched for a JSON action (after ``<think>`` blocks, inside
  code fences, amid prose);
- an error body's own message is kept (``{"error": {"message"}}``, ``{"error": "…"}``,
  ``{"detail"}``, ``{"message"}`` or plain text), and classified: a context overflow, a refused
  request, or a transient failure with its ``Retry-After``.
"""

from __future__ import annotations

import email.utils
import re
import time
from dataclasses import dataclass
from typing import Any

import httpx

from euglena_agent.actions import (
    Action,
    ActionName,
    clip,
    parse_json_action,
    parse_tool_call,
    reasoning_of,
    strip_reasoning,
)
from euglena_agent.errors import ContextOverflow, MalformedOutput, ModelError, ModelRejected
from euglena_agent.ports import Usage

_TRANSIENT = {408, 409, 425, 429}
_OVERFLOW = re.compile(
    r"context.length|context.window|maximum context|too many tokens|prompt is too long|"
    r"exceeds? the (?:model'?s? )?(?:maximum )?context|n_ctx|input is too long|"
    r"reduce the length of the messages",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Parsed:
    """What one successful chat completion said."""

    content: str
    tool_calls: list[dict[str, Any]]
    usage: Usage
    finish_reason: str


def parse_completion(response: httpx.Response) -> Parsed:
    try:
        doc = response.json()
        choice = doc["choices"][0]
        message = choice["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise MalformedOutput(
            f"model API answered an unexpected body: {clip(response.text)!r}"
        ) from None
    raw_usage = doc.get("usage") or {}
    usage = Usage(
        prompt_tokens=_int(raw_usage.get("prompt_tokens")),
        completion_tokens=_int(raw_usage.get("completion_tokens")),
    )
    content = message.get("content")
    # vLLM and DeepSeek put a reasoning model's thoughts beside the content
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    text = content if isinstance(content, str) else ""
    if isinstance(reasoning, str) and reasoning.strip():
        text = f"<think>{reasoning.strip()}</think>\n{text}"
    calls = message.get("tool_calls")
    return Parsed(
        content=text,
        tool_calls=[c for c in calls if isinstance(c, dict)] if isinstance(calls, list) else [],
        usage=usage,
        finish_reason=str(choice.get("finish_reason") or ""),
    )


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    said: str  # the model's own words beside the action (reasoning, prose)
    ignored: tuple[str, ...]  # further tool calls of the same reply, not run


def decision_of(parsed: Parsed) -> Decision:
    """The tick's action from a reply; MalformedOutput (with the reply) when there is none."""
    try:
        if parsed.tool_calls:
            return _from_tool_calls(parsed)
        text = parsed.content
        if not text.strip():
            cut = " (cut off at max_tokens)" if parsed.finish_reason == "length" else ""
            raise MalformedOutput(f"the reply was empty{cut}")
        action = parse_json_action(text)
        return Decision(action, said=_said(text), ignored=())
    except MalformedOutput as exc:
        raise MalformedOutput(
            str(exc),
            prompt_tokens=parsed.usage.prompt_tokens,
            completion_tokens=parsed.usage.completion_tokens,
            reply=_reply_text(parsed),
        ) from None


def _from_tool_calls(parsed: Parsed) -> Decision:
    actions: list[Action] = []
    problems: list[str] = []
    for call in parsed.tool_calls:
        function = call.get("function") or {}
        try:
            action = parse_tool_call(function.get("name"), function.get("arguments"))
        except MalformedOutput as exc:
            problems.append(str(exc))
            continue
        if action not in actions:  # small models repeat the same call
            actions.append(action)
    if not actions:
        raise MalformedOutput("; ".join(problems) or "the tool call is empty")
    # an exit among other calls is a guess made before seeing their results: run the others
    first = next((a for a in actions if a.name is not ActionName.EXIT), actions[0])
    ignored = tuple(a.describe() for a in actions if a is not first)
    said = reasoning_of(parsed.content) or parsed.content.strip()
    return Decision(first, said=said, ignored=ignored)


def final_answer_of(parsed: Parsed) -> str:
    """A plain-text final answer; an ``exit`` action's answer is accepted too."""
    if parsed.tool_calls:
        decision = _from_tool_calls(parsed)
        if decision.action.name is ActionName.EXIT:
            return decision.action.argument
        raise MalformedOutput("asked for a final answer, the model called a tool instead")
    text = strip_reasoning(parsed.content)
    if "{" in text:
        try:
            action = parse_json_action(text)
        except MalformedOutput:
            pass
        else:
            if action.name is ActionName.EXIT:
                return action.argument
            raise MalformedOutput("asked for a final answer, the model chose another action")
    if not text:
        raise MalformedOutput("the final answer was empty")
    return text


def _said(text: str) -> str:
    thoughts = reasoning_of(text)
    if thoughts:
        return thoughts
    prose = strip_reasoning(text)
    start = prose.find("{")
    return prose[:start].strip() if start > 0 else ""


def _reply_text(parsed: Parsed) -> str:
    if parsed.tool_calls:
        names = [
            f"{(c.get('function') or {}).get('name')}({(c.get('function') or {}).get('arguments')})"
            for c in parsed.tool_calls
        ]
        return "tool calls: " + "; ".join(names)
    return parsed.content


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return 0
    try:
        return max(0, int(value))
    except ValueError:
        return 0


# -- errors


def error_message(response: httpx.Response) -> str:
    """The server's own words about an error, whatever shape its body has."""
    try:
        doc = response.json()
    except ValueError:
        return clip(response.text, 300) or response.reason_phrase
    found = _message_in(doc)
    return clip(found, 300) if found else clip(response.text, 300)


def _message_in(doc: object) -> str:
    if isinstance(doc, str):
        return doc
    if isinstance(doc, list) and doc:
        return _message_in(doc[0])
    if not isinstance(doc, dict):
        return ""
    for key in ("error", "detail", "message", "msg"):
        if key in doc:
            inner = _message_in(doc[key])
            if inner:
                return inner
    return ""


def is_context_overflow(message: str) -> bool:
    return _OVERFLOW.search(message) is not None


def classify(response: httpx.Response, message: str) -> ModelError:
    """The error a failed response stands for (its message is the server's)."""
    status = response.status_code
    where = f"model API answered HTTP {status}: {message}"
    if is_context_overflow(message):
        return ContextOverflow(f"the prompt does not fit the model's context ({where})")
    if status in _TRANSIENT or status >= 500:
        return ModelError(where, retry_after=retry_after(response))
    if status in (401, 403):
        return ModelRejected(f"{where} (check MODEL_API_KEY and MODEL_NAME)")
    return ModelRejected(f"model API refused the request (HTTP {status}): {message}")


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asked us to wait (``Retry-After`` seconds or date, ``retry-after-ms``)."""
    millis = response.headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
