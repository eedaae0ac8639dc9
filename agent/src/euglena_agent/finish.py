"""The end of a task whose model never exited: a best-effort answer instead of nothing.

When the last tick passes without ``exit`` (servers that ignore a forced ``tool_choice``,
models that keep thinking), the work of the ticks is still worth something to the user:

1. the model is asked once more, with no tools, for a plain final answer from the
   conversation so far (node-DeepResearch's "beast mode");
2. if that fails too, the task ends with a clearly labelled summary of what was observed;
3. only a task that observed nothing useful fails, with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from euglena_agent.errors import ModelError
from euglena_agent.ports import ChatModel, ModelRequest, TickContext
from euglena_agent.prompt import PromptLimits, build_answer_messages, echoes_instructions

log = logging.getLogger(__name__)

BEST_EFFORT_ACTION = "final answer (the tick budget ran out before exit)"
SUMMARY_ACTION = "summary of observations (no final answer from the model)"
SUMMARY_HEADING = (
    "[best-effort summary: the agent ran out of ticks before it answered; "
    "these are its observations, not a final answer]"
)
_SUMMARY_CHARS = 400

Count = Callable[[int, int, int], None]


@dataclass(frozen=True, slots=True)
class Ending:
    result: str | None
    error: str | None
    last_action: str


class Finisher:
    def __init__(self, model: ChatModel) -> None:
        self._model = model

    async def finish(self, ctx: TickContext, limits: PromptLimits, count: Count) -> Ending:
        problem = await self._ask(ctx, limits, count)
        if isinstance(problem, Ending):
            return problem
        useful = [o for o in ctx.observations if o.act is not None]
        if useful:
            return Ending(summary(ctx), None, SUMMARY_ACTION)
        return Ending(
            None,
            f"no final answer after {ctx.max_ticks} ticks: the model gave no usable action "
            f"({problem})",
            "invalid",
        )

    async def _ask(self, ctx: TickContext, limits: PromptLimits, count: Count) -> Ending | str:
        request = ModelRequest(messages=build_answer_messages(ctx, limits), context=ctx)
        try:
            answer = await self._model.answer(request)
        except ModelError as exc:
            log.info("no best-effort answer from the model: %s", exc)
            count(getattr(exc, "prompt_tokens", 0), getattr(exc, "completion_tokens", 0), 1)
            return str(exc)
        count(answer.usage.prompt_tokens, answer.usage.completion_tokens, answer.requests)
        if echoes_instructions(answer.text):
            return "the answer repeated the instructions"
        return Ending(answer.text, None, BEST_EFFORT_ACTION)


def summary(ctx: TickContext) -> str:
    """A labelled digest of a task's observations (the offline answer's shape)."""
    lines = [SUMMARY_HEADING, f"Mandate: {ctx.mandate}", "Observations:"]
    for o in ctx.observations:
        if o.act is None:
            continue
        text = " ".join(o.text.split())
        if len(text) > _SUMMARY_CHARS:
            text = text[:_SUMMARY_CHARS] + " […]"
        lines.append(f"- tick {o.tick} {o.action}: {text}")
    return "\n".join(lines)
