"""Redis failures stop at the adapter, as Postgres and RabbitMQ failures do.

A connection that cannot be made, breaks or times out, and a replica that refuses writes
during a failover, become :class:`~euglena.errors.DependencyUnavailable` ("redis"): callers
retry or answer 503 without importing redis. Any other Redis error is a bug (a script that
fails, a wrong type) and propagates as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from euglena.errors import DependencyUnavailable

_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError, TimeoutError)


@contextmanager
def redis_unavailable() -> Iterator[None]:
    """Translate a Redis outage raised inside the block into ``DependencyUnavailable``."""
    try:
        yield
    except _UNAVAILABLE as exc:
        raise DependencyUnavailable("redis", type(exc).__name__) from exc
