"""What the model may do in one tick, and how its answers are parsed.

Two protocols carry an action: OpenAI tool calling (``tools`` / ``tool_calls``), and for
servers without it a strict JSON object ``{"action": "<name>", "args": {...}}`` as the whole
reply. Both end in the same :class:`Action`.
"""

from __future__ import annotations

import json
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


def tool_schemas(*, only: ActionName | None = None) -> list[dict[str, Any]]:
    """OpenAI ``tools`` for every action (or just ``only``)."""
    names = [only] if only else list(ActionName)
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
    """An action from an OpenAI ``tool_calls[0].function`` (arguments are a JSON string)."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments or "{}")
        except json.JSONDecodeError as exc:
            raise MalformedOutput(f"tool arguments are not JSON: {exc}") from None
    return build_action(name, arguments)


def parse_json_action(content: str) -> Action:
    """An action from a reply that must be exactly one JSON object (a code fence is tolerated)."""
    text = content.strip()
    if text.startswith("```"):
        text = text.strip("`")
        text = text.removeprefix("json").strip()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        raise MalformedOutput(f"reply is not a JSON action: {content[:200]!r}") from None
    if not isinstance(doc, dict) or "action" not in doc:
        raise MalformedOutput("reply JSON has no 'action'")
    return build_action(doc["action"], doc.get("args", {}))
