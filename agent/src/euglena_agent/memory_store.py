"""ChromaDB adapter of :class:`~euglena_agent.ports.MemoryStore`.

``chromadb`` takes seconds to import, so it is imported, and the collection opened, on first
use (or by :meth:`ChromaStore.open` in the background when the worker starts) rather than
when the worker process starts. The client is synchronous: every call runs in a thread, and
the event loop (with it the AMQP heartbeats and the running ticks) keeps going. We hand Chroma
our own embeddings, so its default embedding function, which downloads a model, is never used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from euglena_agent.ports import MemoryRecord


def chroma_client(url: str, path: str) -> Any:
    """An HttpClient for ``CHROMA_URL``, else an embedded PersistentClient at ``path``."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if not url:
        return chromadb.PersistentClient(path=path, settings=settings)
    parsed = urlparse(url)
    return chromadb.HttpClient(
        host=parsed.hostname or "localhost",
        port=parsed.port or (443 if parsed.scheme == "https" else 8000),
        ssl=parsed.scheme == "https",
        settings=settings,
    )


def _open_collection(url: str, path: str, name: str) -> tuple[Any, Any]:
    client = chroma_client(url, path)
    collection = client.get_or_create_collection(
        name=name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
    )
    return client, collection


class ChromaStore:
    def __init__(self, *, url: str, path: str, collection: str) -> None:
        self._args = (url, path, collection)
        self._client: Any = None
        self._collection: Any = None
        self._lock = asyncio.Lock()

    @property
    def is_open(self) -> bool:
        return self._collection is not None

    async def open(self) -> None:
        """Import chromadb and open the collection (once; later calls return at once)."""
        await self._get()

    async def _get(self) -> Any:
        if self._collection is None:
            async with self._lock:
                if self._collection is None:
                    opened = await asyncio.to_thread(_open_collection, *self._args)
                    self._client, self._collection = opened
        return self._collection

    async def close(self) -> None:
        """Release the client's connections and files."""
        client, self._client, self._collection = self._client, None, None
        if client is not None:
            await asyncio.to_thread(_close_client, client)

    async def upsert(self, records: Sequence[MemoryRecord]) -> None:
        if not records:
            return
        collection = await self._get()
        await asyncio.to_thread(
            collection.upsert,
            ids=[r.id for r in records],
            documents=[r.text for r in records],
            embeddings=[list(r.vector) for r in records],
            metadatas=[
                {"task_id": r.task_id, "user_id": r.user_id, "tick": r.tick, "action": r.action}
                for r in records
            ],
        )

    async def query(self, *, user_id: str, vector: Sequence[float], n: int) -> list[MemoryRecord]:
        collection = await self._get()
        reply = await asyncio.to_thread(
            collection.query,
            query_embeddings=[list(vector)],
            n_results=n,
            where={"user_id": user_id},
            include=["documents", "metadatas", "embeddings"],
        )
        rows = zip(
            reply["ids"][0],
            reply["documents"][0],
            reply["metadatas"][0],
            reply["embeddings"][0],
            strict=True,
        )
        return [
            MemoryRecord(
                id=str(rid),
                text=str(text),
                task_id=str(meta["task_id"]),
                user_id=str(meta["user_id"]),
                tick=int(meta["tick"]),
                action=str(meta.get("action", "")),
                vector=[float(x) for x in emb],
            )
            for rid, text, meta, emb in rows
        ]


def _close_client(client: Any) -> None:
    client.close()
    # chromadb's close() leaves the httpx sessions of an HttpClient (and of its admin client)
    # open, and with them their sockets
    for owner in (client, getattr(client, "_admin_client", None)):
        session = getattr(getattr(owner, "_server", None), "_session", None)
        if session is not None:
            session.close()
