"""AgentLoop's decisions: how many ticks, when it stops, what it reports — not prompt wording."""

from __future__ import annotations

import time
import uuid

import pytest
from agent_doubles import DownModel, ScriptedModel, answer, loop, search, think

from euglena.task import Task, new_task
from euglena_agent.errors import ContextOverflow, MalformedOutput, ModelError, TaskStopped
from euglena_agent.finish import BEST_EFFORT_ACTION, SUMMARY_ACTION, SUMMARY_HEADING
from euglena_agent.loop import LoopConfig
from euglena_agent.ports import ModelReply, Usage
from euglena_agent.prompt import prompt_tokens


class Progress:
    """Records each reported tick; ``stop_at`` makes the report of that tick refused."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.ticks: list[tuple[int, str]] = []
        self.stop_at = stop_at

    async def after_tick(self, tick: int, action: str, usage: dict[str, int]) -> None:
        self.ticks.append((tick, action))
        if tick == self.stop_at:
            raise TaskStopped("cancelled")


def _task(max_ticks: int = 5) -> Task:
    return new_task(user_id=uuid.uuid4(), mandate="find the bird", max_ticks=max_ticks)


async def test_an_exit_ends_the_task_with_its_answer_and_counts_as_a_tick() -> None:
    model = ScriptedModel(search("bird"), think(), answer("the lark"))
    progress = Progress()
    outcome = await loop(model).run(_task(), progress)
    assert (outcome.result, outcome.error, outcome.ticks) == ("the lark", None, 3)
    assert outcome.last_action is not None and outcome.last_action.startswith("exit(")
    # every tick but the exit is reported as progress; the final status is the caller's
    assert [tick for tick, _ in progress.ticks] == [1, 2]
    assert outcome.usage == {"prompt_tokens": 30, "completion_tokens": 6, "llm_requests": 3}


async def test_when_the_ticks_run_out_the_model_is_asked_once_more_for_a_plain_answer() -> None:
    model = ScriptedModel(final="probably the lark")  # thinks forever, then answers
    progress = Progress()
    outcome = await loop(model).run(_task(max_ticks=3), progress)
    assert (outcome.result, outcome.error) == ("probably the lark", None)
    assert outcome.ticks == 3 and outcome.last_action == BEST_EFFORT_ACTION
    assert len(model.requests) == 3 and len(model.answer_requests) == 1
    assert [tick for tick, _ in progress.ticks] == [1, 2, 3]
    assert outcome.usage == {"prompt_tokens": 40, "completion_tokens": 11, "llm_requests": 4}


async def test_without_an_answer_the_task_ends_with_a_labelled_summary_of_its_work() -> None:
    model = ScriptedModel(search("bird"), think("the lark, maybe"))
    outcome = await loop(model).run(_task(max_ticks=2), Progress())
    assert outcome.error is None and outcome.result is not None
    assert outcome.result.startswith(SUMMARY_HEADING)
    assert "think(thought='the lark, maybe')" in outcome.result
    assert outcome.last_action == SUMMARY_ACTION


async def test_a_task_that_never_got_a_valid_action_fails_with_the_reason() -> None:
    model = ScriptedModel(MalformedOutput("not JSON"), MalformedOutput("still not JSON"))
    outcome = await loop(model).run(_task(max_ticks=1), Progress())
    assert outcome.result is None and outcome.error is not None
    assert outcome.error.startswith("no final answer after 1 ticks: the model gave no usable")


async def test_an_answer_that_parrots_the_instructions_is_corrected() -> None:
    model = ScriptedModel(
        answer("Your last reply was not a valid action (reply is not JSON)."), answer("the lark")
    )
    outcome = await loop(model).run(_task(), Progress())
    assert (outcome.result, outcome.ticks) == ("the lark", 1)
    correction = model.requests[1].messages[-1]["content"]
    assert "repeats the instructions" in correction and "Your reply was:" in correction


async def test_further_actions_of_a_reply_are_reported_to_the_model_not_run() -> None:
    reply = ModelReply(search("bird"), Usage(10, 2), ignored=("visit(url='https://a.example')",))
    model = ScriptedModel(reply, answer("ok"))
    await loop(model).run(_task(), Progress())
    seen = model.requests[1].messages[-1]["content"]
    assert "not run: visit(url='https://a.example')" in seen


async def test_a_context_overflow_is_retried_once_with_a_shorter_prompt() -> None:
    model = ScriptedModel(
        search("bird"), think("x" * 3000), ContextOverflow("too long"), answer("the lark")
    )
    outcome = await loop(model).run(_task(), Progress())
    assert outcome.result == "the lark"
    overflowed, retried = model.requests[2], model.requests[3]
    assert prompt_tokens(retried.messages) < prompt_tokens(overflowed.messages)


async def test_a_transient_error_waits_for_the_servers_retry_after() -> None:
    model = ScriptedModel(ModelError("HTTP 429", retry_after=0.2), answer("ok"))
    config = LoopConfig(model_attempts=2, retry_after_max_seconds=5)
    started = time.monotonic()
    outcome = await loop(model, config=config).run(_task(), Progress())
    assert outcome.result == "ok" and time.monotonic() - started >= 0.2
    assert outcome.usage["llm_requests"] == 2


async def test_the_last_tick_is_marked_final() -> None:
    model = ScriptedModel()
    await loop(model).run(_task(max_ticks=2), Progress())
    assert [r.context.final for r in model.requests] == [False, True]


async def test_a_refused_tick_report_stops_the_loop_before_its_next_tick() -> None:
    model = ScriptedModel()
    progress = Progress(stop_at=2)
    with pytest.raises(TaskStopped):
        await loop(model).run(_task(), progress)
    assert len(model.requests) == 2  # tick 3 never asked the model


async def test_a_malformed_reply_is_retried_once_then_recorded_as_an_invalid_tick() -> None:
    model = ScriptedModel(
        MalformedOutput("not JSON"),
        MalformedOutput("still not JSON"),
        answer("ok"),
    )
    progress = Progress()
    outcome = await loop(model).run(_task(), progress)
    assert progress.ticks == [(1, "invalid")]
    assert (outcome.result, outcome.ticks, outcome.usage["llm_requests"]) == ("ok", 2, 3)


async def test_a_model_that_cannot_be_reached_fails_the_loop() -> None:
    model = DownModel()
    with pytest.raises(ModelError):
        await loop(model).run(_task(), Progress())
    assert len(model.requests) == 1  # one attempt configured: no retry
