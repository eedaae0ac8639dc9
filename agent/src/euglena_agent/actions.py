"""What the model may do in one tick, and how its answers are parsed.

Two protocols carry an action: OpenAI tool calling (``tools`` / ``tool_calls``), and for
servers without it a strict JSON object ``{"action": "<name>", "args": {...}}`` as the whole
reply. Both end in the same :class:`Action`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from euglena_agent.errors import MalformedOutput


class ActionName(StrEnum):
    SEARCH = "search"
    VISIT = "visit"
    THINK = "think"
    EXIT = "exit"


_REQUIRED: dict[ActionName, str] = {
    ActionName.SEARCH: "query",
    ActionName.VISIT: "url",
    ActionName.THINK: "thought",
    ActionName.EXIT: "answer",
}

_DESCRIPTIONS: dict[ActionName, tuple[str, str]] = {
    ActionName.SEARCH: ("Search the web; returns titles, URLs and snippets.", "the search query"),
    ActionName.VISIT: ("Fetch a web page and read its main text.", "an http(s) URL"),
    ActionName.THINK: ("Write down reasoning or a plan; nothing is fetched.", "your reasoning"),
    ActionName.EXIT: ("Finish the task with the final answer for the user.", "the final answer"),
}


@dataclass(frozen=True, slots=True)
class Action:
    name: ActionName
    args: dict[str, str] = field(default_factory=dict)

    @property
    def argument(self) -> str:
        return self.args[_REQUIRED[self.name]]

    def describe(self) -> str:
        return f"{self.name.value}({_REQUIRED[self.name]}={self.argument[:200]!r})"


def tool_schemas(*, only: ActionName | None = None, search: bool = True) -> list[dict[str, Any]]:
    """OpenAI ``tools`` for every action (or just ``only``); ``search`` only where configured."""
    names = [only] if only else [n for n in ActionName if search or n is not ActionName.SEARCH]
    return [_schema(name) for name in names]


def _schema(name: ActionName) -> dict[str, Any]:
    summary, arg_help = _DESCRIPTIONS[name]
    arg = _REQUIRED[name]
    return {
        "type": "function",
        "function": {
            "name": name.value,
            "description": summary,
            "parameters": {
                "type": "object",
                "properties": {arg: {"type": "string", "description": arg_help}},
                "required": [arg],
                "additionalProperties": False,
            },
        },
    }


def action_schema(*, only: ActionName | None = None, search: bool = True) -> dict[str, Any]:
    """A JSON schema that only the JSON-action protocol's objects match (for JSON mode)."""
    names = [only] if only else [n for n in ActionName if search or n is not ActionName.SEARCH]
    variants = [
        {
            "type": "object",
            "properties": {
                "action": {"const": name.value},
                "args": {
                    "type": "object",
                    "properties": {_REQUIRED[name]: {"type": "string"}},
                    "required": [_REQUIRED[name]],
                },
            },
            "required": ["action", "args"],
        }
        for name in names
    ]
    return variants[0] if len(variants) == 1 else {"oneOf": variants}


def json_protocol() -> str:
    """The strict JSON-action instructions, for servers without tool calling."""
    lines = [
        "If you cannot call tools, reply with exactly one JSON object and nothing else: "
        '{"action": "<name>", "args": {"<argument>": "<value>"}} where <name> is one of:'
    ]
    for name in ActionName:
        lines.append(f'- "{name.value}" with "{_REQUIRED[name]}": {_DESCRIPTIONS[name][0]}')
    return "\n".join(lines)


def build_action(name: object, args: object) -> Action:
    """Validate a name and its arguments; raise MalformedOutput when they do not fit."""
    try:
        action = ActionName(str(name))
    except ValueError:
        raise MalformedOutput(f"unknown action {name!r}") from None
    if not isinstance(args, dict):
        raise MalformedOutput(f"arguments of {action.value} must be an object")
    value = args.get(_REQUIRED[action])
    if not isinstance(value, str) or not value.strip():
        raise MalformedOutput(f"{action.value} needs a non-empty string {_REQUIRED[action]!r}")
    return Action(action, {_REQUIRED[action]: value.strip()})


def parse_tool_call(name: object, arguments: object) -> Action:
    """An action from one OpenAI ``tool_calls[].function`` (arguments are a JSON string)."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments or "{}")
        except json.JSONDecodeError as exc:
            raise MalformedOutput(f"tool arguments are not JSON: {exc}") from None
    return build_action(name, arguments)


def parse_json_action(content: str) -> Action:
    """The first JSON action in a reply.

    Small and reasoning models wrap the object: a ``<think>…</think>`` block first, a code
    fence, a sentence before or after it. Those wrappers are tolerated; what counts is the
    first JSON object that names an action (``{"action": …, "args": {…}}``, or the
    ``{"name": …, "arguments": {…}}`` shape of a tool call written out as text).
    """
    text = strip_reasoning(content)
    candidates = list(_json_objects(text))
    if not candidates:
        raise MalformedOutput(f"reply is not a JSON action: {clip(content)!r}")
    problem = "reply JSON has no 'action'"
    for doc in candidates:
        name, args = _action_fields(doc)
        if name is None:
            continue
        try:
            return build_action(name, args)
        except MalformedOutput as exc:
            problem = str(exc)
    raise MalformedOutput(problem)


_REASONING = re.compile(
    r"<(think|thinking|reasoning)>(?P<inner>.*?)</\1>", flags=re.DOTALL | re.IGNORECASE
)
_CLOSING = "</think>"


def strip_reasoning(content: str) -> str:
    """The reply without its reasoning: ``<think>…</think>`` blocks, and everything before a
    lone ``</think>`` (servers that strip the opening tag)."""
    text = _REASONING.sub("", content)
    lowered = text.lower()
    if _CLOSING in lowered:
        text = text[lowered.rindex(_CLOSING) + len(_CLOSING) :]
    return text.strip()


def reasoning_of(content: str) -> str:
    """The reasoning of a reply: its ``<think>`` blocks' text, or the prose around its JSON."""
    blocks = [m.group("inner").strip() for m in _REASONING.finditer(content)]
    return "\n".join(b for b in blocks if b)


def _json_objects(text: str) -> list[Any]:
    decoder = json.JSONDecoder()
    found: list[Any] = []
    index = text.find("{")
    while index != -1 and len(found) < 8:
        try:
            doc, end = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            index = text.find("{", index + 1)
            continue
        found.append(doc)
        index = text.find("{", end)
    return found


def _action_fields(doc: object) -> tuple[object | None, object]:
    if not isinstance(doc, dict):
        return None, None
    if "action" in doc:
        args = doc.get("args", doc.get("arguments"))
        if args is None:  # {"action": "search", "query": "…"}: the arguments inline
            args = {k: v for k, v in doc.items() if k != "action"}
        return doc["action"], args
    if "name" in doc and isinstance(doc.get("arguments", doc.get("parameters")), dict | str):
        args = doc.get("arguments", doc.get("parameters"))
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except json.JSONDecodeError:
                return None, None
        return doc["name"], args
    return None, None


def clip(text: str, limit: int = 200) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "…"
