"""The AMQP edge: consume ``agent.mandates`` and ``agent.mandates.dead``, map outcomes to acks.

Thin by design: parse, call one use-case, ack / nack. A robust aio-pika connection reconnects
and restores the QoS, queues and consumers. Prefetch equals the worker's concurrency, and a
message is acknowledged only after its task's terminal status is in Redis. On shutdown the
consumers are cancelled first, in-flight tasks get the grace period, and whatever is still
running is cancelled and its message requeued for another worker.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from pydantic import ValidationError

from euglena.messages import (
    DEAD_LETTER_QUEUE,
    MANDATES_QUEUE,
    TaskMessage,
    dead_letter_queue_arguments,
    mandates_queue_arguments,
)
from euglena_agent.errors import StatusUnavailable, UnsupportedMessage
from euglena_agent.mandates import MandateService, Outcome
from euglena_agent.metrics import AgentMetrics

log = logging.getLogger(__name__)


class MandateConsumer:
    def __init__(
        self,
        *,
        url: str,
        service: MandateService,
        metrics: AgentMetrics,
        concurrency: int,
        delivery_limit: int,
        requeue_delay: float,
    ) -> None:
        self._url = url
        self._service = service
        self._metrics = metrics
        self._concurrency = concurrency
        self._delivery_limit = delivery_limit
        self._requeue_delay = requeue_delay
        self._connection: AbstractRobustConnection | None = None
        self._consumers: list[tuple[AbstractQueue, str]] = []
        # strong references: a robust connection restores only channels still referenced
        self._channels: list[AbstractRobustChannel] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._draining = False

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    @property
    def consuming(self) -> bool:
        return self.connected and bool(self._consumers)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(
            self._url, client_properties={"connection_name": "euglena-agent"}
        )
        mandates = await self._channel(self._concurrency)
        queue = await mandates.declare_queue(
            MANDATES_QUEUE, durable=True, arguments=mandates_queue_arguments(self._delivery_limit)
        )
        dead_channel = await self._channel(10)
        dead = await dead_channel.declare_queue(
            DEAD_LETTER_QUEUE, durable=True, arguments=dead_letter_queue_arguments()
        )
        self._consumers = [
            (queue, await queue.consume(self._on_mandate, no_ack=False)),
            (dead, await dead.consume(self._on_dead_letter, no_ack=False)),
        ]
        log.info("consuming %s (prefetch %d)", MANDATES_QUEUE, self._concurrency)

    async def _channel(self, prefetch: int) -> AbstractRobustChannel:
        assert self._connection is not None
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        self._channels.append(channel)
        return channel

    async def drain(self, grace: float) -> None:
        """Stop consuming, let in-flight tasks finish within ``grace``, requeue the rest."""
        self._draining = True
        for queue, tag in self._consumers:
            await queue.cancel(tag)
        self._consumers = []
        if self._in_flight:
            log.info("draining %d in-flight task(s) for up to %gs", len(self._in_flight), grace)
            _, pending = await asyncio.wait(set(self._in_flight), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    async def _on_mandate(self, message: AbstractIncomingMessage) -> None:
        if self._draining:
            await message.nack(requeue=True)
            return
        task = asyncio.create_task(self._process(message), name=f"mandate-{message.message_id}")
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _process(self, message: AbstractIncomingMessage) -> None:
        try:
            mandate = TaskMessage.from_body(message.body)
        except ValidationError as exc:
            log.warning("unreadable message %s dead-lettered: %s", message.message_id, exc)
            await message.reject(requeue=False)
            return
        try:
            outcome = await self._service.handle(mandate)
        except asyncio.CancelledError:
            log.info("task %s requeued: shutdown grace period over", mandate.correlation_id)
            await self._requeue(message)
            raise
        except (StatusUnavailable, UnsupportedMessage) as exc:
            log.info("task %s requeued: %s", mandate.correlation_id, exc)
            outcome = Outcome.REQUEUE
        except Exception:
            log.exception("task %s crashed the handler; requeued", mandate.correlation_id)
            outcome = Outcome.REQUEUE
        if outcome is Outcome.ACK:
            await message.ack()
            return
        await asyncio.sleep(self._backoff(message))
        await self._requeue(message)

    async def _requeue(self, message: AbstractIncomingMessage) -> None:
        self._metrics.tasks.labels("requeued").inc()
        await message.nack(requeue=True)

    def _backoff(self, message: AbstractIncomingMessage) -> float:
        deliveries = _delivery_count(message.headers)
        return float(min(self._requeue_delay * 2**deliveries, 30.0))

    async def _on_dead_letter(self, message: AbstractIncomingMessage) -> None:
        reason = _dead_reason(message.headers, self._delivery_limit)
        try:
            await self._service.dead_letter(message.body, message.message_id, reason)
        except StatusUnavailable as exc:
            log.info("dead-lettered %s kept for later: %s", message.message_id, exc)
            await asyncio.sleep(self._requeue_delay)
            await message.nack(requeue=True)
            return
        await message.ack()


def _delivery_count(headers: dict[str, Any]) -> int:
    value = headers.get("x-delivery-count", 0)
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else 0


def _dead_reason(headers: dict[str, Any], limit: int) -> str:
    deaths = headers.get("x-death") or []
    reason = str(deaths[0].get("reason", "")) if deaths and isinstance(deaths[0], dict) else ""
    if reason == "rejected":
        return "as unreadable"
    if reason == "expired":
        return "after its message expired"
    attempts = _delivery_count(headers) or limit
    return f"after {attempts} delivery attempts"
