"""Start-up configuration: what a service refuses, and how it says so."""

from __future__ import annotations

import logging

import pytest

from euglena.settings import load_settings
from euglena_gateway.settings import GatewaySettings


def test_a_refused_configuration_is_one_critical_line_and_exit_code_2(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("EUGLENA_ENV", "production")
    monkeypatch.delenv("SUPABASE_JWT_SECRET", raising=False)
    monkeypatch.delenv("SUPABASE_URL", raising=False)
    monkeypatch.delenv("SUPABASE_JWKS_URL", raising=False)
    with caplog.at_level(logging.DEBUG), pytest.raises(SystemExit) as stopped:
        load_settings(GatewaySettings)
    assert stopped.value.code == 2
    (record,) = [r for r in caplog.records if r.name == "euglena.settings"]
    assert record.levelno == logging.CRITICAL and not record.exc_info
    assert "SUPABASE_JWT_SECRET must be set" in record.getMessage()


def test_a_valid_configuration_is_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EUGLENA_ENV", "dev")
    monkeypatch.setenv("MAX_TICKS", "7")
    assert load_settings(GatewaySettings).max_ticks == 7
