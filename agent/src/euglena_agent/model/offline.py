"""The offline stand-in model: deterministic, no network, announced as such.

It lets the whole platform run on a machine with no model server. It searches for the mandate
(when search is configured), visits the first result, and then answers with what it observed,
prefixed with :data:`OFFLINE_NOTICE` so nobody mistakes it for a real model's work.
"""

from __future__ import annotations

import re

from euglena_agent.actions import Action, ActionName
from euglena_agent.ports import ModelAnswer, ModelReply, ModelRequest, TickContext, Usage
from euglena_agent.prompt import estimate_tokens

OFFLINE_NOTICE = "[offline stand-in model: no LLM wrote this answer]"
_URL = re.compile(r"https?://[^\s)\"'>\]]+")


class OfflineModel:
    name = "offline-stand-in"
    offline = True

    async def decide(self, request: ModelRequest) -> ModelReply:
        action = _next_action(request.context)
        prompt = sum(estimate_tokens(str(m.get("content", ""))) for m in request.messages)
        return ModelReply(
            action=action,
            usage=Usage(prompt_tokens=prompt, completion_tokens=estimate_tokens(action.argument)),
        )

    async def answer(self, request: ModelRequest) -> ModelAnswer:
        text = _answer(request.context)
        prompt = sum(estimate_tokens(str(m.get("content", ""))) for m in request.messages)
        return ModelAnswer(
            text=text, usage=Usage(prompt_tokens=prompt, completion_tokens=estimate_tokens(text))
        )


def _next_action(ctx: TickContext) -> Action:
    done = {o.action.split("(", 1)[0] for o in ctx.observations}
    if ctx.final or "visit" in done:
        return Action(ActionName.EXIT, {"answer": _answer(ctx)})
    if ctx.can_search and "search" not in done:
        return Action(ActionName.SEARCH, {"query": ctx.mandate[:200]})
    urls = _URL.findall(ctx.observations[-1].text) if ctx.observations else []
    if urls and "visit" not in done:
        return Action(ActionName.VISIT, {"url": urls[0]})
    if "think" not in done:
        return Action(ActionName.THINK, {"thought": f"Plan: answer the mandate {ctx.mandate!r}."})
    return Action(ActionName.EXIT, {"answer": _answer(ctx)})


def _answer(ctx: TickContext) -> str:
    findings = [f"- tick {o.tick} {o.action}: {o.text[:300]}" for o in ctx.observations]
    body = "\n".join(findings) if findings else "- nothing was observed"
    return f"{OFFLINE_NOTICE}\nMandate: {ctx.mandate}\nObservations:\n{body}"
