"""Live task updates from Redis pub/sub (every accepted status write is published).

A Redis outage raises ``DependencyUnavailable``, which ends the stream."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

from pydantic import ValidationError
from redis.asyncio import Redis

from euglena.adapters.redis_errors import redis_unavailable
from euglena.keys import task_events_channel
from euglena.task import Task


class RedisTaskEvents:
    def __init__(self, redis: Redis, *, quiet_interval: float = 5.0) -> None:
        self._redis = redis
        self._quiet = quiet_interval

    async def watch(self, correlation_id: uuid.UUID) -> AsyncIterator[Task | None]:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            with redis_unavailable():
                await pubsub.subscribe(task_events_channel(correlation_id))
            # A write may have landed between the caller's first read and the subscription.
            yield None
            while True:
                with redis_unavailable():
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
