"""Real local HTTP servers that stand in for the outside world in tests, ``make run`` and
benchmarks: an OpenAI-compatible model server, a JSON web-search API and static web pages.

They speak the real protocols over real sockets on 127.0.0.1 (free ports), each in its own
thread, so the code under test uses its production HTTP clients unchanged::

    with FakeModelServer() as llm, FakeSearchServer() as search, FakeWebServer() as web:
        web.page("/zubrowka", "<html>…</html>")
        search.results("zubrowka", [Hit("Zubrowka", web.url("/zubrowka"), "facts")])
        llm.script("Zubrowka", [tool("search", query="zubrowka"), tool("exit", answer="Lutz")])
        ...  # MODEL_API_URL=llm.url, SEARCH_API_URL=search.url
        assert "Zubrowka" in llm.prompts("Zubrowka")[0]
"""

from euglena_devkit.fakes.base import FakeServer
from euglena_devkit.fakes.model import (
    FakeModelServer,
    Reply,
    broken,
    calls,
    context_overflow,
    refuse,
    text,
    tool,
)
from euglena_devkit.fakes.proxy import Exchange, ModelProxy
from euglena_devkit.fakes.search import FakeSearchServer, Hit
from euglena_devkit.fakes.web import FakeWebServer

__all__ = [
    "Exchange",
    "ModelProxy",
    "FakeModelServer",
    "FakeSearchServer",
    "FakeServer",
    "FakeWebServer",
    "Hit",
    "Reply",
    "broken",
    "calls",
    "context_overflow",
    "refuse",
    "text",
    "tool",
]
