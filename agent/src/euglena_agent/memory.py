"""Long-term memory in ChromaDB: observations stored with task and user metadata, recalled by
similarity into later prompts (of the same task and of the same user's later tasks; never
another user's).

ChromaDB's client is synchronous, so every call runs in a worker thread and the event loop
(and with it the AMQP heartbeats) keeps running. Embeddings are computed by us and handed to
Chroma, so Chroma's default embedding function — which downloads a model — is never used.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlparse

import chromadb
from chromadb.config import Settings as ChromaSettings

from euglena_agent.embeddings import Embedder
from euglena_agent.ports import Recalled

_CHUNK_CHARS = 800
_MAX_CHUNKS = 8


def chroma_client(url: str, path: str) -> Any:
    """An HttpClient for ``CHROMA_URL``, else an embedded PersistentClient at ``path``."""
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


class ChromaMemory:
    def __init__(self, collection: Any, embedder: Embedder) -> None:
        self._collection = collection
        self._embedder = embedder

    @classmethod
    async def open(cls, client: Any, name: str, embedder: Embedder) -> ChromaMemory:
        collection = await asyncio.to_thread(
            client.get_or_create_collection,
            name=name,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
        )
        return cls(collection, embedder)

    async def remember(
        self, *, task_id: str, user_id: str, tick: int, action: str, text: str
    ) -> None:
        chunks = chunk(text)
        if not chunks:
            return
        vectors = await self._embedder.embed(chunks)
        meta = {"task_id": task_id, "user_id": user_id, "tick": tick, "action": action}
        await asyncio.to_thread(
            self._collection.upsert,
            ids=[f"{task_id}:{tick}:{i}" for i in range(len(chunks))],
            documents=chunks,
            embeddings=vectors,
            metadatas=[meta] * len(chunks),
        )

    async def recall(
        self, *, user_id: str, query: str, k: int, exclude_tick: tuple[str, int] | None
    ) -> list[Recalled]:
        if k <= 0:
            return []
        [vector] = await self._embedder.embed([query])
        reply = await asyncio.to_thread(
            self._collection.query,
            query_embeddings=[vector],
            n_results=k + _MAX_CHUNKS,
            where={"user_id": user_id},
            include=["documents", "metadatas"],
        )
        found: list[Recalled] = []
        for text, meta in zip(reply["documents"][0], reply["metadatas"][0], strict=True):
            key = (str(meta["task_id"]), int(meta["tick"]))
            if key == exclude_tick or any(r.text == text for r in found):
                continue
            found.append(Recalled(text=text, task_id=key[0], tick=key[1]))
            if len(found) == k:
                break
        return found


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
