"""Memory in ChromaDB: what was observed earlier is recalled into later prompts."""

from __future__ import annotations

import uuid

from agent_harness import AgentHarness

from euglena.status import TaskStatus
from euglena_agent.prompt import MEMORY_HEADING
from euglena_devkit.fakes import FakeSearchServer, FakeWebServer, Hit, tool
from euglena_devkit.fakes.web import article

FACT = "The national bird of Zubrowka is the crested lark."


def _world(
    agents: AgentHarness, search: FakeSearchServer, web: FakeWebServer, mandate: str
) -> None:
    search.results("zubrowka bird", [Hit("Zubrowka fauna", "https://example.org/fauna", FACT)])
    cars = web.page("/cars", article("Engines", "Diesel engines compress air before injection."))
    agents.llm.script(
        mandate,
        [
            tool("search", query="Zubrowka bird"),
            tool("visit", url=cars),
            tool("think", thought="Which bird was it?"),
            tool("exit", answer="The crested lark."),
        ],
    )


async def test_fact_observed_at_tick_1_is_in_the_prompt_at_tick_3(
    agents: AgentHarness, search: FakeSearchServer, web: FakeWebServer
) -> None:
    mandate = "What is the national bird of Zubrowka?"
    _world(agents, search, web, mandate)
    # the conversation shows the last tick only: tick 1 has to come back from memory
    await agents.start_worker(conversation_turns=1)
    task = await agents.submit(agents.task(mandate))

    done = await agents.finished(task)

    assert done.status is TaskStatus.COMPLETED
    tick3 = agents.llm.prompts(mandate)[2]
    conversation, _, recalled = tick3.partition(MEMORY_HEADING)
    assert "Result of tick 2" in conversation and FACT not in conversation
    assert FACT in recalled


async def test_memory_serves_the_same_users_later_tasks_only(
    agents: AgentHarness, search: FakeSearchServer, web: FakeWebServer, chroma_server: object
) -> None:
    """With a ChromaDB server (CHROMA_URL), shared by workers, scoped by user."""
    url = str(chroma_server.url)  # type: ignore[attr-defined]
    first = "What is the national bird of Zubrowka?"
    _world(agents, search, web, first)
    await agents.start_worker(chroma_url=url, chroma_collection=f"mem-{agents.user_id}")
    await agents.finished(await agents.submit(agents.task(first)))

    follow_up = "Which Zubrowka bird did we find?"
    agents.llm.script(follow_up, [tool("think", thought="recall"), tool("exit", answer="lark")])
    stranger = agents.task("Which Zubrowka bird is there? (stranger)", user_id=uuid.uuid4())
    agents.llm.script("stranger", [tool("think", thought="recall"), tool("exit", answer="?")])
    await agents.finished(await agents.submit(agents.task(follow_up)))
    await agents.finished(await agents.submit(stranger))

    assert FACT in agents.llm.prompts(follow_up)[1]
    assert FACT not in agents.llm.prompts("stranger")[1]
