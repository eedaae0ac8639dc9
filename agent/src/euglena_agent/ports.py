"""Ports of the agent: the chat model, the search engine, the page fetcher, the memory.

The loop depends on these Protocols only; adapters live in ``model/``, ``tools/`` and
``memory*.py`` and are chosen by the composition root (``worker.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from euglena_agent.actions import Action


@dataclass(frozen=True, slots=True)
class Observation:
    """One tick as the model lived it: what it said and did, and what came of it."""

    tick: int
    action: str  # Action.describe(), or "invalid"
    text: str
    act: Action | None = None
    said: str = ""  # the model's own words beside the action (or its invalid reply)


@dataclass(frozen=True, slots=True)
class Recalled:
    text: str
    task_id: str
    tick: int


@dataclass(frozen=True, slots=True)
class TickContext:
    """What the loop knows at the start of a tick; models that build no prompt use it."""

    mandate: str
    tick: int
    max_ticks: int
    observations: Sequence[Observation]
    recalled: Sequence[Recalled]
    can_search: bool

    @property
    def final(self) -> bool:
        return self.tick >= self.max_ticks


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True, slots=True)
class ModelRequest:
    messages: list[dict[str, Any]]
    context: TickContext


@dataclass(frozen=True, slots=True)
class ModelReply:
    action: Action
    usage: Usage = field(default_factory=Usage)
    said: str = ""
    ignored: tuple[str, ...] = ()  # further actions of the same reply, not run
    requests: int = 1  # HTTP requests it took (a refused feature is retried without it)


@dataclass(frozen=True, slots=True)
class ModelAnswer:
    text: str
    usage: Usage = field(default_factory=Usage)
    requests: int = 1


class ChatModel(Protocol):
    name: str
    offline: bool

    async def decide(self, request: ModelRequest) -> ModelReply:
        """One action for the tick; raise ModelError, or MalformedOutput (with usage spent)."""
        ...

    async def answer(self, request: ModelRequest) -> ModelAnswer:
        """A plain-text final answer, with no tools (when the tick budget ran out)."""
        ...


@dataclass(frozen=True, slots=True)
class SearchHit:
    title: str
    url: str
    snippet: str


class SearchEngine(Protocol):
    async def search(self, query: str) -> list[SearchHit]: ...


class PageFetcher(Protocol):
    async def fetch_text(self, url: str) -> str: ...


@dataclass(frozen=True, slots=True)
class MemoryRecord:
    """One stored piece of an observation, with the vector it is found by."""

    id: str
    text: str
    task_id: str
    user_id: str
    tick: int
    action: str
    vector: Sequence[float]


class MemoryStore(Protocol):
    """Long-term memory shared by a user's tasks (ChromaDB); never read across users."""

    @property
    def is_open(self) -> bool: ...

    async def open(self) -> None:
        """Connect ahead of first use; calling it again does nothing."""
        ...

    async def close(self) -> None: ...

    async def upsert(self, records: Sequence[MemoryRecord]) -> None: ...

    async def query(
        self, *, user_id: str, vector: Sequence[float], n: int
    ) -> list[MemoryRecord]: ...
