"""In-memory stand-ins for the agent's ports (model, search, pages, memory, AMQP delivery), and a
worker's use-cases wired over them and the devkit's in-memory status and presence stores."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from euglena.messages import TaskMessage
from euglena.task import Task, new_task
from euglena_agent.actions import Action, ActionName
from euglena_agent.embeddings import HashingEmbedder
from euglena_agent.errors import MalformedOutput, ModelError
from euglena_agent.loop import AgentLoop, LoopConfig
from euglena_agent.mandates import MandateService
from euglena_agent.memory import Memory, MemoryConfig
from euglena_agent.memory_writer import MemoryWriter
from euglena_agent.metrics import AgentMetrics
from euglena_agent.ports import (
    MemoryRecord,
    ModelAnswer,
    ModelReply,
    ModelRequest,
    SearchHit,
    Usage,
)
from euglena_agent.presence import WorkerPresence
from euglena_agent.status import StatusManager
from euglena_agent.tools.toolbox import Toolbox
from euglena_devkit.in_memory import InMemoryStatusStore, InMemoryWorkers

Step = Action | Exception


def think(thought: str = "pondering") -> Action:
    return Action(ActionName.THINK, {"thought": thought})


def search(query: str) -> Action:
    return Action(ActionName.SEARCH, {"query": query})


def visit(url: str) -> Action:
    return Action(ActionName.VISIT, {"url": url})


def answer(text: str) -> Action:
    return Action(ActionName.EXIT, {"answer": text})


class ScriptedModel:
    """A chat model that plays a script: each ``decide`` takes the next step (an action, a
    reply, or an exception to raise); past the end it thinks. ``requests`` keeps what it was
    asked; ``before(request)``, when set, runs first (what happens elsewhere while the model
    thinks). ``answer`` (the plain final answer once the ticks ran out) returns ``final``, or
    raises it, or by default says nothing usable."""

    name = "scripted"
    offline = True

    def __init__(
        self,
        *steps: Step | ModelReply,
        before: Callable[[ModelRequest], Awaitable[None]] | None = None,
        final: str | Exception | None = None,
    ) -> None:
        self.steps = list(steps)
        self.requests: list[ModelRequest] = []
        self.answer_requests: list[ModelRequest] = []
        self.before = before
        self.final = final

    async def answer(self, request: ModelRequest) -> ModelAnswer:
        self.answer_requests.append(request)
        if isinstance(self.final, str):
            return ModelAnswer(self.final, Usage(prompt_tokens=10, completion_tokens=5))
        raise self.final or MalformedOutput("the final answer was empty")

    async def decide(self, request: ModelRequest) -> ModelReply:
        self.requests.append(request)
        if self.before is not None:
            await self.before(request)
        step = self.steps.pop(0) if self.steps else think()
        if isinstance(step, Exception):
            raise step
        if isinstance(step, ModelReply):
            return step
        return ModelReply(action=step, usage=Usage(prompt_tokens=10, completion_tokens=2))


class DownModel(ScriptedModel):
    def __init__(self) -> None:
        super().__init__()

    async def decide(self, request: ModelRequest) -> ModelReply:
        self.requests.append(request)
        raise ModelError("model server unreachable")


class Search:
    def __init__(self, hits: dict[str, list[SearchHit]] | None = None) -> None:
        self.hits = hits or {}
        self.queries: list[str] = []

    async def search(self, query: str) -> list[SearchHit]:
        self.queries.append(query)
        return self.hits.get(query, [])


class Pages:
    def __init__(self, pages: dict[str, str] | None = None) -> None:
        self.pages = pages or {}
        self.visited: list[str] = []

    async def fetch_text(self, url: str) -> str:
        self.visited.append(url)
        return self.pages.get(url, "")


class ListStore:
    """An in-memory MemoryStore; ``fail`` makes writes raise."""

    is_open = True

    def __init__(self, *, fail: bool = False) -> None:
        self.records: list[MemoryRecord] = []
        self.writes = 0
        self.fail = fail

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def upsert(self, records: Sequence[MemoryRecord]) -> None:
        self.writes += 1
        if self.fail:
            raise OSError("disk full")
        self.records.extend(records)

    async def query(self, *, user_id: str, vector: Sequence[float], n: int) -> list[MemoryRecord]:
        return [r for r in self.records if r.user_id == user_id][:n]


WRITERS: list[MemoryWriter] = []
"""Every memory writer a test made; conftest closes them (their background task) after it."""


def new_memory(store: ListStore | None = None) -> Memory:
    store = store or ListStore()
    writer = MemoryWriter(store)
    WRITERS.append(writer)
    return Memory(store, writer, HashingEmbedder(), MemoryConfig(recall_k=2))


def loop(
    model: ScriptedModel, *, metrics: AgentMetrics | None = None, config: LoopConfig | None = None
) -> AgentLoop:
    return AgentLoop(
        model,
        Toolbox(search=Search(), visitor=Pages()),
        new_memory(),
        metrics or AgentMetrics.create(),
        config or LoopConfig(model_attempts=1),
    )


@dataclass
class Worker:
    """One worker's use-cases over in-memory Redis (status and presence)."""

    model: ScriptedModel
    status_store: InMemoryStatusStore = field(default_factory=InMemoryStatusStore)
    board: InMemoryWorkers = field(default_factory=InMemoryWorkers)
    metrics: AgentMetrics = field(default_factory=AgentMetrics.create)
    task_timeout: float = 30.0
    worker_id: str = "worker-1"

    def __post_init__(self) -> None:
        self.status = StatusManager(self.status_store, attempts=1)
        self.presence = WorkerPresence(
            self.board, worker_id=self.worker_id, pod="pod-1", heartbeat_seconds=5
        )
        self.service = MandateService(
            status=self.status,
            loop=loop(self.model, metrics=self.metrics),
            presence=self.presence,
            metrics=self.metrics,
            worker_id=self.worker_id,
            task_timeout=self.task_timeout,
        )

    def stored(self, task: Task) -> Task:
        return self.status_store.tasks[task.correlation_id]

    def count(self, outcome: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "euglena_agent_tasks_total", {"outcome": outcome}
        )
        return value or 0.0


def submitted(max_ticks: int = 3, mandate: str = "find the bird") -> tuple[Task, TaskMessage]:
    """A task as the gateway records it, and the message it publishes for it."""
    task = new_task(user_id=uuid.uuid4(), mandate=mandate, max_ticks=max_ticks)
    return task, TaskMessage.from_task(task)


@dataclass
class Delivery:
    """An AMQP delivery as aio-pika hands it to a consumer, recording how it was settled."""

    body: bytes
    message_id: str | None = None
    headers: dict[str, Any] = field(default_factory=dict)
    settled: list[str] = field(default_factory=list)
    redelivered: bool = False

    async def ack(self) -> None:
        self.settled.append("ack")

    async def nack(self, requeue: bool = True) -> None:
        self.settled.append("requeue" if requeue else "drop")

    async def reject(self, requeue: bool = False) -> None:
        self.settled.append("requeue" if requeue else "dead-letter")
