"""The ticked agent loop: decide one action per tick, run it, observe, remember.

Each tick: recall memory (in process), build the prompt, ask the model for one action (a
malformed reply is retried once, then recorded as an ``invalid`` tick), run the tool, index
the observation, report the tick — one status write, whose refusal over a cancelled task
stops the loop before the next tick. At the last allowed tick the model is
told — and, with tool calling, forced — to exit with a final answer. The exit tick counts as a
tick and its action is the task's last action.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Protocol

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from euglena.task import Task
from euglena_agent.actions import Action, ActionName
from euglena_agent.errors import MalformedOutput, ModelError
from euglena_agent.memory import Memory, TaskMemory
from euglena_agent.metrics import AgentMetrics
from euglena_agent.ports import (
    ChatModel,
    ModelReply,
    ModelRequest,
    Observation,
    Recalled,
    TickContext,
)
from euglena_agent.prompt import build_messages
from euglena_agent.tools.toolbox import Toolbox

log = logging.getLogger(__name__)
_FIRST_RETRY_DELAY = 0.5

CORRECTION = (
    "Your last reply was not a valid action ({error}). Reply again with exactly one action: "
    "a tool call, or one JSON object as described."
)


class Progress(Protocol):
    async def after_tick(self, tick: int, action: str, usage: dict[str, int]) -> None:
        """Report the tick; raise TaskStopped when the task was cancelled or finished elsewhere."""
        ...


@dataclass(slots=True)
class LoopOutcome:
    result: str | None = None
    error: str | None = None
    ticks: int = 0
    last_action: str | None = None
    usage: dict[str, int] = field(
        default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0, "llm_requests": 0}
    )


@dataclass(frozen=True, slots=True)
class LoopConfig:
    max_observation_chars: int = 4000
    model_attempts: int = 3


class AgentLoop:
    def __init__(
        self,
        model: ChatModel,
        toolbox: Toolbox,
        memory: Memory,
        metrics: AgentMetrics,
        config: LoopConfig,
    ) -> None:
        self._model = model
        self._toolbox = toolbox
        self._memory = memory
        self._metrics = metrics
        self._config = config

    async def run(self, task: Task, progress: Progress) -> LoopOutcome:
        memory = self._memory.for_task(task)
        try:
            return await self._ticks(task, progress, memory)
        finally:
            await memory.close()

    async def flush_memory(self) -> None:
        """Wait until this worker's observations are in long-term memory (bounded)."""
        await self._memory.flush()

    async def _ticks(self, task: Task, progress: Progress, memory: TaskMemory) -> LoopOutcome:
        out = LoopOutcome()
        observations: list[Observation] = []
        for tick in range(1, task.max_ticks + 1):
            ctx = TickContext(
                mandate=task.mandate,
                tick=tick,
                max_ticks=task.max_ticks,
                observations=tuple(observations),
                recalled=tuple(await self._recall(task, observations, memory)),
                can_search=self._toolbox.can_search,
            )
            action, error = await self._decide(ctx, out)
            out.ticks = tick
            if action is not None and action.name is ActionName.EXIT:
                self._metrics.ticks.labels("exit").inc()
                out.result = action.argument
                out.last_action = action.describe()
                return out
            observation = await self._observe(tick, action, error)
            observations.append(observation)
            out.last_action = observation.action
            if action is not None:
                await self._remember(memory, tick, action, observation)
            await progress.after_tick(tick, observation.action, dict(out.usage))
        out.error = f"no final answer after {task.max_ticks} ticks"
        return out

    async def _observe(self, tick: int, action: Action | None, error: str | None) -> Observation:
        if action is None:
            self._metrics.ticks.labels("invalid").inc()
            return Observation(tick, "invalid", f"Invalid model output: {error}")
        self._metrics.ticks.labels(action.name.value).inc()
        text = await self._toolbox.run(action)
        return Observation(tick, action.describe(), text)

    async def _remember(
        self, memory: TaskMemory, tick: int, action: Action, observation: Observation
    ) -> None:
        try:
            await memory.add(tick=tick, action=action.name.value, text=observation.text)
        except Exception:
            log.exception("memory could not index tick %d of %s", tick, memory.task_id)

    async def _recall(
        self, task: Task, observations: list[Observation], memory: TaskMemory
    ) -> list[Recalled]:
        if not observations:
            return []
        latest = observations[-1]
        # the latest observation is quoted in full and excluded from recall: older ones only
        try:
            return await memory.recall(f"{task.mandate}\n{latest.action}", exclude_tick=latest.tick)
        except Exception:
            log.exception("memory recall failed for %s", task.correlation_id)
            return []

    async def _decide(self, ctx: TickContext, out: LoopOutcome) -> tuple[Action | None, str | None]:
        messages = build_messages(ctx, max_chars=self._config.max_observation_chars)
        error = ""
        for _ in range(2):
            try:
                reply = await self._ask(ModelRequest(messages=messages, context=ctx), out)
            except MalformedOutput as exc:
                self._count(out, exc.prompt_tokens, exc.completion_tokens)
                error = str(exc)
                log.info("malformed model output at tick %d: %s", ctx.tick, error)
                messages = [*messages, {"role": "user", "content": CORRECTION.format(error=error)}]
                continue
            self._count(out, reply.usage.prompt_tokens, reply.usage.completion_tokens)
            return reply.action, None
        return None, error

    async def _ask(self, request: ModelRequest, out: LoopOutcome) -> ModelReply:
        out.usage["llm_requests"] += 1
        try:
            return await self._model.decide(request)
        except ModelError as exc:
            if not _transient_model_error(exc) or self._config.model_attempts <= 1:
                raise
            log.info("model request failed (%s); retrying", exc)
        await asyncio.sleep(_FIRST_RETRY_DELAY)
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self._config.model_attempts - 1),
            wait=wait_exponential(multiplier=0.5, max=10),
            retry=retry_if_exception(_transient_model_error),
            reraise=True,
        ):
            with attempt:
                return await self._model.decide(request)
        raise AssertionError("unreachable")  # pragma: no cover

    def _count(self, out: LoopOutcome, prompt: int, completion: int) -> None:
        out.usage["prompt_tokens"] += prompt
        out.usage["completion_tokens"] += completion
        self._metrics.tokens.labels("prompt").inc(prompt)
        self._metrics.tokens.labels("completion").inc(completion)


def _transient_model_error(exc: BaseException) -> bool:
    return isinstance(exc, ModelError) and not isinstance(exc, MalformedOutput)
