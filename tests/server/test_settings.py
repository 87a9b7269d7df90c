"""Settings come from the environment, once, when first asked for."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from server.settings import Settings, environment_variables, get_settings


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_importing_the_app_reads_no_setting() -> None:
    # A broken value would fail any read; importing everything must still work.
    code = "import server.app, server.cli, execution.worker, execution.scheduler, schema"
    env = {"TESTRUN_PORT": "not-a-port", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)

    assert done.returncode == 0, done.stderr


def test_settings_are_read_on_first_use_and_cached(
    fresh_settings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/x")
    monkeypatch.setenv("TESTRUN_PORT", "8123")

    first = get_settings()
    monkeypatch.setenv("TESTRUN_PORT", "9000")

    assert first.database_url == "postgresql://u@db/x"
    assert first.port == 8123
    assert get_settings() is first


def test_a_bad_value_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTRUN_SANDBOX", "docker")

    with pytest.raises(ValidationError, match="sandbox"):
        Settings()


def test_processes_that_need_a_database_say_how_to_get_one() -> None:
    with pytest.raises(RuntimeError, match="DATABASE_URL is not set"):
        Settings(database_url=None).require_database_url()
    with pytest.raises(RuntimeError, match="REDIS_URL is not set"):
        Settings(redis_url=None).require_redis_url()


def test_environment_variables_lists_every_setting() -> None:
    names = environment_variables()

    assert {"DATABASE_URL", "REDIS_URL", "E2B_API_KEY", "TESTRUN_SANDBOX"} <= names
    assert {"TESTRUN_CHROMIUM", "TESTRUN_ARTIFACTS_DIR", "TESTRUN_SECRET_KEY"} <= names
    assert len(names) == len(Settings.model_fields)


def test_allowed_origins_are_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTRUN_ALLOWED_ORIGINS", "https://a.example/, https://b.example:8443")

    assert Settings().allowed_origins == ["https://a.example", "https://b.example:8443"]
    assert Settings(allowed_origins="*").allowed_origins == ["*"]


def test_the_subscription_cap_must_be_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTRUN_MAX_SUBSCRIPTIONS_PER_CONNECTION", "0")

    with pytest.raises(ValidationError, match="max_subscriptions_per_connection"):
        Settings()


def test_items_heartbeat_every_2_s_and_are_reaped_after_10_s_unless_told() -> None:
    settings = Settings()

    assert (settings.heartbeat_every_s, settings.reap_after_s) == (2.0, 10.0)


def test_the_reap_timeout_must_leave_room_for_two_heartbeats(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TESTRUN_HEARTBEAT_EVERY_S", "3")
    monkeypatch.setenv("TESTRUN_REAP_AFTER_S", "5")

    with pytest.raises(ValidationError, match="TESTRUN_REAP_AFTER_S"):
        Settings()
