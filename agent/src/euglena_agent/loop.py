"""The ticked agent loop: decide one action per tick, run it, observe, remember.

Each tick: recall memory (in process), build the prompt (a bounded conversation of the ticks
so far, see ``prompt.py``), ask the model for one action (a malformed reply is retried once
with a correction that quotes it, then recorded as an ``invalid`` tick), run the tool, index
the observation, report the tick — one status write, whose refusal over a cancelled task
stops the loop before the next tick. At the last allowed tick the model is told — and, with
tool calling, forced — to exit with a final answer. The exit tick counts as a tick and its
action is the task's last action. A model that still does not exit gets one more request
for a plain answer, and failing that the task ends with a labelled summary of what it
observed (``finish.py``): the work of its ticks is never thrown away.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity import wait_exponential as exponential

from euglena.task import Task
from euglena_agent.actions import Action, ActionName, clip
from euglena_agent.errors import ContextOverflow, MalformedOutput, ModelError, ModelRejected
from euglena_agent.finish import Finisher
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
from euglena_agent.prompt import PromptLimits, build_messages, echoes_instructions
from euglena_agent.tools.toolbox import Toolbox

log = logging.getLogger(__name__)

CORRECTION = (
    "Your last reply was not a valid action ({error}). Your reply was:\n---\n{reply}\n---\n"
    "Reply again with exactly one action: a tool call, or one JSON object as described."
)
ECHO_ERROR = "the answer repeats the instructions instead of answering the mandate"


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
    model_attempts: int = 6
    conversation_turns: int = 6
    prompt_token_budget: int = 6000
    retry_after_max_seconds: float = 30.0

    @property
    def limits(self) -> PromptLimits:
        return PromptLimits(
            max_observation_chars=self.max_observation_chars,
            conversation_turns=self.conversation_turns,
            token_budget=self.prompt_token_budget,
        )


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
        self._finisher = Finisher(model)

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
        limits = self._config.limits
        ctx: TickContext | None = None
        for tick in range(1, task.max_ticks + 1):
            ctx = TickContext(
                mandate=task.mandate,
                tick=tick,
                max_ticks=task.max_ticks,
                observations=tuple(observations),
                recalled=tuple(await self._recall(task, observations, memory)),
                can_search=self._toolbox.can_search,
            )
            reply, error = await self._decide(ctx, out, limits)
            out.ticks = tick
            if reply is not None and reply.action.name is ActionName.EXIT:
                self._metrics.ticks.labels("exit").inc()
                out.result = reply.action.argument
                out.last_action = reply.action.describe()
                return out
            observation = await self._observe(tick, reply, error)
            observations.append(observation)
            out.last_action = observation.action
            if reply is not None:
                await self._remember(memory, tick, reply.action, observation)
            await progress.after_tick(tick, observation.action, dict(out.usage))
        assert ctx is not None  # max_ticks >= 1
        final_ctx = TickContext(
            mandate=task.mandate,
            tick=task.max_ticks,
            max_ticks=task.max_ticks,
            observations=tuple(observations),
            recalled=ctx.recalled,
            can_search=ctx.can_search,
        )
        ending = await self._finisher.finish(
            final_ctx, limits, lambda p, c, r: self._count(out, p, c, r)
        )
        out.result, out.error, out.last_action = ending.result, ending.error, ending.last_action
        return out

    async def _observe(
        self, tick: int, reply: ModelReply | None, error: tuple[str, str] | None
    ) -> Observation:
        if reply is None:
            problem, bad = error or ("no reply", "")
            self._metrics.ticks.labels("invalid").inc()
            return Observation(tick, "invalid", f"Invalid model output: {problem}", said=bad)
        action = reply.action
        self._metrics.ticks.labels(action.name.value).inc()
        text = await self._toolbox.run(action)
        if reply.ignored:
            text += (
                f"\n(Only one action runs per tick; not run: {'; '.join(reply.ignored)}. "
                "Call them again if you still need them.)"
            )
        return Observation(tick, action.describe(), text, act=action, said=reply.said)

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
        # the ticks of the conversation window are in the prompt already: recall the others
        shown = [o.tick for o in observations[-self._config.conversation_turns :]]
        try:
            return await memory.recall(f"{task.mandate}\n{latest.action}", exclude_ticks=shown)
        except Exception:
            log.exception("memory recall failed for %s", task.correlation_id)
            return []

    async def _decide(
        self, ctx: TickContext, out: LoopOutcome, limits: PromptLimits
    ) -> tuple[ModelReply | None, tuple[str, str] | None]:
        """The tick's reply, or (None, (error, bad reply)) after the correction failed too."""
        messages = build_messages(ctx, limits)
        problem = ("no reply", "")
        for _ in range(2):
            try:
                reply = await self._ask_fitting(ctx, messages, out, limits)
            except MalformedOutput as exc:
                self._count(out, exc.prompt_tokens, exc.completion_tokens, 1)
                problem = (str(exc), exc.reply)
            else:
                if reply.action.name is not ActionName.EXIT or not echoes_instructions(
                    reply.action.argument
                ):
                    return reply, None
                problem = (ECHO_ERROR, reply.action.argument)
            log.info("malformed model output at tick %d: %s", ctx.tick, problem[0])
            correction = CORRECTION.format(error=problem[0], reply=clip(problem[1], 500))
            messages = [*messages, {"role": "user", "content": correction}]
        return None, problem

    async def _ask_fitting(
        self,
        ctx: TickContext,
        messages: list[dict[str, object]],
        out: LoopOutcome,
        limits: PromptLimits,
    ) -> ModelReply:
        """Ask; when the prompt overflows the model's context, once more with half the budget."""
        try:
            return await self._ask(ModelRequest(messages=messages, context=ctx), out)
        except ContextOverflow as exc:
            smaller = PromptLimits(
                max_observation_chars=max(300, limits.max_observation_chars // 2),
                conversation_turns=max(1, limits.conversation_turns // 2),
                token_budget=max(256, limits.token_budget // 2),
            )
            log.info("prompt overflowed the model's context (%s); shortening it", exc)
            return await self._ask(ModelRequest(build_messages(ctx, smaller), ctx), out)

    async def _ask(self, request: ModelRequest, out: LoopOutcome) -> ModelReply:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(max(1, self._config.model_attempts)),
            wait=self._wait,
            retry=retry_if_exception(_transient_model_error),
            reraise=True,
        ):
            with attempt:
                try:
                    reply = await self._model.decide(request)
                except ModelError as exc:
                    if _transient_model_error(exc):
                        self._count(out, 0, 0, 1)
                        log.info("model request failed (%s); retrying", exc)
                    raise
                usage = reply.usage
                self._count(out, usage.prompt_tokens, usage.completion_tokens, reply.requests)
                return reply
        raise AssertionError("unreachable")  # pragma: no cover

    def _count(self, out: LoopOutcome, prompt: int, completion: int, requests: int) -> None:
        out.usage["prompt_tokens"] += prompt
        out.usage["completion_tokens"] += completion
        out.usage["llm_requests"] += requests
        self._metrics.tokens.labels("prompt").inc(prompt)
        self._metrics.tokens.labels("completion").inc(completion)

    def _wait(self, state: RetryCallState) -> float:
        """The server's Retry-After (bounded), else exponential backoff from half a second."""
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, ModelError) and exc.retry_after is not None:
            return min(exc.retry_after, self._config.retry_after_max_seconds)
        return float(exponential(multiplier=0.5, max=10)(state))


def _transient_model_error(exc: BaseException) -> bool:
    return (
        isinstance(exc, ModelError)
        and not isinstance(exc, MalformedOutput)
        and not isinstance(exc, ModelRejected)
    )
