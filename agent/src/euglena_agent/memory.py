"""Memory: what a task observed, recalled by similarity into its later prompts, and shared with
the same user's later tasks (never with another user's).

Two levels, so that a tick does no ChromaDB I/O:

* **Working memory** (:class:`TaskMemory`), in process, for the running task: every
  observation is chunked and embedded once, and each tick ranks the pieces by cosine
  similarity (one matrix product). It also holds the user's long-term memories that match
  the mandate, fetched from the store **once**, at task start, while the first tick's model
  call runs.
* **Long-term memory** (:class:`~euglena_agent.ports.MemoryStore`, ChromaDB), written in the
  background in batches by :class:`~euglena_agent.memory_writer.MemoryWriter` and flushed
  when the task ends (after its terminal status, before its message is acknowledged).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from euglena.task import Task
from euglena_agent.embeddings import Embedder
from euglena_agent.memory_writer import MemoryWriter
from euglena_agent.ports import MemoryRecord, MemoryStore, Recalled

log = logging.getLogger(__name__)

_CHUNK_CHARS = 800
_MAX_CHUNKS = 8
Vector = npt.NDArray[np.float64]


def chunk(text: str) -> list[str]:
    """Paragraph-aligned pieces of at most about ``_CHUNK_CHARS`` characters."""
    pieces: list[str] = []
    current = ""
    for paragraph in (p.strip() for p in text.split("\n")):
        if not paragraph:
            continue
        if current and len(current) + len(paragraph) + 1 > _CHUNK_CHARS:
            pieces.append(current)
            current = ""
        current = f"{current}\n{paragraph}" if current else paragraph[: _CHUNK_CHARS * 2]
        if len(pieces) >= _MAX_CHUNKS:
            break
    if current and len(pieces) < _MAX_CHUNKS:
        pieces.append(current)
    return pieces


def _unit(vector: Sequence[float]) -> Vector:
    array = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(array))
    return array / norm if norm else array


class VectorIndex:
    """Pieces of text ranked by cosine similarity to a query, in process.

    Rows live in one preallocated matrix that doubles when full, so adding a piece is a row
    copy and ranking is one matrix-vector product.
    """

    def __init__(self) -> None:
        self._items: list[Recalled] = []
        self._ids: set[str] = set()
        self._matrix: Vector | None = None

    def __len__(self) -> int:
        return len(self._items)

    def add(self, record_id: str, item: Recalled, vector: Sequence[float]) -> None:
        if record_id in self._ids:
            return
        row = _unit(vector)
        n = len(self._items)
        if self._matrix is None or self._matrix.shape[1] != row.shape[0]:
            if n:
                log.warning("memory: vector of another size (%d) ignored", row.shape[0])
                return
            self._matrix = np.empty((16, row.shape[0]))
        elif n == self._matrix.shape[0]:
            self._matrix = np.vstack([self._matrix, np.empty_like(self._matrix)])
        self._matrix[n] = row
        self._ids.add(record_id)
        self._items.append(item)

    def top(
        self, query: Sequence[float], k: int, *, exclude: Collection[tuple[str, int]] = ()
    ) -> list[Recalled]:
        """The ``k`` most similar distinct texts, skipping those of ``exclude`` (task, tick)."""
        if self._matrix is None or not self._items or k <= 0:
            return []
        q = _unit(query)
        if q.shape[0] != self._matrix.shape[1]:
            return []
        scores = self._matrix[: len(self._items)] @ q
        found: list[Recalled] = []
        for i in np.argsort(-scores, kind="stable"):
            item = self._items[int(i)]
            if (item.task_id, item.tick) in exclude or any(f.text == item.text for f in found):
                continue
            found.append(item)
            if len(found) == k:
                break
        return found


@dataclass(frozen=True, slots=True)
class MemoryConfig:
    recall_k: int = 3
    long_term_candidates: int = 24
    flush_timeout: float = 30.0


class Memory:
    """Hands each task its :class:`TaskMemory` (the composition root builds one per worker)."""

    def __init__(
        self, store: MemoryStore, writer: MemoryWriter, embedder: Embedder, config: MemoryConfig
    ) -> None:
        self.store = store
        self.writer = writer
        self._embedder = embedder
        self.config = config

    def for_task(self, task: Task) -> TaskMemory:
        memory = TaskMemory(self, task_id=str(task.correlation_id), user_id=str(task.user_id))
        if self.config.recall_k > 0 and task.max_ticks > 1:
            memory.load_long_term(task.mandate)
        return memory

    async def embed(self, texts: list[str]) -> list[list[float]]:
        return await self._embedder.embed(texts)

    async def flush(self) -> None:
        """Wait (bounded) until what tasks observed so far is in the store; never raises."""
        try:
            await self.writer.flush(self.config.flush_timeout)
        except Exception:
            log.exception("memory flush failed")


class TaskMemory:
    def __init__(self, memory: Memory, *, task_id: str, user_id: str) -> None:
        self._memory = memory
        self.task_id = task_id
        self.user_id = user_id
        self._index = VectorIndex()
        self._long_term: asyncio.Task[list[MemoryRecord]] | None = None

    def load_long_term(self, mandate: str) -> None:
        """Start fetching the user's memories that match ``mandate``; :meth:`recall` awaits it."""
        self._long_term = asyncio.create_task(self._fetch(mandate), name="memory-recall")

    async def _fetch(self, mandate: str) -> list[MemoryRecord]:
        try:
            [vector] = await self._memory.embed([mandate])
            return await self._memory.store.query(
                user_id=self.user_id, vector=vector, n=self._memory.config.long_term_candidates
            )
        except Exception:
            log.exception("long-term memory recall failed for task %s", self.task_id)
            return []

    async def add(self, *, tick: int, action: str, text: str) -> None:
        """Index an observation for this task's later ticks and queue it for long-term storage."""
        pieces = chunk(text)
        if not pieces:
            return
        vectors = await self._memory.embed(pieces)
        records = [
            MemoryRecord(
                id=f"{self.task_id}:{tick}:{i}",
                text=piece,
                task_id=self.task_id,
                user_id=self.user_id,
                tick=tick,
                action=action,
                vector=vector,
            )
            for i, (piece, vector) in enumerate(zip(pieces, vectors, strict=True))
        ]
        for record in records:
            self._index.add(record.id, Recalled(record.text, record.task_id, tick), record.vector)
        self._memory.writer.submit(records)

    async def recall(self, query: str, *, exclude_ticks: Iterable[int] = ()) -> list[Recalled]:
        """The most relevant pieces (this task's and the user's earlier ones) for ``query``,
        except this task's ``exclude_ticks`` (those the prompt quotes already)."""
        k = self._memory.config.recall_k
        if k <= 0:
            return []
        if self._long_term is not None:
            for record in await self._long_term:
                item = Recalled(record.text, record.task_id, record.tick)
                self._index.add(record.id, item, record.vector)
            self._long_term = None
        if not len(self._index):
            return []
        [vector] = await self._memory.embed([query])
        exclude = {(self.task_id, tick) for tick in exclude_ticks}
        return self._index.top(vector, k, exclude=exclude)

    async def close(self) -> None:
        """Stop a pending long-term fetch. Writes go on in the background: see :meth:`flush`."""
        if self._long_term is not None:
            self._long_term.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._long_term
            self._long_term = None
