"""The Slack app's own settings (`bot.settings`): read from the environment like the engine's, beside
them; a bad one fails in one line naming it; its tokens stay out of every repr."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import AppSettings, SlackSettings, load_app_settings, load_slack_settings
from sync_engine import SettingsError

TOKENS = {
    "SLACK_BOT_TOKEN": "xoxb-very-secret",
    "SLACK_SIGNING_SECRET": "signing-very-secret",
    "SLACK_APP_TOKEN": "xapp-very-secret",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in [*TOKENS, "RESYNC_ADMIN_USER_IDS", "SLACK_STATUS_INTERVAL", "DATABASE_URL", "REDIS_URL"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    load_slack_settings.cache_clear()
    load_app_settings.cache_clear()
    yield
    load_slack_settings.cache_clear()
    load_app_settings.cache_clear()


def test_admin_ids_are_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESYNC_ADMIN_USER_IDS", "U01, U02,,U03")
    assert SlackSettings().resync_admin_user_ids == ("U01", "U02", "U03")


def test_a_slack_process_reads_the_engines_settings_and_its_own_from_one_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-from-dotenv\nDATABASE_URL=sqlite:///from-dotenv.db\n"
    )
    monkeypatch.setenv("SLACK_STATUS_INTERVAL", "7")

    settings = load_app_settings()

    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-dotenv"
    assert settings.database_url == "sqlite:///from-dotenv.db" and settings.slack_status_interval == 7
    assert load_slack_settings().slack_status_interval == 7  # what a worker's plugin reads


@pytest.mark.parametrize(
    ("name", "value"),
    [("SLACK_API_URL", "slack.com/api"), ("SLACK_STATUS_INTERVAL", "0"), ("SLACK_HTTP_THREADS", "many")],
)
def test_a_malformed_slack_setting_fails_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    for load in (load_slack_settings, load_app_settings):
        with pytest.raises(SettingsError) as caught:
            load()
        assert str(caught.value).startswith(f"Invalid setting {name}:")
        assert "\n" not in str(caught.value)


def test_slack_tokens_never_show_in_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in TOKENS.items():
        monkeypatch.setenv(name, value)
    shown = "".join(
        text for settings in (SlackSettings(), AppSettings()) for text in (repr(settings), str(settings))
    )
    for secret in TOKENS.values():
        assert secret not in shown
    assert AppSettings().slack_bot_token is not None
