"""MandateConsumer's decisions: how each delivery is settled (ack, requeue, dead-letter), and
how loudly that is logged."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from agent_doubles import Delivery, submitted

from euglena.messages import TaskMessage
from euglena_agent.consumer import MandateConsumer
from euglena_agent.errors import StatusUnavailable, UnsupportedMessage
from euglena_agent.mandates import Outcome
from euglena_agent.metrics import AgentMetrics
from euglena_devkit.waiting import until


class Mandates:
    """The use-cases behind the consumer: answer ``outcome`` or raise ``error``."""

    def __init__(self, outcome: Outcome = Outcome.ACK, error: BaseException | None = None) -> None:
        self.outcome = outcome
        self.error = error
        self.handled: list[TaskMessage] = []
        self.dead: list[tuple[bytes, str | None, str]] = []
        self.block = False

    async def handle(self, message: TaskMessage, *, redelivered: bool = True) -> Outcome:
        self.handled.append(message)
        if self.block:
            await asyncio.Event().wait()
        if self.error is not None:
            raise self.error
        return self.outcome

    async def dead_letter(self, body: bytes, message_id: str | None, reason: str) -> None:
        if self.error is not None:
            raise self.error
        self.dead.append((body, message_id, reason))


def consumer(service: Mandates) -> tuple[MandateConsumer, AgentMetrics]:
    metrics = AgentMetrics.create()
    return (
        MandateConsumer(
            url="amqp://unused",
            service=service,
            metrics=metrics,
            concurrency=1,
            delivery_limit=5,
            requeue_delay=0,
        ),
        metrics,
    )


def delivery(**headers: Any) -> Delivery:
    task, message = submitted()
    return Delivery(message.to_body(), str(task.correlation_id), headers)


def requeued(metrics: AgentMetrics) -> float:
    value = metrics.registry.get_sample_value("euglena_agent_tasks_total", {"outcome": "requeued"})
    return value or 0.0


async def test_a_handled_mandate_is_acked() -> None:
    service = Mandates()
    edge, _ = consumer(service)
    message = delivery()
    await edge.deliver(message)
    assert message.settled == ["ack"] and len(service.handled) == 1


@pytest.mark.parametrize("error", [StatusUnavailable("redis away"), UnsupportedMessage("v9")])
async def test_a_mandate_that_cannot_be_handled_now_is_requeued_with_a_warning(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    edge, metrics = consumer(Mandates(error=error))
    message = delivery(**{"x-delivery-count": 2})
    with caplog.at_level(logging.DEBUG, logger="euglena_agent.consumer"):
        await edge.deliver(message)
    assert message.settled == ["requeue"] and requeued(metrics) == 1
    (record,) = caplog.records
    assert record.levelno == logging.WARNING and not record.exc_info


async def test_a_crash_in_the_handler_requeues_and_logs_the_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    edge, _ = consumer(Mandates(error=KeyError("bug")))
    message = delivery()
    with caplog.at_level(logging.DEBUG, logger="euglena_agent.consumer"):
        await edge.deliver(message)
    assert message.settled == ["requeue"]
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is not None


async def test_an_unreadable_message_is_dead_lettered_without_reaching_the_use_case() -> None:
    service = Mandates()
    edge, _ = consumer(service)
    message = Delivery(b'{"what": "no task"}', "m-1")
    await edge.deliver(message)
    assert message.settled == ["dead-letter"] and service.handled == []


async def test_a_mandate_still_running_at_shutdown_is_requeued() -> None:
    service = Mandates()
    service.block = True
    edge, metrics = consumer(service)
    message = delivery()
    running = asyncio.create_task(edge.deliver(message))
    await until(lambda: service.handled, 5, "the mandate in the use-case")
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert message.settled == ["requeue"] and requeued(metrics) == 1


async def test_a_dead_letter_is_recorded_with_the_reason_then_acked() -> None:
    service = Mandates()
    edge, _ = consumer(service)
    message = delivery(**{"x-death": [{"reason": "delivery_limit"}], "x-delivery-count": 5})
    await edge.settle_dead_letter(message)
    assert message.settled == ["ack"]
    assert service.dead == [(message.body, message.message_id, "after 5 delivery attempts")]


async def test_a_dead_letter_whose_failure_cannot_be_written_is_kept_for_later() -> None:
    edge, _ = consumer(Mandates(error=StatusUnavailable("redis away")))
    message = delivery(**{"x-death": [{"reason": "rejected"}]})
    await edge.settle_dead_letter(message)
    assert message.settled == ["requeue"]
