"""Prompt building: a bounded conversation the model continues one tick at a time.

The model sees the mandate, then its own recent ticks as a conversation — each as an assistant
turn (its reasoning and the JSON of the action it took) followed by a user turn with what
came of it — and the ticks before those as one line each. Recalled memory and the tick
counter close the last user turn. Past actions are written as JSON content, not as
``tool_calls`` with ``tool`` results: every server and chat template accepts that (llama.cpp's
function-calling template drops the ``tool`` role; OpenAI refuses tool calls whose results
are missing), and it shows JSON-protocol models the format by example.

The whole prompt stays within ``PromptLimits.token_budget`` (estimated at four characters a
token): the conversation window shrinks first, then observations are clipped harder.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, replace
from typing import Any

from euglena_agent.actions import clip, json_protocol
from euglena_agent.ports import Observation, TickContext

SYSTEM_PROMPT = """You are Euglena, a research agent. You work in ticks: each tick you take \
exactly one action with one of the tools (search, visit, think, exit). Use search to find \
sources, visit to read a page, think to plan, and exit with a complete, self-contained final \
answer for the user as soon as you can answer the mandate. Base the answer on what you \
observed; cite URLs you used."""

MEMORY_HEADING = "## Recalled memory"
EARLIER_HEADING = "## Earlier ticks"
FINAL_INSTRUCTION = (
    "This is your last tick: call exit now with your best final answer from what you have."
)
NEXT_INSTRUCTION = "Choose the next action."
ANSWER_SYSTEM = (
    "You are Euglena, a research agent. Your research time is over: write the final answer to "
    "the user's mandate from your notes."
)
ANSWER_INSTRUCTION = (
    "Write the final answer to the mandate now, in plain sentences for the user, using only "
    "what the notes say. No JSON, no tool calls."
)
_MIN_OBSERVATION_CHARS = 300


@dataclass(frozen=True, slots=True)
class PromptLimits:
    max_observation_chars: int = 4000
    conversation_turns: int = 6
    token_budget: int = 6000


def build_messages(ctx: TickContext, limits: PromptLimits) -> list[dict[str, Any]]:
    """The prompt of one tick, within the token budget."""
    return _fit(lambda lim: _messages(ctx, lim, _closing(ctx)), limits)


def build_answer_messages(ctx: TickContext, limits: PromptLimits) -> list[dict[str, Any]]:
    """The prompt that asks for a plain final answer once the ticks are spent.

    Not the conversation: models continue a conversation of JSON actions with one more action.
    The notes are the observations, newest first, within the token budget.
    """

    def render(lim: PromptLimits) -> list[dict[str, Any]]:
        useful = [o for o in reversed(ctx.observations) if o.act is not None]
        notes = [
            f"- tick {o.tick}, {o.action}: {_clip(o.text, lim.max_observation_chars // 2)}"
            for o in useful[: max(1, lim.conversation_turns)]
        ]
        user = [f"Mandate: {ctx.mandate}", "Notes:\n" + ("\n".join(notes) or "- (none)")]
        return [
            {"role": "system", "content": ANSWER_SYSTEM},
            {"role": "user", "content": "\n\n".join([*user, ANSWER_INSTRUCTION])},
        ]

    return _fit(render, limits)


def _sentences(*texts: str) -> tuple[str, ...]:
    found: list[str] = []
    for text in texts:
        for sentence in re.split(r"(?<=[.:;!?])\s+|\n+", text):
            words = _normal(sentence)
            if len(words.split()) >= 5:
                found.append(words)
    return tuple(found)


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", html.unescape(text).lower()).split())


def echoes_instructions(text: str) -> bool:
    """Whether an "answer" parrots our own instructions (small models do) or is an action."""
    if html.unescape(text).strip().startswith("{"):
        return True
    normal = _normal(text)
    return any(sentence in normal for sentence in _OWN_SENTENCES)


def estimate_tokens(text: str) -> int:
    """A rough token count (about four characters a token) when a server reports no usage."""
    return max(1, len(text) // 4)


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(estimate_tokens(str(m.get("content") or "")) + 4 for m in messages)


def _fit(render: Any, limits: PromptLimits) -> list[dict[str, Any]]:
    current = limits
    while True:
        messages: list[dict[str, Any]] = render(current)
        if prompt_tokens(messages) <= limits.token_budget:
            return messages
        if current.conversation_turns > 1:
            current = replace(current, conversation_turns=current.conversation_turns - 1)
        elif current.max_observation_chars > _MIN_OBSERVATION_CHARS:
            chars = max(_MIN_OBSERVATION_CHARS, current.max_observation_chars // 2)
            current = replace(current, max_observation_chars=chars)
        else:
            return messages  # as small as it gets; the server says if it does not fit


def _closing(ctx: TickContext) -> str:
    return FINAL_INSTRUCTION if ctx.final else NEXT_INSTRUCTION


def _system(ctx: TickContext, *, with_actions: bool) -> str:
    system = SYSTEM_PROMPT
    if with_actions:
        system += f"\n\n{json_protocol()}"
    if not ctx.can_search:
        system += "\nThe search tool is not configured here; do not call it."
    return system


def _messages(
    ctx: TickContext, limits: PromptLimits, closing: str, *, with_actions: bool = True
) -> list[dict[str, Any]]:
    window = list(ctx.observations[-limits.conversation_turns :]) if ctx.observations else []
    older = ctx.observations[: len(ctx.observations) - len(window)]
    opening = [f"Mandate: {ctx.mandate}", f"You have {ctx.max_ticks} ticks."]
    if older:
        opening.append(EARLIER_HEADING + "\n" + "\n".join(f"{o.tick}. {o.action}" for o in older))
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": _system(ctx, with_actions=with_actions)},
        {"role": "user", "content": "\n\n".join(opening)},
    ]
    for index, observation in enumerate(window):
        latest = index == len(window) - 1
        chars = limits.max_observation_chars if latest else limits.max_observation_chars // 4
        messages.append({"role": "assistant", "content": _assistant_turn(observation)})
        messages.append({"role": "user", "content": _result_turn(observation, chars)})
    tail = [f"Tick {ctx.tick} of {ctx.max_ticks}."]
    if ctx.recalled:
        chars = limits.max_observation_chars // 4
        lines = [f"- (tick {r.tick}) {_clip(r.text, chars)}" for r in ctx.recalled]
        tail.append(MEMORY_HEADING + "\n" + "\n".join(lines))
    tail.append(closing)
    last = messages[-1]
    last["content"] = last["content"] + "\n\n" + "\n\n".join(tail)
    return messages


def _assistant_turn(observation: Observation) -> str:
    said = clip(observation.said, 600) if observation.said else ""
    if observation.act is None:
        return said or "(no valid action)"
    call = json.dumps({"action": observation.act.name.value, "args": observation.act.args})
    return f"{said}\n{call}" if said else call


def _result_turn(observation: Observation, max_chars: int) -> str:
    return f"Result of tick {observation.tick} ({observation.action}):\n" + _clip(
        observation.text, max_chars
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " […]"


_OWN_SENTENCES = _sentences(
    SYSTEM_PROMPT,
    json_protocol(),
    FINAL_INSTRUCTION,
    NEXT_INSTRUCTION,
    ANSWER_SYSTEM,
    ANSWER_INSTRUCTION,
    "Your last reply was not a valid action. Reply again with exactly one action: a tool call, "
    "or one JSON object as described.",
)
