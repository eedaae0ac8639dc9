"""How the agent reads real servers' replies and errors, and keeps its prompt bounded."""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any

import httpx
import pytest

from euglena_agent.actions import Action, ActionName, parse_json_action
from euglena_agent.errors import ContextOverflow, MalformedOutput, ModelError, ModelRejected
from euglena_agent.model.replies import (
    classify,
    decision_of,
    error_message,
    final_answer_of,
    parse_completion,
)
from euglena_agent.ports import Observation, TickContext
from euglena_agent.prompt import (
    EARLIER_HEADING,
    PromptLimits,
    build_messages,
    echoes_instructions,
    prompt_tokens,
)

pytestmark = pytest.mark.unit

SEARCH = Action(ActionName.SEARCH, {"query": "lark"})


@pytest.mark.parametrize(
    "content",
    [
        '<think>The user wants a bird. {"maybe": 1}</think>\n{"action": "search", "args": '
        '{"query": "lark"}}',
        'Sure! I will search first:\n{"action": "search", "args": {"query": "lark"}}\nDone.',
        'Here it is:\n```json\n{"action": "search", "args": {"query": "lark"}}\n```',
        '{"name": "search", "arguments": {"query": "lark"}}',
        '{"action": "search", "query": "lark"}',
        'reasoning cut by the server</think>{"action": "search", "args": {"query": "lark"}}',
    ],
    ids=["think-block", "prose", "fence", "tool-call-shape", "inline-args", "lone-close-tag"],
)
def test_a_json_action_is_found_wherever_the_model_put_it(content: str) -> None:
    assert parse_json_action(content) == SEARCH


def _completion(message: dict[str, Any], finish: str = "stop") -> httpx.Response:
    doc = {
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150},
    }
    return httpx.Response(200, json=doc)


def _call(name: str, **args: str) -> dict[str, Any]:
    return {
        "id": name,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args)},
    }


def test_every_tool_call_is_read_and_the_extra_ones_are_reported_not_run() -> None:
    reply = _completion(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"function": {"name": "fly", "arguments": "{}"}},
                _call("exit", answer="guessing already"),
                _call("search", query="lark"),
                _call("search", query="lark"),
                _call("visit", url="https://example.org/lark"),
            ],
        },
        "tool_calls",
    )
    decision = decision_of(parse_completion(reply))
    # an exit beside other calls is a guess made before their results: the search runs
    assert decision.action == SEARCH
    assert decision.ignored == (
        "exit(answer='guessing already')",
        "visit(url='https://example.org/lark')",
    )


def test_a_malformed_reply_carries_its_text_and_the_tokens_it_cost() -> None:
    with pytest.raises(MalformedOutput) as caught:
        decision_of(parse_completion(_completion({"role": "assistant", "content": "Paris."})))
    assert caught.value.reply == "Paris."
    assert (caught.value.prompt_tokens, caught.value.completion_tokens) == (120, 30)


@pytest.mark.parametrize(
    ("message", "finish", "error"),
    [
        ({"role": "assistant", "content": ""}, "stop", "the reply was empty"),
        ({"role": "assistant", "content": None}, "length", "empty (cut off at max_tokens)"),
        ({"role": "assistant", "tool_calls": [_call("visit")]}, "tool_calls", "needs a non-empty"),
    ],
)
def test_empty_and_broken_replies_say_what_was_wrong(
    message: dict[str, Any], finish: str, error: str
) -> None:
    with pytest.raises(MalformedOutput, match=error.replace("(", r"\(").replace(")", r"\)")):
        decision_of(parse_completion(_completion(message, finish)))


def test_reasoning_content_beside_the_answer_is_kept_as_what_the_model_said() -> None:
    reply = _completion(
        {
            "role": "assistant",
            "reasoning_content": "Larks are birds; search.",
            "content": '{"action": "search", "args": {"query": "lark"}}',
        }
    )
    decision = decision_of(parse_completion(reply))
    assert decision.action == SEARCH and decision.said == "Larks are birds; search."


def test_a_final_answer_is_plain_text_or_an_exit_but_not_another_action() -> None:
    plain = _completion({"role": "assistant", "content": "<think>ok</think>Lutz is the capital."})
    assert final_answer_of(parse_completion(plain)) == "Lutz is the capital."
    exit_json = _completion({"content": '{"action": "exit", "args": {"answer": "Lutz"}}'})
    assert final_answer_of(parse_completion(exit_json)) == "Lutz"
    with pytest.raises(MalformedOutput, match="chose another action"):
        final_answer_of(parse_completion(_completion({"content": '{"action": "search", '
                                                      '"args": {"query": "x"}}'})))  # fmt: skip


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": {"message": "Unsupported: 'temperature'"}}, "Unsupported: 'temperature'"),
        ({"error": "model 'x' not found"}, "model 'x' not found"),
        ({"detail": [{"loc": ["body", "top_p"], "msg": "must be <= 1"}]}, "must be <= 1"),
        ({"object": "error", "message": "tools not enabled"}, "tools not enabled"),
    ],
)  # fmt: skip
def test_the_servers_own_error_message_is_kept(body: dict[str, Any], message: str) -> None:
    response = httpx.Response(400, json=body)
    assert error_message(response) == message
    error = classify(response, error_message(response))
    assert isinstance(error, ModelRejected)
    assert str(error) == f"model API refused the request (HTTP 400): {message}"


def test_errors_are_classified_as_a_user_would_need() -> None:
    overflow = httpx.Response(
        400, json={"error": {"message": "This model's maximum context length is 2048 tokens."}}
    )
    assert isinstance(classify(overflow, error_message(overflow)), ContextOverflow)
    busy = httpx.Response(429, headers={"Retry-After": "7"}, json={"error": "slow down"})
    error = classify(busy, error_message(busy))
    assert type(error) is ModelError and error.retry_after == 7.0
    later = email.utils.formatdate(time.time() + 20, usegmt=True)
    unavailable = httpx.Response(503, headers={"Retry-After": later}, text="overloaded")
    retry = classify(unavailable, error_message(unavailable)).retry_after
    assert retry is not None and 15 < retry <= 20
    denied = httpx.Response(401, json={"error": {"message": "Incorrect API key"}})
    assert "check MODEL_API_KEY" in str(classify(denied, error_message(denied)))


def _ctx(tick: int, observations: tuple[Observation, ...]) -> TickContext:
    return TickContext("Find the lark", tick, 20, observations, (), True)


def test_the_prompt_keeps_within_its_token_budget_and_lists_older_ticks() -> None:
    page = "The lark sings at dawn. " * 400  # ~10,000 characters a page
    observations = tuple(
        Observation(t, f"visit(url='https://example.org/{t}')", page, act=SEARCH)
        for t in range(1, 13)
    )
    limits = PromptLimits(max_observation_chars=4000, conversation_turns=6, token_budget=1500)
    messages = build_messages(_ctx(13, observations), limits)
    assert prompt_tokens(messages) <= 1500
    assert EARLIER_HEADING in messages[1]["content"]
    assert "1. visit(url='https://example.org/1')" in messages[1]["content"]
    # the latest tick is still there in the conversation
    assert "Result of tick 12" in messages[-1]["content"]


def test_a_parroted_instruction_is_not_an_answer() -> None:
    assert echoes_instructions("Your last reply was not a valid action (reply is not JSON).")
    assert echoes_instructions("THIS IS YOUR LAST TICK: call exit now")
    assert not echoes_instructions("Red, yellow and blue are the primary colours.")
