"""Fast versions of ``make faults``: the same scenarios, a few tasks and seconds each.

Each prints its figures and fails when one whose goal is 0 (lost, stuck, duplicated, 5xx…)
is not. The full-size runs, with the machine's load, are ``make faults``.
"""

from __future__ import annotations

from typing import Any

import pytest

from euglena_devkit.faults import scenarios, security
from euglena_devkit.faults.figures import Figures
from euglena_devkit.faults.platform import FaultPlatform, Outcome
from euglena_devkit.faults.security import FakeJwks, production_secret


def _check(figures: Figures) -> None:
    print(figures.render())
    assert figures.failing() == [], figures.render()


@pytest.mark.timeout(240)
async def test_r1_workers_killed_mid_run_lose_nothing(platform: FaultPlatform) -> None:
    await platform.start(workers=2)
    _check(await scenarios.kills(platform, tasks=12, kill_every=4, drain_timeout=120))


async def test_r5_every_forged_token_is_refused_by_a_production_gateway(
    gateway_factory: Any,
) -> None:
    with FakeJwks() as jwks:
        secret = production_secret()
        async with gateway_factory(
            EUGLENA_ENV="production", supabase_jwt_secret=secret, supabase_jwks_url=jwks.url
        ) as gw:
            user = await gw.create_user()
            _check(await security.jwt_attacks(gw.client, secret, jwks, user))


async def test_r6_no_route_and_no_sql_shows_one_users_tasks_to_another(
    platform: FaultPlatform,
) -> None:
    await platform.start(workers=1)
    owner, other = await platform.create_user(), await platform.create_user()
    outcome = Outcome()
    await platform.submit(owner, outcome, ticks=1)
    await platform.submit(owner, outcome, ticks=40)
    finished, running = outcome.accepted
    await platform.drain([finished], 60)
    read = await platform.client.get(f"/tasks/{finished}", headers=platform.headers(owner))
    assert read.json()["status"] == "completed"  # now also in the gateway's memory, for A
    figures = await security.cross_user_reads(
        platform.client,
        platform.services.dsn,
        (owner, platform.headers(owner)),
        (other, platform.headers(other)),
        {"finished task": finished, "running task": running},
    )
    _check(figures)


@pytest.mark.timeout(300)
async def test_r2_each_dependency_restarted_mid_run_loses_nothing(
    platform: FaultPlatform,
) -> None:
    await platform.start(workers=2)
    _check(await scenarios.restarts(platform, down=1, rate=2, quiet=2, drain_timeout=120))


@pytest.mark.timeout(300)
async def test_r2b_each_dependency_blackholed_mid_run_loses_nothing(
    platform: FaultPlatform,
) -> None:
    await platform.start(workers=2)
    # longer than every client's timeout (2 s Redis, 3 s Postgres and RabbitMQ)
    figures = await scenarios.blackholes(platform, window=5, rate=2, quiet=2, drain_timeout=120)
    _check(figures)
    # a dependency that answers nothing is given up on within its timeouts, as a stopped one
    assert figures["slowest answer to a submission"] < 10


@pytest.mark.timeout(240)
async def test_r3_busy_workers_scaled_down_finish_or_requeue(platform: FaultPlatform) -> None:
    await platform.start(
        workers=3, worker_settings={"WORKER_CONCURRENCY": "2", "SHUTDOWN_GRACE_SECONDS": "3"}
    )
    figures = await scenarios.scale_down(platform, tasks=6, victims=2, grace=3, drain_timeout=120)
    _check(figures)
    assert figures["tasks held by the stopped workers"] == (
        figures["finished within the grace period"] + figures["requeued to another worker"]
    )


@pytest.mark.timeout(240)
async def test_r9_a_short_soak_leaves_nothing_behind(platform: FaultPlatform) -> None:
    await platform.start(workers=2)
    _check(await scenarios.soak(platform, seconds=15, rate=2, drain_timeout=60))
