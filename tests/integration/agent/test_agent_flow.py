"""A mandate runs end to end: search → visit → exit, with status, presence, usage and prompts."""

from __future__ import annotations

from agent_harness import AgentHarness, zubrowka_pages

from euglena.keys import DEFAULT_WORKER_STATUS_SET_KEY, task_key, worker_status_key
from euglena.status import TaskStatus
from euglena.workers import WorkerState, WorkerStatus
from euglena_agent.finish import SUMMARY_ACTION, SUMMARY_HEADING
from euglena_devkit.fakes import FakeSearchServer, FakeWebServer, text, tool
from euglena_devkit.waiting import until

MANDATE = "What is the capital of Zubrowka?"


def zubrowka_world(agents: AgentHarness, search: FakeSearchServer, web: FakeWebServer) -> str:
    url = zubrowka_pages(search, web)
    agents.llm.script(
        MANDATE,
        [
            tool("search", query="Zubrowka capital"),
            tool("visit", url=url),
            tool("exit", answer=f"The capital of Zubrowka is Lutz (source: {url})."),
        ],
    )
    return url


async def test_mandate_completes_with_answer_from_visited_page(
    agents: AgentHarness, search: FakeSearchServer, web: FakeWebServer
) -> None:
    url = zubrowka_world(agents, search, web)
    worker = await agents.start_worker()
    task = await agents.submit(agents.task(MANDATE, max_ticks=5))

    done = await agents.finished(task)

    assert done.status is TaskStatus.COMPLETED
    assert done.result == f"The capital of Zubrowka is Lutz (source: {url})."
    assert done.ticks == 3  # the exit tick counts
    assert done.last_action is not None and done.last_action.startswith("exit(answer=")
    assert done.worker_id == worker.id
    assert done.started_at is not None and done.completed_at is not None
    assert done.usage is not None and done.usage["prompt_tokens"] > 0
    assert done.usage["llm_requests"] == 3
    # the search API got the model's query with our key; the page was fetched once
    assert search.queries() == ["Zubrowka capital"]
    assert search.requests[0].headers["x-subscription-token"] == "test-search-key"
    assert web.visits("/wiki/zubrowka") == 1
    # the model saw the search hit, then the page's main text (boilerplate removed)
    prompts = agents.llm.prompts(MANDATE)
    assert url in prompts[1]
    assert "The capital of Zubrowka is Lutz" in prompts[2]
    assert "Example Encyclopaedia" not in prompts[2]
    # the key keeps its 10-minute TTL for the gateway to sync
    ttl = await agents.redis.ttl(task_key(task.correlation_id))
    assert 0 < ttl <= 600


async def test_missing_redis_key_is_created_from_the_message(
    agents: AgentHarness, search: FakeSearchServer, web: FakeWebServer
) -> None:
    zubrowka_world(agents, search, web)
    await agents.start_worker()
    task = await agents.submit(agents.task(MANDATE), write_pending=False)

    done = await agents.finished(task)

    assert done.status is TaskStatus.COMPLETED
    assert done.mandate == MANDATE and done.user_id == task.user_id


async def test_redelivered_terminal_task_is_dropped(agents: AgentHarness) -> None:
    await agents.start_worker()
    finished = agents.task("Already answered elsewhere")
    await agents.store.put(finished.evolve(status=TaskStatus.COMPLETED, result="42"))
    await agents.submit(finished, write_pending=False)
    follower = await agents.submit(agents.task("A later mandate"))

    await agents.finished(follower)

    assert agents.llm.prompts("Already answered elsewhere") == []
    stored = await agents.get(finished)
    assert stored is not None and stored.result == "42"


async def test_presence_heartbeat_and_clean_shutdown(agents: AgentHarness) -> None:
    worker = await agents.start_worker()
    key = worker_status_key(worker.id)
    raw = await agents.redis.get(key)
    assert raw is not None
    status = WorkerStatus.model_validate_json(raw)
    assert status.state is WorkerState.IDLE and status.pod == f"pod-{worker.id}"
    assert await agents.redis.sismember(DEFAULT_WORKER_STATUS_SET_KEY, worker.id)
    assert 0 < await agents.redis.pttl(key) <= 1500

    task = await agents.submit(agents.task("Say hello"))
    await agents.finished(task)
    raw = await until(
        lambda: agents.redis.get(key),
        holds=lambda r: r is not None and WorkerStatus.model_validate_json(r).processed == 1,
    )
    after = WorkerStatus.model_validate_json(raw)
    assert (after.state, after.in_flight, after.task_id) == (WorkerState.IDLE, 0, None)

    await worker.stop()
    assert await agents.redis.get(key) is None
    assert not await agents.redis.sismember(DEFAULT_WORKER_STATUS_SET_KEY, worker.id)


async def test_malformed_output_is_retried_once_then_an_invalid_tick(
    agents: AgentHarness,
) -> None:
    mandate = "Summarise the plot of Hamlet"
    agents.llm.script(
        mandate,
        [
            text("I think I should search for Hamlet first."),
            text("Still prose, not an action."),
            tool("exit", answer="A prince avenges his father."),
        ],
    )
    worker = await agents.start_worker()
    task = await agents.submit(agents.task(mandate))

    done = await agents.finished(task)

    assert done.status is TaskStatus.COMPLETED
    assert done.result == "A prince avenges his father."
    assert done.ticks == 2
    prompts = agents.llm.prompts(mandate)
    assert len(prompts) == 3
    assert "not a valid action" in prompts[1]
    assert "I think I should search for Hamlet first." in prompts[1]  # the bad reply, quoted
    assert "Invalid model output" in prompts[2]
    assert worker.metric("euglena_agent_ticks_total", action="invalid") == 1


async def test_json_action_fallback_for_servers_without_tool_calling(
    agents: AgentHarness,
) -> None:
    agents.llm.tool_calling = False
    mandate = "Plan a picnic"
    agents.llm.script(
        mandate,
        [tool("think", thought="Need food and a blanket."), tool("exit", answer="Bring bread.")],
    )
    await agents.start_worker()
    task = await agents.submit(agents.task(mandate))

    done = await agents.finished(task)

    assert done.status is TaskStatus.COMPLETED and done.result == "Bring bread."
    bodies = agents.llm.chat_requests(mandate)
    assert "tools" in bodies[0]  # tried once, refused with HTTP 400
    assert all("tools" not in b for b in bodies[1:])


async def test_last_tick_forces_a_final_answer(agents: AgentHarness) -> None:
    mandate = "Ponder forever"
    agents.llm.script(mandate, [tool("think", thought="Hmm.")])
    await agents.start_worker()
    task = await agents.submit(agents.task(mandate, max_ticks=3))

    done = await agents.finished(task)

    last_tick = agents.llm.chat_requests(mandate)[-2]
    assert last_tick["tool_choice"] == {"type": "function", "function": {"name": "exit"}}
    assert [t["function"]["name"] for t in last_tick["tools"]] == ["exit"]
    assert "This is your last tick" in agents.llm.prompts(mandate)[-2]
    # the server ignored it (and answered the plain-answer request with an action too): the
    # task still ends with what its ticks gathered, labelled as such
    assert done.status is TaskStatus.COMPLETED
    assert done.result is not None and done.result.startswith(SUMMARY_HEADING)
    assert "think(thought='Hmm.')" in done.result
    assert done.ticks == 3 and done.last_action == SUMMARY_ACTION


async def test_task_timeout_fails_the_task(agents: AgentHarness) -> None:
    mandate = "A very slow thought"
    agents.llm.script(mandate, [tool("think", thought="...", delay=30)])
    await agents.start_worker(task_timeout_seconds=1)
    task = await agents.submit(agents.task(mandate))

    done = await agents.finished(task, timeout=20)

    assert done.status is TaskStatus.FAILED
    assert done.error == "timed out after 1 s"
