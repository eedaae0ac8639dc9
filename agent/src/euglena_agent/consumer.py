"""The AMQP edge: consume ``agent.mandates`` and ``agent.mandates.dead``, map outcomes to acks.

Thin by design: parse, call one use-case, settle the delivery. A robust aio-pika connection
reconnects and restores the QoS, queues and consumers. Prefetch equals the worker's
concurrency, and a message is acknowledged only after its task's terminal status is in Redis.
On shutdown the consumers are cancelled first, in-flight tasks get the grace period, and
whatever is still running is cancelled and its message requeued for another worker.

How a delivery is settled when its handling fails, and how loudly that is logged, is the table
:data:`FAILURES` (anything not in it is requeued and logged as unexpected, with a traceback).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

import aio_pika
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from aio_pika.exceptions import AMQPError
from pydantic import ValidationError

from euglena.errors import Severity
from euglena.messages import (
    DEAD_LETTER_QUEUE,
    MANDATES_QUEUE,
    TaskMessage,
    dead_letter_queue_arguments,
    mandates_queue_arguments,
)
from euglena_agent.errors import StatusUnavailable, UnreadableMessage, UnsupportedMessage
from euglena_agent.mandates import Outcome
from euglena_agent.metrics import AgentMetrics

log = logging.getLogger(__name__)

FAILURES: dict[type[Exception], tuple[Outcome, Severity]] = {
    # Redis is away: the status could not be written; another delivery will try again.
    StatusUnavailable: (Outcome.REQUEUE, Severity.DEGRADED),
    # A newer schema: a newer worker may take it; dead-lettered after the delivery limit.
    UnsupportedMessage: (Outcome.REQUEUE, Severity.DEGRADED),
    # Not a task message at all: no worker will ever read it.
    UnreadableMessage: (Outcome.DEAD_LETTER, Severity.DEGRADED),
}
"""How the AMQP edge settles a delivery whose handling raised, and how it logs it."""

_UNEXPECTED = (Outcome.REQUEUE, Severity.UNEXPECTED)

CONNECT_RETRY_FIRST = 1.0
CONNECT_RETRY_MAX = 15.0
"""Seconds between attempts to reach RabbitMQ at start-up: doubling, at most this."""
BROKER_ERRORS = (AMQPError, OSError, TimeoutError, RuntimeError)
"""What talking to a broker that is missing or goes away raises (aiormq's closed-channel error
is a RuntimeError)."""
BROKER_CLOSE_TIMEOUT = 5.0
"""Seconds a shutdown waits for RabbitMQ to cancel a consumer or close the connection."""


def classify(exc: Exception) -> tuple[Outcome, Severity]:
    return next((rule for cls, rule in FAILURES.items() if isinstance(exc, cls)), _UNEXPECTED)


class Mandates(Protocol):
    """The use-cases behind the callbacks (``mandates.MandateService``)."""

    async def handle(self, message: TaskMessage, *, redelivered: bool = True) -> Outcome: ...

    async def dead_letter(self, body: bytes, message_id: str | None, reason: str) -> None: ...


class MandateConsumer:
    def __init__(
        self,
        *,
        url: str,
        connect_timeout: float = 10.0,
        service: Mandates,
        metrics: AgentMetrics,
        concurrency: int,
        delivery_limit: int,
        requeue_delay: float,
    ) -> None:
        self._url = url
        self._connect_timeout = connect_timeout
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

    async def start(self, stop: asyncio.Event) -> bool:
        """Connect and consume; False when ``stop`` was set before RabbitMQ could be reached.

        A broker that is not up yet (a fresh install starts everything at once), or that goes
        away while the worker declares its queues, is waited for, one warning per attempt,
        instead of crashing the worker into a restart back-off. Once consuming, the robust
        connection reconnects by itself."""
        delay = CONNECT_RETRY_FIRST
        while True:
            try:
                await self._open()
                return True
            except BROKER_ERRORS as exc:
                log.warning(
                    "RabbitMQ is not reachable yet (%s); retrying in %g s",
                    str(exc) or type(exc).__name__,
                    delay,
                )
                await self.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                return False
            delay = min(delay * 2, CONNECT_RETRY_MAX)

    async def _open(self) -> None:
        self._connection = await aio_pika.connect_robust(
            self._url,
            timeout=self._connect_timeout,
            client_properties={"connection_name": "euglena-agent"},
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
            (dead, await dead.consume(self.settle_dead_letter, no_ack=False)),
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
            # With the broker gone (an uninstall, an outage) a robust channel would wait for a
            # reconnection that never comes: the shutdown must not. Deliveries that arrive
            # meanwhile are requeued (``_draining``); the broker requeues the rest itself.
            try:
                async with asyncio.timeout(BROKER_CLOSE_TIMEOUT):
                    await queue.cancel(tag)
            except BROKER_ERRORS as exc:
                log.warning("consumer %s not cancelled (%s); shutting down anyway", tag, exc)
        self._consumers = []
        if self._in_flight:
            log.info("draining %d in-flight task(s) for up to %gs", len(self._in_flight), grace)
            _, pending = await asyncio.wait(set(self._in_flight), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        self._channels, self._consumers = [], []
        if connection is not None:
            try:
                async with asyncio.timeout(BROKER_CLOSE_TIMEOUT):
                    await connection.close()
            except BROKER_ERRORS as exc:
                log.debug("RabbitMQ connection not closed cleanly (%s)", exc)

    async def _on_mandate(self, message: AbstractIncomingMessage) -> None:
        if self._draining:
            await message.nack(requeue=True)
            return
        task = asyncio.create_task(self.deliver(message), name=f"mandate-{message.message_id}")
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def deliver(self, message: AbstractIncomingMessage) -> None:
        """Handle one ``agent.mandates`` delivery and ack, requeue or dead-letter it."""
        try:
            outcome = await self._service.handle(
                _parse(message.body), redelivered=bool(message.redelivered)
            )
        except asyncio.CancelledError:
            log.info("message %s requeued: shutdown grace period over", message.message_id)
            await self._requeue(message)
            raise
        except Exception as exc:
            outcome, severity = classify(exc)
            severity.log(
                log, "message %s: %s (%s)", message.message_id, outcome.value, exc, exc=exc
            )
        if outcome is Outcome.ACK:
            await message.ack()
        elif outcome is Outcome.DEAD_LETTER:
            await message.reject(requeue=False)
        else:
            await asyncio.sleep(self._backoff(message))
            await self._requeue(message)

    async def _requeue(self, message: AbstractIncomingMessage) -> None:
        self._metrics.tasks.labels("requeued").inc()
        await message.nack(requeue=True)

    def _backoff(self, message: AbstractIncomingMessage) -> float:
        deliveries = _delivery_count(message.headers)
        return float(min(self._requeue_delay * 2**deliveries, 30.0))

    async def settle_dead_letter(self, message: AbstractIncomingMessage) -> None:
        """Record a dead-lettered message's task as failed, then drop the message."""
        reason = _dead_reason(message.headers, self._delivery_limit)
        try:
            await self._service.dead_letter(message.body, message.message_id, reason)
        except StatusUnavailable as exc:
            Severity.DEGRADED.log(
                log, "dead-lettered %s kept for later: %s", message.message_id, exc
            )
            await asyncio.sleep(self._requeue_delay)
            await message.nack(requeue=True)
            return
        await message.ack()


def _parse(body: bytes) -> TaskMessage:
    try:
        return TaskMessage.from_body(body)
    except ValidationError as exc:
        raise UnreadableMessage(f"not a task message: {exc.error_count()} error(s)") from exc


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
