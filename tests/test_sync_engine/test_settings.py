"""Settings come from the environment; a bad one fails in one line that names it; secrets stay hidden."""

from __future__ import annotations

import pytest

from sync_engine.errors import SettingsError
from sync_engine.settings import Settings, load_settings

WORKDAY = {
    "WORKDAY_BASE_URL": "https://wd2-impl-services1.workday.com",
    "WORKDAY_TENANT": "acme_tenant",
    "WORKDAY_CLIENT_ID": "client-1",
    "WORKDAY_CLIENT_SECRET": "s3cr3t-client",
    "WORKDAY_REFRESH_TOKEN": "r3fr3sh-token",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in [*WORKDAY, "REDIS_URL", "DATABASE_URL", "WORKDAY_API_VERSION", "RESYNC_ADMIN_USER_IDS"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(str(tmp_path))  # no stray .env
    load_settings.cache_clear()


def test_defaults_are_the_embedded_ones() -> None:
    settings = load_settings()
    assert settings.database_url.startswith("sqlite:///")
    assert settings.redis_url is None
    assert settings.workday_api_version == "v45.2"
    assert settings.workday_reference_id_type == "Customer_ID"


def test_missing_workday_settings_are_named_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKDAY_TENANT", "acme_tenant")
    with pytest.raises(SettingsError) as caught:
        load_settings().workday()
    message = str(caught.value)
    assert "\n" not in message
    assert "WORKDAY_BASE_URL" in message and "WORKDAY_CLIENT_SECRET" in message
    assert "WORKDAY_TENANT" not in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WORKDAY_API_VERSION", "45.2"),
        ("WORKDAY_REFERENCE_ID_TYPE", "Customer_Number"),
        ("WORKDAY_BASE_URL", "not a url"),
        ("WORKDAY_MAX_IN_FLIGHT", "0"),
    ],
)
def test_a_malformed_setting_fails_naming_it(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(f"Invalid setting {name}:")
    assert "\n" not in str(caught.value)


def test_secrets_never_show_in_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in WORKDAY.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    settings = load_settings()
    shown = repr(settings) + str(settings) + repr(settings.workday())
    for secret in ("s3cr3t-client", "r3fr3sh-token", "xoxb-very-secret"):
        assert secret not in shown
    assert settings.workday().client_secret.get_secret_value() == "s3cr3t-client"


def test_the_engines_settings_hold_nothing_of_slack() -> None:
    # The Slack app reads its own (bot/settings.py); the engine never imports it.
    assert not [name for name in Settings.model_fields if "slack" in name or "admin" in name]
