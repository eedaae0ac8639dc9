"""Live task updates from Redis pub/sub (every accepted status write is published)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

from pydantic import ValidationError
from redis.asyncio import Redis

from euglena.keys import task_events_channel
from euglena.task import Task


class RedisTaskEvents:
    def __init__(self, redis: Redis, *, quiet_interval: float = 5.0) -> None:
        self._redis = redis
        self._quiet = quiet_interval

    async def watch(self, correlation_id: uuid.UUID) -> AsyncIterator[Task | None]:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(task_events_channel(correlation_id))
        try:
            # A write may have landed between the caller's first read and the subscription.
            yield None
            while True:
                message = await pubsub.get_message(timeout=self._quiet)
                if message is None:
                    yield None
                    continue
                try:
                    yield Task.from_json(message["data"])
                except ValidationError:
                    yield None
        finally:
            await asyncio.shield(pubsub.aclose())  # type: ignore[no-untyped-call]
