"""Prompt building: mandate, the actions so far, the latest observation and recalled memory.

Only the latest observation is quoted in full; older ones reach the prompt through memory
recall (the most relevant few), which keeps prompts bounded however many ticks a task runs.
"""

from __future__ import annotations

from typing import Any

from euglena_agent.actions import json_protocol
from euglena_agent.ports import TickContext

SYSTEM_PROMPT = """You are Euglena, a research agent. You work in ticks: each tick you take \
exactly one action with one of the tools (search, visit, think, exit). Use search to find \
sources, visit to read a page, think to plan, and exit with a complete, self-contained final \
answer for the user as soon as you can answer the mandate. Base the answer on what you \
observed; cite URLs you used."""

MEMORY_HEADING = "## Recalled memory"
FINAL_INSTRUCTION = (
    "This is your last tick: call exit now with your best final answer from what you have."
)


def build_messages(ctx: TickContext, *, max_chars: int) -> list[dict[str, Any]]:
    system = f"{SYSTEM_PROMPT}\n\n{json_protocol()}"
    if not ctx.can_search:
        system += "\nThe search tool is not configured here; do not call it."
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": _user_message(ctx, max_chars=max_chars)},
    ]


def _user_message(ctx: TickContext, *, max_chars: int) -> str:
    parts = [f"Mandate: {ctx.mandate}", f"Tick {ctx.tick} of {ctx.max_ticks}."]
    if ctx.observations:
        history = "\n".join(f"{o.tick}. {o.action}" for o in ctx.observations)
        parts.append(f"## Actions so far\n{history}")
        latest = ctx.observations[-1]
        parts.append(f"## Latest observation (tick {latest.tick})\n{_clip(latest.text, max_chars)}")
    if ctx.recalled:
        lines = [f"- (tick {r.tick}) {_clip(r.text, max_chars // 4)}" for r in ctx.recalled]
        parts.append(MEMORY_HEADING + "\n" + "\n".join(lines))
    parts.append(FINAL_INSTRUCTION if ctx.final else "Choose the next action.")
    return "\n\n".join(parts)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " […]"


def estimate_tokens(text: str) -> int:
    """A rough token count (about four characters a token) when a server reports no usage."""
    return max(1, len(text) // 4)
