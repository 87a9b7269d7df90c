"""`TESTRUN_SANDBOX` picks the workers' sandboxes."""

from __future__ import annotations

import uuid

import pytest
from pydantic import SecretStr, ValidationError

from execution.sandboxes.base import SandboxSpec, SandboxUnavailable
from execution.sandboxes.cdp import CdpSandboxProvider
from execution.sandboxes.e2b import E2BSandboxProvider, deployment_metadata
from execution.sandboxes.local import LocalSandboxProvider
from server.sandboxes import sandbox_jobs, sandbox_provider, script_isolation
from server.settings import Settings


def test_local_is_the_default() -> None:
    assert isinstance(sandbox_provider(Settings()), LocalSandboxProvider)


def test_e2b_is_chosen_by_the_setting() -> None:
    chosen = sandbox_provider(Settings(sandbox="e2b", e2b_api_key=SecretStr("e2b_test")))

    assert isinstance(chosen, E2BSandboxProvider)


async def test_e2b_without_a_key_fails_each_test_case_saying_so() -> None:
    provider = sandbox_provider(Settings(sandbox="e2b"))

    with pytest.raises(SandboxUnavailable, match="E2B_API_KEY"):
        await provider.create(SandboxSpec(run_id=uuid.uuid4(), item_id=uuid.uuid4()))
    await provider.aclose()


def test_the_scheduler_sweeps_e2b_sandboxes_only_when_it_can() -> None:
    key = SecretStr("e2b_test")
    assert sandbox_jobs(Settings()) == []
    assert sandbox_jobs(Settings(e2b_api_key=key)) == []  # local sandboxes: nothing leaks
    assert sandbox_jobs(Settings(sandbox="e2b")) == []  # no key: nothing to list with
    assert len(sandbox_jobs(Settings(sandbox="e2b", e2b_api_key=key))) == 1


def test_a_deployment_tag_marks_every_sandbox_and_scopes_the_sweep() -> None:
    assert deployment_metadata(None) == {}
    assert deployment_metadata("staging") == {"testrun_deployment": "staging"}


def test_cdp_is_chosen_by_the_setting_with_its_endpoints() -> None:
    settings = Settings(sandbox="cdp", cdp_urls="http://chrome-1:9222, http://chrome-2:9222/")

    chosen = sandbox_provider(settings)

    assert isinstance(chosen, CdpSandboxProvider)
    assert [e.url for e in chosen.endpoints] == ["http://chrome-1:9222", "http://chrome-2:9222"]


def test_cdp_opens_as_many_contexts_at_once_per_endpoint_as_the_setting_says() -> None:
    settings = Settings(sandbox="cdp", cdp_urls="http://chrome-1:9222", cdp_opening_per_endpoint=5)

    chosen = sandbox_provider(settings)

    assert isinstance(chosen, CdpSandboxProvider)
    assert chosen.endpoints[0].opening_limit == 5
    with pytest.raises(ValidationError, match="cdp_opening_per_endpoint"):
        Settings(sandbox="cdp", cdp_urls="http://chrome-1:9222", cdp_opening_per_endpoint=0)


def test_cdp_without_endpoints_says_which_setting_is_missing() -> None:
    with pytest.raises(RuntimeError, match="TESTRUN_CDP_URLS"):
        sandbox_provider(Settings(sandbox="cdp"))


def test_scripts_are_denied_the_services_own_ports() -> None:
    settings = Settings(
        database_url="postgresql+asyncpg://u:p@db.internal:5433/testrun",
        redis_url="redis://cache:6380/0",
        script_denied_ports="9000, 9001",
        script_memory_mb=256,
    )

    chosen = script_isolation(settings)

    assert chosen.denied_ports == {5433, 6380, 9000, 9001}
    assert (chosen.mode, chosen.memory_mb) == ("bubblewrap", 256)


def test_default_ports_are_denied_when_the_urls_name_none() -> None:
    settings = Settings(database_url="postgresql+asyncpg://u@db/x", redis_url="redis://cache/0")

    assert script_isolation(settings).denied_ports == {5432, 6379}


def test_a_bad_port_list_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTRUN_SCRIPT_DENIED_PORTS", "5432,postgres")

    with pytest.raises(ValidationError, match="script_denied_ports"):
        Settings()
