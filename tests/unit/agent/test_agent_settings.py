"""Which model an agent runs, decided at start-up: never the offline stand-in by accident."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from euglena.errors import ConfigurationError
from euglena_agent.settings import AgentSettings

pytestmark = pytest.mark.unit


def test_an_agent_in_production_without_a_model_url_exits_with_a_clear_message() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "EUGLENA_"))}
    env["EUGLENA_ENV"] = "production"
    proc = subprocess.run(
        [sys.executable, "-m", "euglena_agent"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "MODEL_API_URL is not set" in proc.stderr
    assert "set MODEL_OFFLINE=true" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_offline_stand_in_runs_only_on_purpose_or_in_dev() -> None:
    assert AgentSettings(EUGLENA_ENV="production", model_offline=True).offline
    assert AgentSettings(EUGLENA_ENV="dev").offline
    assert not AgentSettings(EUGLENA_ENV="dev", model_api_url="http://llm:8000/v1").offline
    with pytest.raises(ConfigurationError, match="choose the model or the offline stand-in"):
        AgentSettings(model_api_url="http://llm:8000/v1", model_offline=True)


def test_sampling_settings_are_unset_unless_given() -> None:
    settings = AgentSettings(EUGLENA_ENV="dev")
    assert settings.model_temperature is None and settings.model_max_tokens is None
    extra = AgentSettings(EUGLENA_ENV="dev", model_extra_body='{"reasoning_effort": "low"}')
    assert extra.model_extra_body == {"reasoning_effort": "low"}
    with pytest.raises(ValueError, match="MODEL_EXTRA_BODY is not JSON"):
        AgentSettings(EUGLENA_ENV="dev", model_extra_body="{nope")
