"""What awkward real servers do, played by the protocol-level stand-in, and what users then see.

Each behaviour here is one a small model cannot be made to show on demand (a context overflow,
a refused parameter, a 429, a ``<think>`` block, two tool calls at once, an empty reply); the
real llama.cpp server runs in ``test_agent_real_model.py``.
"""

from __future__ import annotations

import pytest
from agent_harness import AgentHarness

from euglena.status import TaskStatus
from euglena_agent.finish import BEST_EFFORT_ACTION, SUMMARY_HEADING
from euglena_agent.prompt import ANSWER_INSTRUCTION
from euglena_devkit.fakes import (
    FakeSearchServer,
    FakeWebServer,
    Hit,
    broken,
    calls,
    context_overflow,
    refuse,
    text,
    tool,
)

pytestmark = pytest.mark.integration


async def test_context_overflow_shortens_the_prompt_once_then_fails_with_the_servers_words(
    agents: AgentHarness,
) -> None:
    mandate = "Read everything about larks"
    agents.llm.script(mandate, [context_overflow(2048)])
    await agents.start_worker()
    task = await agents.submit(agents.task(mandate))

    done = await agents.finished(task)

    assert done.status is TaskStatus.FAILED
    assert done.error is not None
    assert "maximum context length is 2048 tokens" in done.error
    assert len(agents.llm.chat_requests(mandate)) == 2  # retried once, shorter
    # an overflow says nothing about tool calling: the next task still calls tools
    agents.llm.script("Say hi", [tool("exit", answer="hi")])
    follower = await agents.finished(await agents.submit(agents.task("Say hi")))
    assert follower.result == "hi"
    assert all("tools" in body for body in agents.llm.chat_requests())


async def test_a_refused_parameter_fails_the_task_with_the_reason_and_keeps_tool_calling(
    agents: AgentHarness,
) -> None:
    mandate = "Think hard"
    message = "Unsupported value: 'temperature' does not support 0 with this model."
    agents.llm.script(mandate, [refuse(400, message, param="temperature")])
    await agents.start_worker(model_temperature=0)
    task = await agents.submit(agents.task(mandate))

    done = await agents.finished(task)

    assert done.status is TaskStatus.FAILED
    assert done.error == f"model API refused the request (HTTP 400): {message}"
    [body] = agents.llm.chat_requests(mandate)  # a refusal is not retried
    assert body["temperature"] == 0 and "tools" in body


async def test_sampling_settings_are_sent_only_when_configured(agents: AgentHarness) -> None:
    await agents.start_worker(model_max_tokens=300, model_extra_body='{"reasoning_effort": "low"}')
    await agents.finished(await agents.submit(agents.task("Anything")))
    [body] = agents.llm.chat_requests("Anything")
    assert "temperature" not in body and "top_p" not in body and "seed" not in body
    assert body["max_tokens"] == 300 and body["reasoning_effort"] == "low"


async def test_servers_without_tools_get_json_mode_with_the_action_schema_where_they_can(
    agents: AgentHarness,
) -> None:
    agents.llm.tool_calling = False
    agents.llm.json_schema = False
    mandate = "Plan a picnic"
    agents.llm.script(
        mandate,
        [tool("think", thought="Need food and a blanket."), tool("exit", answer="Bring bread.")],
    )
    await agents.start_worker()
    done = await agents.finished(await agents.submit(agents.task(mandate)))

    assert done.status is TaskStatus.COMPLETED and done.result == "Bring bread."
    first, second, third, fourth = agents.llm.chat_requests(mandate)
    assert first["tool_choice"] == "required"  # refused: tools are not supported
    assert "tools" not in second
    assert [v["properties"]["action"] for v in second["response_format"]["schema"]["oneOf"]] == [
        {"const": "search"}, {"const": "visit"}, {"const": "think"}, {"const": "exit"}
    ]  # fmt: skip
    assert third["response_format"] == fourth["response_format"] == {"type": "json_object"}


async def test_servers_without_response_format_get_plain_json_actions(
    agents: AgentHarness,
) -> None:
    agents.llm.tool_calling = False
    agents.llm.json_mode = False
    agents.llm.script("Picnic", [tool("think", thought="Food."), tool("exit", answer="Bread.")])
    await agents.start_worker()
    done = await agents.finished(await agents.submit(agents.task("Picnic")))

    assert done.status is TaskStatus.COMPLETED and done.result == "Bread."
    bodies = agents.llm.chat_requests("Picnic")
    assert "response_format" in bodies[1] and "response_format" in bodies[2]  # refused twice
    assert ["response_format" in b or "tools" in b for b in bodies[3:]] == [False, False]


async def test_a_429_is_retried_after_its_retry_after_and_a_huge_one_is_capped(
    agents: AgentHarness,
) -> None:
    agents.llm.script("Patience", [broken(429, retry_after="1"), tool("exit", answer="done")])
    agents.llm.script("Hurry", [broken(503, retry_after="3600"), tool("exit", answer="quick")])
    await agents.start_worker(model_retry_after_max_seconds=0.2)
    patient = await agents.finished(await agents.submit(agents.task("Patience")))
    hurried = await agents.finished(await agents.submit(agents.task("Hurry")))

    assert patient.result == "done" and hurried.result == "quick"
    assert patient.usage is not None and patient.usage["llm_requests"] == 2
    chats = [r for r in agents.llm.requests if r.path.endswith("/chat/completions")]
    assert chats[1].received - chats[0].received >= 0.2  # waited (capped at 0.2 s)


async def test_retry_after_is_honoured(agents: AgentHarness) -> None:
    agents.llm.script("Patience", [broken(429, retry_after="1"), tool("exit", answer="done")])
    await agents.start_worker()
    done = await agents.finished(await agents.submit(agents.task("Patience")))
    assert done.result == "done"
    first, second = [r for r in agents.llm.requests if r.path.endswith("/chat/completions")]
    assert second.received - first.received >= 0.95


@pytest.mark.parametrize(
    "content",
    [
        "<think>The user wants the capital. I know it.</think>\n"
        '{"action": "exit", "args": {"answer": "Lutz"}}',
        'Sure! Here is my action:\n```json\n{"action": "exit", "args": {"answer": "Lutz"}}\n```'
        "\nLet me know if you need more.",
    ],
    ids=["think-block", "prose"],
)
async def test_a_json_action_inside_reasoning_or_prose_is_an_action(
    agents: AgentHarness, content: str
) -> None:
    agents.llm.script("capital of Zubrowka", [text(content)])
    await agents.start_worker()
    done = await agents.finished(await agents.submit(agents.task("The capital of Zubrowka?")))
    assert done.status is TaskStatus.COMPLETED and done.result == "Lutz" and done.ticks == 1


async def test_two_tool_calls_in_one_reply_run_one_and_tell_the_model_about_the_other(
    agents: AgentHarness, search: FakeSearchServer, web: FakeWebServer
) -> None:
    url = web.page("/lark", "<html><body><p>The lark sings at dawn.</p></body></html>")
    search.results("lark", [Hit("Lark", url, "a bird")])
    mandate = "When does the lark sing?"
    agents.llm.script(
        mandate,
        [calls(tool("search", query="lark"), tool("visit", url=url)), tool("exit", answer="Dawn")],
    )
    await agents.start_worker()
    done = await agents.finished(await agents.submit(agents.task(mandate)))

    assert done.status is TaskStatus.COMPLETED and done.result == "Dawn"
    assert search.queries() == ["lark"] and web.visits("/lark") == 0
    assert f"not run: visit(url='{url}')" in agents.llm.prompts(mandate)[1]


async def test_an_empty_reply_is_corrected_with_the_reason_then_an_invalid_tick(
    agents: AgentHarness,
) -> None:
    mandate = "Name three primary colours."
    agents.llm.script(mandate, [text(""), text(""), tool("exit", answer="Red, yellow, blue.")])
    await agents.start_worker()
    done = await agents.finished(await agents.submit(agents.task(mandate)))

    assert done.status is TaskStatus.COMPLETED and done.result == "Red, yellow, blue."
    prompts = agents.llm.prompts(mandate)
    assert "not a valid action (the reply was empty)" in prompts[1]
    assert "Invalid model output: the reply was empty" in prompts[2]


async def test_an_exit_that_parrots_the_correction_is_not_accepted_as_the_answer(
    agents: AgentHarness,
) -> None:
    mandate = "Name three primary colours."
    parrot = "Your last reply was not a valid action (reply is not a JSON action)."
    agents.llm.script(
        mandate,
        [text("Red!"), tool("exit", answer=parrot), tool("exit", answer="Red, yellow, blue.")],
    )
    await agents.start_worker()
    done = await agents.finished(await agents.submit(agents.task(mandate)))

    assert done.status is TaskStatus.COMPLETED and done.result == "Red, yellow, blue."
    assert "Your reply was:\n---\nRed!\n---" in agents.llm.prompts(mandate)[1]


async def test_a_server_failing_on_tool_choice_required_gets_auto_from_then_on(
    agents: AgentHarness,
) -> None:
    agents.llm.required_choice = False
    agents.llm.script("Plan", [tool("think", thought="a plan"), tool("exit", answer="ok")])
    await agents.start_worker()
    done = await agents.finished(await agents.submit(agents.task("Plan", max_ticks=5)))

    assert done.status is TaskStatus.COMPLETED and done.result == "ok"
    choices = [body["tool_choice"] for body in agents.llm.chat_requests("Plan")]
    assert choices == ["required", "auto", "auto"]


async def test_empty_replies_under_tool_choice_auto_move_the_worker_to_json_mode(
    agents: AgentHarness,
) -> None:
    agents.llm.required_choice = False  # like llama-cpp-python
    agents.llm.script("Colours", [text(""), text(""), text(""), tool("exit", answer="Red.")])
    await agents.start_worker()
    done = await agents.finished(await agents.submit(agents.task("Colours")))

    assert done.status is TaskStatus.COMPLETED and done.result == "Red."
    bodies = agents.llm.chat_requests("Colours")
    assert [b.get("tool_choice") for b in bodies[:4]] == ["required", "auto", "auto", "auto"]
    assert "tools" not in bodies[4] and "schema" in bodies[4]["response_format"]


async def test_when_the_model_will_not_exit_it_is_asked_once_more_for_a_plain_answer(
    agents: AgentHarness,
) -> None:
    mandate = "Ponder the lark"
    agents.llm.script(
        mandate,
        [tool("think", thought="Hmm."), tool("think", thought="Hmm."), text("Larks sing.")],
    )
    await agents.start_worker()
    done = await agents.finished(await agents.submit(agents.task(mandate, max_ticks=2)))

    assert done.status is TaskStatus.COMPLETED
    assert done.result == "Larks sing." and done.last_action == BEST_EFFORT_ACTION
    assert done.ticks == 2 and done.usage is not None and done.usage["llm_requests"] == 3
    last = agents.llm.chat_requests(mandate)[-1]
    assert "tools" not in last and ANSWER_INSTRUCTION in agents.llm.prompts(mandate)[-1]


async def test_a_model_that_gives_no_answer_at_all_still_leaves_a_labelled_summary(
    agents: AgentHarness, search: FakeSearchServer
) -> None:
    search.results("lark", [Hit("Lark facts", "https://example.org/lark", "sings at dawn")])
    mandate = "Search the lark forever"
    agents.llm.script(mandate, [tool("search", query="lark")])
    await agents.start_worker()
    done = await agents.finished(await agents.submit(agents.task(mandate, max_ticks=2)))

    assert done.status is TaskStatus.COMPLETED
    assert done.result is not None and done.result.startswith(SUMMARY_HEADING)
    assert "sings at dawn" in done.result


async def test_a_model_that_never_gave_a_valid_action_fails_with_the_reason(
    agents: AgentHarness,
) -> None:
    agents.llm.script("Gibberish", [text("blah"), text("blah"), text("")])
    await agents.start_worker()
    done = await agents.finished(await agents.submit(agents.task("Gibberish", max_ticks=1)))

    assert done.status is TaskStatus.FAILED
    assert done.error is not None
    assert done.error.startswith("no final answer after 1 ticks: the model gave no usable action")
