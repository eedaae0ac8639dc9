"""The one way every service makes its Redis client: every command bounded in time.

Without socket timeouts a Redis that stops answering (a network partition, a blackholed port,
a frozen server) hangs each command until the kernel gives up on the connection, many minutes
later; a stopped Redis is refused at once. With ``timeout`` on the connect and on every reply,
both become the same :class:`~euglena.errors.DependencyUnavailable` (through
:mod:`euglena.adapters.redis_errors`) within ``timeout`` seconds. A command that fails on a
broken pooled connection (e.g. after a Redis restart) is retried once, at once, on a new
connection; a timeout is not retried (it would only double the wait).
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError


def connect_redis(url: str, *, timeout: float, decode_responses: bool = False) -> Redis:
    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        decode_responses=decode_responses,
    )
