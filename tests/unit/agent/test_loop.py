"""AgentLoop's decisions: how many ticks, when it stops, what it reports — not prompt wording."""

from __future__ import annotations

import uuid

import pytest
from agent_doubles import DownModel, ScriptedModel, answer, loop, search, think

from euglena.task import Task, new_task
from euglena_agent.errors import MalformedOutput, ModelError, TaskStopped


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


async def test_without_an_answer_the_task_fails_after_its_last_tick() -> None:
    model = ScriptedModel()  # thinks forever
    progress = Progress()
    outcome = await loop(model).run(_task(max_ticks=3), progress)
    assert outcome.result is None and outcome.error == "no final answer after 3 ticks"
    assert outcome.ticks == 3 and len(model.requests) == 3
    assert [tick for tick, _ in progress.ticks] == [1, 2, 3]


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
