"""Real tasks through a real model server: llama-cpp-python serving SmolLM2-135M-Instruct.

A 135M model is no researcher; what these tests hold it to is what a user sees whatever the
model says: every task ends ``completed`` with an answer or ``failed`` with a reason, never a
crash or a stuck task, and the tokens it reports are the server's own ``usage``. A recording
proxy sits between agent and server to see what went over the wire. The server answers one
request at a time, so the tasks are short.
"""

from __future__ import annotations

from typing import Any

import pytest
from agent_harness import AgentHarness, zubrowka_pages

from euglena.status import TaskStatus
from euglena.task import Task
from euglena_agent.finish import BEST_EFFORT_ACTION
from euglena_agent.prompt import echoes_instructions
from euglena_devkit.fakes import FakeSearchServer, FakeWebServer, ModelProxy, Reply, tool
from euglena_devkit.services import LlamaServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

MANDATE = "What is the capital of Zubrowka?"
# Small and deterministic: greedy sampling, short replies, short prompts.
SETTINGS: dict[str, Any] = {
    "model_temperature": 0,
    "model_seed": 7,
    "model_max_tokens": 96,
    "prompt_token_budget": 1200,
    "observation_max_chars": 1000,
    "model_timeout_seconds": 300,
}


@pytest.fixture
def world(search: FakeSearchServer, web: FakeWebServer) -> str:
    return zubrowka_pages(search, web)


async def _run(
    agents: AgentHarness, proxy: ModelProxy, llama: LlamaServer, max_ticks: int, **overrides: Any
) -> Task:
    await agents.start_worker(
        model_api_url=proxy.url, model_name=llama.model, **{**SETTINGS, **overrides}
    )
    task = await agents.submit(agents.task(MANDATE, max_ticks=max_ticks))
    return await agents.finished(task, timeout=480)


def _assert_user_visible_outcome(done: Task, proxy: ModelProxy) -> None:
    """Completed with a real answer, or failed with a reason; tokens as the server counted."""
    if done.status is TaskStatus.COMPLETED:
        assert done.result and done.result.strip()
        assert not echoes_instructions(done.result), done.result
    else:
        assert done.status is TaskStatus.FAILED, done
        assert done.error and "Traceback" not in done.error
    assert done.usage is not None
    prompt, completion = proxy.usage()
    assert prompt > 0 and completion > 0
    assert (done.usage["prompt_tokens"], done.usage["completion_tokens"]) == (prompt, completion)
    assert done.usage["llm_requests"] == len(proxy.exchanges)


async def test_a_task_with_tool_calling(
    agents: AgentHarness, llama_server: LlamaServer, world: str
) -> None:
    with ModelProxy(llama_server.url) as proxy:
        done = await _run(agents, proxy, llama_server, max_ticks=3)

    _assert_user_visible_outcome(done, proxy)
    sent = proxy.exchanges
    # llama-cpp-python fails on tool_choice "required" (HTTP 500): "auto" from then on
    assert sent[0].body["tool_choice"] == "required" and sent[0].status == 500
    assert all(e.status == 200 for e in sent[1:])
    # "auto" from then on; JSON mode if "auto" kept giving empty replies
    modes = ["tools" if "tools" in e.body else "json-mode" for e in sent[1:]]
    assert modes[0] == "tools" and modes == sorted(modes, key=["tools", "json-mode"].index)
    assert all(e.body.get("tool_choice") != "required" for e in sent[1:])


async def test_a_task_in_json_mode_gets_only_valid_actions(
    agents: AgentHarness, llama_server: LlamaServer, world: str
) -> None:
    with ModelProxy(llama_server.url) as proxy:
        done = await _run(agents, proxy, llama_server, max_ticks=3, model_tool_calling=False)

    _assert_user_visible_outcome(done, proxy)
    assert all("tools" not in e.body for e in proxy.exchanges)
    # the action schema becomes a grammar: every reply parses as an action
    assert all(e.body["response_format"]["schema"] for e in proxy.exchanges)
    assert done.last_action != "invalid"


async def test_a_task_with_plain_json_actions(
    agents: AgentHarness, llama_server: LlamaServer, world: str
) -> None:
    with ModelProxy(llama_server.url) as proxy:
        done = await _run(
            agents,
            proxy,
            llama_server,
            max_ticks=2,
            model_tool_calling=False,
            model_json_mode=False,
        )

    _assert_user_visible_outcome(done, proxy)
    assert all("tools" not in e.body and "response_format" not in e.body for e in proxy.exchanges)


async def test_a_task_that_runs_out_of_ticks_ends_with_the_models_best_effort_answer(
    agents: AgentHarness, llama_server: LlamaServer, world: str
) -> None:
    def ignore_tool_choice(body: dict[str, Any]) -> Reply | None:
        """Play a server that ignores tool_choice: every tick, the model 'thinks' again."""
        if "tools" in body:
            return tool("think", thought="I should look for the capital of Zubrowka.")
        return None  # the plain final-answer request reaches the real model

    with ModelProxy(llama_server.url, intercept=ignore_tool_choice) as proxy:
        done = await _run(agents, proxy, llama_server, max_ticks=2)

    assert done.status is TaskStatus.COMPLETED, done
    assert done.ticks == 2 and done.last_action == BEST_EFFORT_ACTION
    [final] = [e for e in proxy.exchanges if e.forwarded]
    assert "tools" not in final.body and final.status == 200
    written = final.answer["choices"][0]["message"]["content"].strip()
    assert written and done.result == written
    _assert_user_visible_outcome(done, proxy)
