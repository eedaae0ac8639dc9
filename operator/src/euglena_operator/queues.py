"""Reading a RabbitMQ queue's depth: the management API, an AMQP passive declare, or both.

- Management API ``GET /api/queues/{vhost}/{queue}``: ``messages_ready``,
  ``messages_unacknowledged`` and ``consumers``. Complete, but only as fresh as RabbitMQ's
  statistics interval (``collect_statistics_interval``, 5 s by default).
- AMQP ``queue.declare(passive=True)``: ready messages and consumers, live, but it cannot see
  unacknowledged messages. Used alone it makes busy workers look idle (KEDA's AMQP mode), so it
  is only a fallback when no management URL is configured.
- Both (the default when both URLs are set): ``ready = max(live ready, management ready)`` and
  ``unacked`` from the management API. A spike is seen at once; a drain is seen one statistics
  interval late, which errs towards keeping workers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
import httpx

from euglena_operator.errors import QueueUnavailable
from euglena_operator.ports import QueueReader
from euglena_operator.scaling import QueueDepth

log = logging.getLogger(__name__)


class ManagementQueueReader:
    source = "management"

    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        parts = urlsplit(base_url)
        auth = (parts.username or "guest", parts.password or "guest")
        netloc = parts.hostname or "127.0.0.1"
        if parts.port:
            netloc = f"{netloc}:{parts.port}"
        clean = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        self._http = httpx.AsyncClient(base_url=clean, auth=auth, timeout=timeout)

    async def depth(self, vhost: str, queue: str) -> QueueDepth:
        url = f"/api/queues/{quote(vhost, safe='')}/{quote(queue, safe='')}"
        try:
            response = await self._http.get(url)
        except httpx.HTTPError as exc:
            raise QueueUnavailable(f"management API: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 404:
            raise QueueUnavailable(f"queue {queue!r} not found in vhost {vhost!r}")
        if response.status_code >= 400:
            raise QueueUnavailable(f"management API answered {response.status_code}")
        data: dict[str, Any] = response.json()
        return QueueDepth(
            ready=int(data.get("messages_ready") or 0),
            unacked=int(data.get("messages_unacknowledged") or 0),
            consumers=int(data.get("consumers") or 0),
        )

    async def aclose(self) -> None:
        await self._http.aclose()


class AmqpQueueReader:
    """Passive declare over AMQP: live ready count and consumers, unacked always 0."""

    source = "amqp"

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self._url = url
        self._timeout = timeout
        self._connections: dict[str, aio_pika.abc.AbstractRobustConnection] = {}
        self._lock = asyncio.Lock()

    async def depth(self, vhost: str, queue: str) -> QueueDepth:
        try:
            connection = await self._connection(vhost)
            async with asyncio.timeout(self._timeout):
                channel = await connection.channel()
                try:
                    declared = await channel.declare_queue(queue, passive=True)
                finally:
                    if not channel.is_closed:
                        await channel.close()
        except (aio_pika.exceptions.AMQPError, OSError, TimeoutError) as exc:
            raise QueueUnavailable(f"AMQP passive declare: {type(exc).__name__}: {exc}") from exc
        result = declared.declaration_result
        return QueueDepth(
            ready=int(result.message_count or 0),
            unacked=0,
            consumers=int(result.consumer_count or 0),
        )

    async def _connection(self, vhost: str) -> aio_pika.abc.AbstractRobustConnection:
        async with self._lock:
            connection = self._connections.get(vhost)
            if connection is None or connection.is_closed:
                connection = await aio_pika.connect_robust(
                    _with_vhost(self._url, vhost), timeout=self._timeout
                )
                self._connections[vhost] = connection
            return connection

    async def aclose(self) -> None:
        for connection in self._connections.values():
            await connection.close()
        self._connections.clear()


class CombinedQueueReader:
    """Management numbers, with the live AMQP ready count so a spike is never seen late."""

    source = "management+amqp"

    def __init__(self, management: ManagementQueueReader, amqp: AmqpQueueReader) -> None:
        self._management = management
        self._amqp = amqp

    async def depth(self, vhost: str, queue: str) -> QueueDepth:
        managed, live = await asyncio.gather(
            self._management.depth(vhost, queue),
            self._amqp.depth(vhost, queue),
            return_exceptions=True,
        )
        if isinstance(managed, BaseException):
            if isinstance(managed, QueueUnavailable):
                raise managed
            raise QueueUnavailable(str(managed)) from managed
        if isinstance(live, BaseException):
            log.debug("live AMQP depth unavailable, using management numbers: %s", live)
            return managed
        return QueueDepth(
            ready=max(managed.ready, live.ready),
            unacked=managed.unacked,
            consumers=max(managed.consumers, live.consumers),
        )

    async def aclose(self) -> None:
        await self._management.aclose()
        await self._amqp.aclose()


def _with_vhost(url: str, vhost: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), parts.query, ""))


def build_queue_reader(management_url: str, amqp_url: str, *, timeout: float) -> QueueReader:
    if management_url and amqp_url:
        return CombinedQueueReader(
            ManagementQueueReader(management_url, timeout=timeout),
            AmqpQueueReader(amqp_url, timeout=timeout),
        )
    if management_url:
        return ManagementQueueReader(management_url, timeout=timeout)
    log.warning(
        "RABBITMQ_MANAGEMENT_URL is not set: queue depth comes from an AMQP passive declare, "
        "which sees only ready messages (busy workers look idle)"
    )
    return AmqpQueueReader(amqp_url, timeout=timeout)
