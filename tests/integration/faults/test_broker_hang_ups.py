"""The gateway publishes again however the broker went away: here, by hanging up.

A broker that is stopping or starting (or a load balancer with no broker behind it) accepts a
connection and closes it before saying anything. The gateway runs as in production (its own
process, on uvloop), where such a hang-up surfaces from aio-pika as ``StopAsyncIteration``.
"""

from __future__ import annotations

import pytest

from euglena_devkit.faults.platform import FaultPlatform, Outcome
from euglena_devkit.waiting import until


@pytest.mark.timeout(180)
async def test_a_broker_that_hangs_up_for_a_while_does_not_stop_the_gateway_publishing(
    platform: FaultPlatform,
) -> None:
    await platform.start(workers=0)
    user = await platform.create_user()
    broker = platform.proxies["rabbitmq"]
    before = Outcome()
    await platform.submit(user, before)
    assert len(before.accepted) == 1

    # A publish whose confirm never comes: the gateway drops the connection and connects again,
    broker.blackhole()
    await platform.submit(user, Outcome())
    # while the broker hangs up on every attempt. The gateway must keep trying,
    broker.hang_up()
    await until(lambda: broker.hung_up >= 5, 60, "the gateway to keep connecting (5 hang-ups)")
    broker.restore()

    # and accept submissions again once the broker answers.
    async def accepted_again() -> bool:
        outcome = Outcome()
        await platform.submit(user, outcome)
        return bool(outcome.accepted)

    await until(accepted_again, 30, "a submission accepted again", interval=0.5)
