"""RabbitMQ adapter of the TaskQueue port: persistent messages, publisher confirms.

One robust connection and one long-lived confirming channel serve every request; concurrent
publishes share it and each awaits its own confirm. If RabbitMQ is down at start-up, the
gateway still starts (and answers 503 to submissions) while it keeps reconnecting.

A publish fails in one of two ways, and callers must tell them apart: *refused*
(``DependencyUnavailable``: not connected, or the broker returned or nacked the message — it
is certainly not queued) and *unconfirmed* (``PublishUnconfirmed``: the message was sent but no
confirm came within the timeout, or the connection broke meanwhile — it may be queued). A
broker that does not confirm in time is treated as gone: the connection is dropped and made
again in the background, so the next submissions are refused at once (503) instead of each
waiting for a confirm that will not come.

Connecting again goes on until it works, whatever an attempt fails with: a broker that is
stopping or starting hangs up mid-handshake, which aio-pika reports with several exception
types (on uvloop, a hang-up before the first frame is a ``StopAsyncIteration``). Each attempt
is bounded in time and a half-made connection is closed, so no attempt can hang the
connector, and a publish that finds no connection and no connector starts one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aio_pika
import aiormq
from aio_pika.abc import AbstractRobustChannel, AbstractRobustConnection

from euglena.errors import DependencyUnavailable, PublishUnconfirmed
from euglena.messages import (
    CONTENT_TYPE,
    DEAD_LETTER_QUEUE,
    MANDATES_QUEUE,
    TaskMessage,
    dead_letter_queue_arguments,
    mandates_queue_arguments,
)

log = logging.getLogger(__name__)


class RabbitPublisher:
    def __init__(self, url: str, *, delivery_limit: int, timeout: float) -> None:
        self._url = url
        self._delivery_limit = delivery_limit
        self._timeout = timeout
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._connector: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._closed = False

    async def start(self) -> None:
        try:
            await self._connect()
        except Exception as exc:  # whatever it is, the gateway starts and keeps trying
            log.warning(
                "RabbitMQ unavailable at start-up (%s); retrying in the background", _say(exc)
            )
            self._connect_in_background()

    async def _connect(self) -> None:
        """One attempt, bounded in time: connect, open the confirming channel, declare."""
        connection: AbstractRobustConnection | None = None
        try:
            async with asyncio.timeout(_ATTEMPT_TIMEOUTS * self._timeout):
                connection = await aio_pika.connect_robust(self._url, timeout=self._timeout)
                channel = await connection.channel(publisher_confirms=True)
                await declare_queues(channel, self._delivery_limit)
        except BaseException:
            if connection is not None:  # else it would go on reconnecting by itself, unused
                await _close_quietly(connection, self._timeout)
            raise
        self._connection, self._channel = connection, channel
        log.info("connected to RabbitMQ")

    async def _connect_forever(self) -> None:
        delay = 0.5
        while True:
            try:
                await self._connect()
                return
            except Exception as exc:  # any failure of one attempt is retried, never fatal
                log.debug("RabbitMQ still unavailable: %s", _say(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _connect_in_background(self) -> None:
        if not self._closed and (self._connector is None or self._connector.done()):
            self._connector = asyncio.create_task(self._connect_forever())

    def _reconnect(self) -> None:
        """Give up on the current connection (closed in the background) and make a new one."""
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            self._closing.add(asyncio.create_task(_close_quietly(connection, self._timeout)))
            self._closing = {t for t in self._closing if not t.done()}
        if self._connector is None or self._connector.done():
            log.warning("RabbitMQ did not confirm in time; connecting again")
            self._connect_in_background()

    async def close(self) -> None:
        self._closed = True
        for closing in self._closing:
            closing.cancel()
        if self._connector is not None:
            self._connector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connector
        if self._connection is not None:
            await self._connection.close()

    def _ready_channel(self) -> AbstractRobustChannel:
        channel = self._channel
        if channel is None or channel.is_closed or self._connection is None:
            if channel is None:
                self._connect_in_background()  # a no-op while a connector is running
            raise DependencyUnavailable("rabbitmq", "not connected")
        if self._connection.is_closed or not self._connection.connected.is_set():
            raise DependencyUnavailable("rabbitmq", "reconnecting")
        return channel

    async def publish(self, message: TaskMessage) -> None:
        channel = self._ready_channel()
        amqp_message = aio_pika.Message(
            body=message.to_body(),
            content_type=CONTENT_TYPE,
            message_id=str(message.correlation_id),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            confirmation = await channel.default_exchange.publish(
                amqp_message, routing_key=MANDATES_QUEUE, mandatory=True, timeout=self._timeout
            )
        except aiormq.exceptions.DeliveryError as exc:
            raise DependencyUnavailable("rabbitmq", "the broker returned the message") from exc
        except (OSError, aiormq.exceptions.AMQPError, TimeoutError, RuntimeError) as exc:
            self._reconnect()
            raise PublishUnconfirmed("rabbitmq", f"no confirm: {type(exc).__name__}") from exc
        if not isinstance(confirmation, aiormq.spec.Basic.Ack):
            raise DependencyUnavailable("rabbitmq", "the broker refused the message")

    async def ping(self) -> None:
        channel = self._ready_channel()
        await channel.declare_queue(MANDATES_QUEUE, passive=True, timeout=self._timeout)


async def declare_queues(channel: aio_pika.abc.AbstractChannel, delivery_limit: int) -> None:
    await channel.declare_queue(
        DEAD_LETTER_QUEUE, durable=True, arguments=dead_letter_queue_arguments()
    )
    await channel.declare_queue(
        MANDATES_QUEUE, durable=True, arguments=mandates_queue_arguments(delivery_limit)
    )


_ATTEMPT_TIMEOUTS = 4
"""One connection attempt: the connect, the channel and two declares, one timeout each."""


def _say(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def _close_quietly(connection: AbstractRobustConnection, timeout: float) -> None:
    with contextlib.suppress(Exception):
        async with asyncio.timeout(timeout):
            await connection.close()
