"""Embeddings for memory: an OpenAI-compatible endpoint, or a local hashing embedding.

:class:`HashingEmbedder` downloads nothing and is deterministic across processes: each word
(lower-cased, plus word bigrams) is hashed with BLAKE2 into one of ``dimensions`` signed
buckets and the vector is L2-normalised. Its limits: similarity is lexical only — shared words
match, synonyms, paraphrases and other languages do not — and distinct words can collide in a
bucket. It is a sound default for recall of facts the agent itself observed; configure
``EMBEDDING_API_URL`` for semantic recall.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from typing import Protocol

import httpx

from euglena_agent.errors import ToolError

_WORD = re.compile(r"\w+", re.UNICODE)


class Embedder(Protocol):
    async def embed(self, texts: list[str]) -> list[list[float]]: ...


class HashingEmbedder:
    def __init__(self, dimensions: int = 384) -> None:
        self.dimensions = dimensions

    async def embed(self, texts: list[str]) -> list[list[float]]:
        return [self.vector(text) for text in texts]

    def vector(self, text: str) -> list[float]:
        words = [w.lower() for w in _WORD.findall(text)]
        features = words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
        values = [0.0] * self.dimensions
        for feature in features:
            bucket, sign = _bucket(feature, self.dimensions)
            values[bucket] += sign
        norm = math.sqrt(sum(v * v for v in values))
        if norm == 0:
            values[0] = 1.0
            return values
        return [v / norm for v in values]


@functools.lru_cache(maxsize=1 << 16)
def _bucket(feature: str, dimensions: int) -> tuple[int, float]:
    """Bucket and sign of one feature; cached, as a task's words repeat from tick to tick."""
    number = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "big")
    return (number >> 1) % dimensions, 1.0 if number & 1 else -1.0


class OpenAIEmbedder:
    """``POST {EMBEDDING_API_URL}/embeddings`` with ``{"model", "input": [...]}``."""

    def __init__(self, client: httpx.AsyncClient, *, base_url: str, model: str, api_key: str):
        self._client = client
        self._url = base_url.rstrip("/") + "/embeddings"
        self._model = model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    async def embed(self, texts: list[str]) -> list[list[float]]:
        try:
            response = await self._client.post(
                self._url, json={"model": self._model, "input": texts}, headers=self._headers
            )
            response.raise_for_status()
            data = sorted(response.json()["data"], key=lambda d: d["index"])
            return [[float(x) for x in d["embedding"]] for d in data]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise ToolError(f"embeddings API failed: {exc!r}") from exc
