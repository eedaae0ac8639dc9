"""Start-up configuration: what a service refuses, and how it says so."""

from __future__ import annotations

import logging

import pytest

from euglena.settings import DEV_JWT_SECRET, load_settings
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


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"SUPABASE_URL": "https://project.supabase.co"},
        {"SUPABASE_JWKS_URL": "https://project.supabase.co/auth/v1/.well-known/jwks.json"},
        {
            "SUPABASE_URL": "https://project.supabase.co",
            "SUPABASE_JWKS_URL": "https://project.supabase.co/auth/v1/.well-known/jwks.json",
        },
    ],
    ids=["alone", "with SUPABASE_URL", "with a JWKS URL", "with both"],
)
def test_the_development_secret_is_refused_outside_dev_whatever_else_is_set(
    monkeypatch: pytest.MonkeyPatch, extra: dict[str, str]
) -> None:
    monkeypatch.setenv("EUGLENA_ENV", "production")
    monkeypatch.setenv("SUPABASE_JWT_SECRET", DEV_JWT_SECRET)
    for name in ("SUPABASE_URL", "SUPABASE_JWKS_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        load_settings(GatewaySettings)
    assert stopped.value.code == 2


def test_a_project_with_a_jwks_needs_no_hs256_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EUGLENA_ENV", "production")
    monkeypatch.delenv("SUPABASE_JWT_SECRET", raising=False)
    monkeypatch.setenv("SUPABASE_URL", "https://project.supabase.co")
    settings = load_settings(GatewaySettings)
    assert settings.supabase_jwt_secret.get_secret_value() == ""
