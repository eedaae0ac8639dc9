"""values.yaml and values.schema.json: documented keys, and bad values refused with a reason."""

from __future__ import annotations

import json
import re

import pytest
from charting import CHART, HelmError, Render

pytestmark = pytest.mark.unit

KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][\w.-]*):")


def _undocumented_keys() -> list[str]:
    """Keys of values.yaml without a comment line right above them.

    Children of `resources` blocks are example quantities, not settings of their own.
    """
    missing: list[str] = []
    path: list[tuple[int, str]] = []
    previous = ""
    for line in (CHART / "values.yaml").read_text().splitlines():
        match = KEY.match(line)
        if match:
            indent = len(match["indent"])
            while path and path[-1][0] >= indent:
                path.pop()
            inside_resources = any(key == "resources" for _, key in path)
            path.append((indent, match["key"]))
            if not inside_resources and not previous.lstrip().startswith("#"):
                missing.append(".".join(key for _, key in path))
        if line.strip():
            previous = line
    return missing


def test_every_values_key_has_a_comment_and_the_schema_modeline() -> None:
    text = (CHART / "values.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=values.schema.json\n")
    assert _undocumented_keys() == []


def test_schema_is_json_schema_that_refuses_unknown_keys() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema["$schema"].startswith("http://json-schema.org/")
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"agent.replica": "3"}, "additional properties 'replica' not allowed"),
        ({"agent.concurrency": "0"}, "/agent/concurrency"),
        ({"environment": "staging"}, "/environment"),
        ({"gateway.port": "70000"}, "/gateway/port"),
        ({"agent.networkPolicy.deniedCIDRs[0]": "db.example.com"}, "deniedCIDRs/0"),
        ({"rabbitmq.external.url": "redis://wrong"}, "/rabbitmq/external/url"),
        ({"gateway.image.digest": "latest"}, "/gateway/image/digest"),
        ({"agentPool.targetPerReplica": "0"}, "/agentPool/targetPerReplica"),
    ],
    ids=lambda v: str(v),
)
def test_schema_rejects_bad_values_with_the_path(
    render: Render, values: dict[str, str], message: str
) -> None:
    with pytest.raises(HelmError) as refused:
        render(set_values=values)
    assert "values don't meet the specifications of the schema" in str(refused.value)
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"agent.terminationGracePeriodSeconds": "300"},
            "agent.terminationGracePeriodSeconds (300) must be greater than "
            "agent.taskTimeoutSeconds (600)",
        ),
        (
            {"agentPool.minReplicas": "5", "agentPool.maxReplicas": "2"},
            "agentPool.minReplicas (5) must not exceed agentPool.maxReplicas (2)",
        ),
        ({"operator.enabled": "false"}, "agentPool.enabled needs operator.enabled"),
        ({"redis.enabled": "false"}, "set redis.external.url or secrets.existingSecret"),
        ({"rabbitmq.consumerTimeoutMs": "300000"}, "rabbitmq.consumerTimeoutMs (300000)"),
    ],
    ids=lambda v: str(v),
)
def test_inconsistent_values_fail_with_a_clear_message(
    render: Render, values: dict[str, str], message: str
) -> None:
    with pytest.raises(HelmError) as refused:
        render(set_values=values)
    assert message in str(refused.value)
