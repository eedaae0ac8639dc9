"""The web UI in a real browser, against real services and agents."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from browser_harness import Agents, Browser, dev_sign_in

from euglena_devkit.fakes import FakeModelServer
from euglena_devkit.local_gateway import RunningGateway

pytestmark = pytest.mark.browser

PAGE_SIZE = 10  # frontend/src/components/Dashboard.tsx


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.mark.timeout(240)
async def test_submit_watch_to_completed_then_reload_shows_it_in_history(
    ui_gateway: RunningGateway, agents: Agents, browser: Browser
) -> None:
    await agents.start(2)
    user = unique("ui-user")
    mandate = f"Explain what Euglena gracilis eats ({uuid.uuid4().hex[:6]})"

    seen = await browser("submit_and_watch", user=user, mandate=mandate, maxTicks=4, workers=2)

    live = seen["live"]
    assert live["status"] == "completed"
    assert live["mandate"] == mandate
    assert live["result"], "the result is shown"
    assert live["ticks"].endswith("of 4")
    assert seen["sameDocument"], "the task was followed to the end without a reload"
    assert seen["statuses"][-1] == "completed" and len(seen["statuses"]) >= 2, seen["statuses"]
    assert seen["hash"] == f"#/tasks/{live['id']}"
    assert not seen["reloaded"], "the reload really reloaded the page"
    assert seen["workersText"] == "Active workers: 2"

    _, headers = await dev_sign_in(ui_gateway, user)
    task = (await ui_gateway.client.get(f"/tasks/{live['id']}", headers=headers)).json()
    assert task["status"] == "completed"
    assert task["result"].strip() == live["result"]
    assert live["ticks"] == f"{task['ticks']} of 4"
    assert live["lastAction"] == (task["last_action"] or "—")

    history = seen["history"]
    assert history["ids"] == [live["id"]]
    assert history["status"] == "completed"
    assert mandate[:60] in history["text"]
    assert seen["opened"]["id"] == live["id"] and seen["opened"]["result"] == live["result"]
    assert seen["fitsPhone"], "no horizontal scrolling on a phone-sized screen"


@pytest.mark.timeout(180)
async def test_second_user_sees_none_of_the_first_users_tasks_and_history_paginates(
    ui_gateway: RunningGateway, browser: Browser
) -> None:
    first, second = unique("ui-first"), unique("ui-second")
    _, headers = await dev_sign_in(ui_gateway, first)
    ids: list[str] = []
    for n in range(PAGE_SIZE + 2):
        mandate = f"private mandate {n} of {first}"
        response = await ui_gateway.client.post(
            "/tasks", json={"mandate": mandate, "max_ticks": 2}, headers=headers
        )
        assert response.status_code == 202, response.text
        ids.append(response.json()["correlation_id"])
    _, second_headers = await dev_sign_in(ui_gateway, second)
    refused = await ui_gateway.client.get(f"/tasks/{ids[0]}", headers=second_headers)
    assert refused.status_code == 404

    seen = await browser(
        "isolation",
        firstUser=first,
        secondUser=second,
        foreignTaskId=ids[0],
        foreignMandate=f"private mandate 0 of {first}",
    )

    assert seen["secondIds"] == []
    assert seen["emptyText"].startswith("No tasks yet")
    assert seen["foreignError"] == refused.json()["error"]["message"]
    assert not seen["foreignMandateShown"]
    newest_first = list(reversed(ids))
    assert seen["firstPageIds"] == newest_first[:PAGE_SIZE], "one page, newest first"
    assert seen["hadMore"] and seen["moreAfter"] == 0
    assert seen["firstIds"] == newest_first, "the next page adds the older ones"


async def _refusal(gateway: RunningGateway, headers: dict[str, str], body: dict[str, Any]) -> str:
    response = await gateway.client.post("/tasks", json=body, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    message: str = response.json()["error"]["message"]
    assert message
    return message


@pytest.mark.timeout(180)
async def test_bad_mandate_shows_the_gateways_message(
    ui_gateway: RunningGateway, browser: Browser
) -> None:
    user = unique("ui-bad")
    _, headers = await dev_sign_in(ui_gateway, user)
    settings = ui_gateway.settings
    attempts = [
        {"mandate": "x" * (settings.max_mandate_length + 1), "maxTicks": 3},
        {"mandate": "A perfectly fine mandate", "maxTicks": settings.max_ticks + 1},
    ]
    expected = [
        await _refusal(ui_gateway, headers, {"mandate": a["mandate"], "max_ticks": a["maxTicks"]})
        for a in attempts
    ]

    seen = await browser("bad_mandate", user=user, attempts=attempts)

    assert seen["shown"] == expected
    assert seen["localMessage"] == "Enter a mandate for the agent."
    assert seen["mandateInvalid"] == "true"
    assert seen["historyIds"] == [], "nothing was half-submitted"
    listed = await ui_gateway.client.get("/tasks", headers=headers)
    assert listed.json()["items"] == []


@pytest.mark.timeout(240)
async def test_cancel_stops_a_running_task(
    ui_gateway: RunningGateway, agents: Agents, slow_model: FakeModelServer, browser: Browser
) -> None:
    await agents.start(1, model_api_url=slow_model.url, model_name="slow-fake")
    user = unique("ui-cancel")

    seen = await browser(
        "cancel",
        user=user,
        mandate="Think about this for a long time",
        maxTicks=30,
        cancelWhen="in_progress",
    )

    assert seen["ticksFocused"] and seen["submitFocused"], "the form works from the keyboard"
    assert seen["before"]["status"] == "in_progress"
    assert seen["after"]["status"] == "cancelled"
    assert seen["cancelButtonGone"]
    assert seen["statuses"][-1] == "cancelled"
    _, headers = await dev_sign_in(ui_gateway, user)
    task = (await ui_gateway.client.get(f"/tasks/{seen['after']['id']}", headers=headers)).json()
    assert task["status"] == "cancelled"
    assert task["ticks"] < 30
