"""Pure logic of the agent: action parsing, prompts, the offline model, embeddings, status."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from agent_doubles import ListStore, new_memory

from euglena.status import TaskStatus
from euglena.task import Task, new_task
from euglena_agent.actions import Action, ActionName, parse_json_action, parse_tool_call
from euglena_agent.embeddings import HashingEmbedder
from euglena_agent.errors import MalformedOutput, StatusUnavailable, TaskStopped
from euglena_agent.memory import chunk
from euglena_agent.memory_writer import MemoryWriter
from euglena_agent.model.offline import OFFLINE_NOTICE, OfflineModel
from euglena_agent.ports import MemoryRecord, ModelRequest, Observation, Recalled, TickContext
from euglena_agent.prompt import FINAL_INSTRUCTION, MEMORY_HEADING, PromptLimits, build_messages
from euglena_agent.status import StatusManager
from euglena_devkit.in_memory import InMemoryStatusStore


def test_tool_call_and_json_action_parse_to_the_same_action() -> None:
    a = parse_tool_call("search", '{"query": " lark "}')
    b = parse_json_action('```json\n{"action": "search", "args": {"query": "lark"}}\n```')
    assert a == b and a.name is ActionName.SEARCH and a.argument == "lark"


@pytest.mark.parametrize(
    "content",
    ["I will search now", '{"action": "fly", "args": {}}', '{"action": "visit", "args": {}}', "[]"],
)
def test_malformed_actions_are_refused(content: str) -> None:
    with pytest.raises(MalformedOutput):
        parse_json_action(content)


def _ctx(tick: int, **kw: object) -> TickContext:
    values: dict[str, object] = {
        "mandate": "Find the bird",
        "tick": tick,
        "max_ticks": 3,
        "observations": (),
        "recalled": (),
        "can_search": True,
    }
    values.update(kw)
    return TickContext(**values)  # type: ignore[arg-type]


def test_prompt_is_a_conversation_of_own_actions_with_memory_and_final_instruction() -> None:
    search = Action(ActionName.SEARCH, {"query": "x"})
    think = Action(ActionName.THINK, {"thought": "hmm"})
    ctx = _ctx(
        3,
        observations=(
            Observation(1, search.describe(), "old", act=search, said="Let me look it up."),
            Observation(2, think.describe(), "new", act=think),
        ),
        recalled=(Recalled("the lark fact", "t", 1),),
    )
    messages = build_messages(ctx, PromptLimits(max_observation_chars=100))
    roles = [m["role"] for m in messages]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user"]
    # the model sees its own reasoning and actions, then what came of them
    assert messages[2]["content"].startswith("Let me look it up.")
    assert '{"action": "search", "args": {"query": "x"}}' in messages[2]["content"]
    assert messages[5]["content"].startswith("Result of tick 2 (think(thought='hmm')):\nnew")
    last = messages[-1]["content"]
    assert last.index(MEMORY_HEADING) < last.index("the lark fact")
    assert FINAL_INSTRUCTION in last and "Tick 3 of 3." in last


async def test_offline_model_is_deterministic_and_announces_itself() -> None:
    model = OfflineModel()
    first = await model.decide(ModelRequest(messages=[], context=_ctx(1)))
    assert first.action.name is ActionName.SEARCH
    hits = Observation(1, "search(query='x')", "1. Lark — https://example.org/lark\n   bird")
    second = await model.decide(ModelRequest(messages=[], context=_ctx(2, observations=(hits,))))
    assert second.action.argument == "https://example.org/lark"
    last = await model.decide(ModelRequest(messages=[], context=_ctx(3, observations=(hits,))))
    assert last.action.name is ActionName.EXIT and last.action.argument.startswith(OFFLINE_NOTICE)


def test_hashing_embedding_is_deterministic_normalised_and_lexical() -> None:
    e = HashingEmbedder(dimensions=128)
    a, b, c = e.vector("crested lark bird"), e.vector("crested lark bird"), e.vector("diesel")
    assert a == b
    assert abs(sum(x * x for x in a) - 1) < 1e-9
    near = sum(x * y for x, y in zip(a, e.vector("the crested lark"), strict=True))
    far = sum(x * y for x, y in zip(a, c, strict=True))
    assert near > far


def test_chunk_keeps_paragraphs_and_bounds_size() -> None:
    pieces = chunk("\n".join(f"paragraph {i} " * 20 for i in range(30)))
    assert 1 < len(pieces) <= 8 and all(len(p) <= 1700 for p in pieces)


def flaky(failures: int) -> InMemoryStatusStore:
    """An in-memory status store whose first ``failures`` calls find Redis away."""
    store = InMemoryStatusStore()
    store.failures = failures
    return store


def _task() -> Task:
    return new_task(user_id=uuid.uuid4(), mandate="m", max_ticks=3)


async def test_status_manager_retries_transient_failures() -> None:
    store = flaky(2)
    manager = StatusManager(store, attempts=3, wait_initial=0.001, wait_max=0.001)
    task = _task().evolve(status=TaskStatus.ACCEPTED)
    assert await manager.advance(task) is task
    assert store.tasks[task.correlation_id] is task


async def test_status_manager_buffers_progress_and_flushes_later() -> None:
    store = flaky(2)
    manager = StatusManager(store, attempts=1, wait_initial=0.001, wait_max=0.001)
    task = _task().evolve(status=TaskStatus.IN_PROGRESS, ticks=1)
    assert await manager.write(task, required=False) is None
    assert manager.pending == 1
    with pytest.raises(StatusUnavailable):
        await manager.write(task.evolve(status=TaskStatus.COMPLETED))
    assert await manager.flush() == 0
    assert store.tasks[task.correlation_id].status is TaskStatus.COMPLETED


async def test_status_manager_breaker_opens_and_fails_fast() -> None:
    store = flaky(100)
    manager = StatusManager(
        store, attempts=1, breaker_threshold=2, wait_initial=0.001, wait_max=0.001
    )
    for _ in range(3):
        with pytest.raises(StatusUnavailable):
            await manager.get(uuid.uuid4())
    remaining = store.failures
    with pytest.raises(StatusUnavailable, match="circuit is open"):
        await manager.get(uuid.uuid4())
    assert store.failures == remaining  # the open circuit did not even call Redis


async def test_status_manager_stops_over_a_terminal_task() -> None:
    store = flaky(0)
    manager = StatusManager(store)
    task = _task()
    await manager.advance(task.evolve(status=TaskStatus.CANCELLED))
    with pytest.raises(TaskStopped):
        await manager.advance(task.evolve(status=TaskStatus.IN_PROGRESS))


async def test_required_status_write_waits_for_redis_to_return() -> None:
    store = flaky(3)
    manager = StatusManager(store, attempts=1, wait_seconds=30)
    task = _task().evolve(status=TaskStatus.COMPLETED)
    writing = asyncio.create_task(manager.write(task))
    await asyncio.sleep(0)  # the write fails once and waits for a flush
    assert manager.pending == 1
    while await manager.flush():  # what the background flusher does once Redis answers
        pass

    result = await writing
    assert result is not None and result.applied
    assert store.tasks[task.correlation_id].status is TaskStatus.COMPLETED


async def test_required_status_write_gives_up_after_waiting() -> None:
    manager = StatusManager(flaky(100), attempts=1, wait_seconds=0.05)
    with pytest.raises(StatusUnavailable):
        await manager.write(_task().evolve(status=TaskStatus.COMPLETED))


async def test_task_memory_recalls_earlier_ticks_in_process_and_writes_once_at_the_end() -> None:
    store = ListStore()
    memory = new_memory(store)
    task = new_task(user_id=uuid.uuid4(), mandate="national bird of Zubrowka", max_ticks=5)
    working = memory.for_task(task)
    await working.add(tick=1, action="search", text="The national bird of Zubrowka is the lark.")
    await working.add(tick=2, action="visit", text="Diesel engines compress air.")

    recalled = await working.recall("national bird of Zubrowka", exclude_ticks=[2])

    assert [r.text for r in recalled] == ["The national bird of Zubrowka is the lark."]
    assert store.writes == 0  # nothing written while the task runs
    await working.close()
    await memory.flush()  # at the task's end
    assert store.writes == 1 and len(store.records) == 2
    await memory.writer.close()


async def test_a_users_later_task_recalls_long_term_memory_and_a_stranger_does_not() -> None:
    store = ListStore()
    memory = new_memory(store)
    user = uuid.uuid4()
    first = memory.for_task(new_task(user_id=user, mandate="Zubrowka bird", max_ticks=3))
    await first.add(tick=1, action="search", text="The national bird of Zubrowka is the lark.")
    await first.close()
    await memory.flush()

    later = memory.for_task(new_task(user_id=user, mandate="Zubrowka bird again", max_ticks=3))
    stranger = memory.for_task(new_task(user_id=uuid.uuid4(), mandate="Zubrowka", max_ticks=3))

    assert "lark" in (await later.recall("Zubrowka bird"))[0].text
    assert await stranger.recall("Zubrowka bird") == []
    await memory.writer.close()


async def test_memory_write_failures_are_logged_not_raised() -> None:
    memory = new_memory(ListStore(fail=True))
    working = memory.for_task(new_task(user_id=uuid.uuid4(), mandate="m", max_ticks=3))
    await working.add(tick=1, action="think", text="Thought: keep going.")
    await working.close()
    await memory.flush()
    assert memory.writer.pending == 0
    await memory.writer.close()


async def test_memory_writer_queue_is_bounded() -> None:
    store = ListStore()
    writer = MemoryWriter(store, max_pending=3, batch_size=100)
    records = [MemoryRecord(f"t:{i}:0", f"text {i}", "t", "u", i, "think", [1.0]) for i in range(5)]
    writer.submit(records)
    assert writer.pending == 3
    await writer.close()
    assert [r.tick for r in store.records] == [2, 3, 4]  # the oldest were dropped
