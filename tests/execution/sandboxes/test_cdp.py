"""The `cdp` sandbox over a fleet of two real Chromium processes serving DevTools."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from dramatiq.brokers.stub import StubBroker

from execution.engine import Engine
from execution.sandboxes.base import SandboxSpec, SandboxUnavailable
from execution.sandboxes.cdp import SCRIPTS_REFUSED, CdpSandbox, CdpSandboxProvider
from models.results import ScriptResult, TestRunResult
from models.runs import TestRunItem
from server.embedded import free_port
from tests.execution.engine_harness import Team, login_steps, rows, start_engine, stop_engine
from tests.fixtures.chromium_fleet import FleetBrowser, devtools_contexts


def spec() -> SandboxSpec:
    return SandboxSpec(run_id=uuid.uuid4(), item_id=uuid.uuid4())


def nothing_listens() -> str:
    """A DevTools URL on a port nobody listens on (a fleet member that is down)."""
    return f"http://127.0.0.1:{free_port()}"


async def test_contexts_go_to_the_least_loaded_endpoint_and_close_there(
    fleet: list[FleetBrowser],
) -> None:
    provider = CdpSandboxProvider([browser.url for browser in fleet])
    sandboxes = await asyncio.gather(*(provider.create(spec()) for _ in range(4)))

    # Each context comes with its first tab open.
    assert [len(sandbox.context.pages) for sandbox in sandboxes] == [1, 1, 1, 1]
    assert [devtools_contexts(browser.url) for browser in fleet] == [2, 2]

    await sandboxes[0].close()
    await sandboxes[1].close()
    await sandboxes[0].close()  # twice is harmless
    # One slot freed on each endpoint or two on one: the next goes where fewest are open.
    loads = [endpoint.open_contexts for endpoint in provider.endpoints]
    fifth = await provider.create(spec())
    assert fifth.endpoint.open_contexts == min(loads) + 1
    for sandbox in [*sandboxes[2:], fifth]:
        await sandbox.close()
    assert [devtools_contexts(browser.url) for browser in fleet] == [0, 0]
    await provider.aclose()
    # Disconnecting leaves the fleet's browsers running for the next worker.
    for browser in fleet:
        assert httpx.get(f"{browser.url}/json/version", timeout=5).status_code == 200


async def test_an_endpoint_opens_no_more_contexts_at_once_than_its_gate_lets_through(
    fleet: list[FleetBrowser],
) -> None:
    provider = CdpSandboxProvider([fleet[0].url], opening_per_endpoint=2)
    [endpoint] = provider.endpoints
    seen: list[int] = []

    async def watch() -> None:
        while True:
            seen.append(endpoint.opening)
            await asyncio.sleep(0)

    watching = asyncio.create_task(watch())
    sandboxes = await asyncio.gather(*(provider.create(spec()) for _ in range(6)))
    watching.cancel()

    # Six asked at once: never more than two opening, and all six opened in the end.
    assert max(seen) == 2
    assert endpoint.opening == 0
    assert devtools_contexts(fleet[0].url) == 6
    for sandbox in sandboxes:
        await sandbox.close()
    await provider.aclose()


async def test_a_data_row_gets_a_fresh_context_on_the_same_endpoint(
    fleet: list[FleetBrowser], site: str
) -> None:
    provider = CdpSandboxProvider([browser.url for browser in fleet])
    sandbox = await provider.create(spec())
    assert isinstance(sandbox, CdpSandbox)
    page = await sandbox.context.new_page()
    await page.goto(f"{site}/login.html")
    await page.evaluate("localStorage.setItem('row', '1')")

    context = await sandbox.fresh_context()
    page = await context.new_page()
    await page.goto(f"{site}/login.html")

    assert await page.evaluate("localStorage.getItem('row')") is None
    assert await page.evaluate("navigator.userAgent") in {b.user_agent for b in fleet}
    assert sandbox.endpoint.open_contexts == 1
    await sandbox.close()
    await provider.aclose()


async def test_an_endpoint_that_does_not_answer_is_skipped(fleet: list[FleetBrowser]) -> None:
    down = nothing_listens()
    provider = CdpSandboxProvider([down, fleet[0].url])

    created = [await provider.create(spec()) for _ in range(3)]

    assert {sandbox.endpoint.url for sandbox in created} == {fleet[0].url}
    for sandbox in created:
        await sandbox.close()
    await provider.aclose()


async def test_no_endpoint_answering_is_a_sandbox_unavailable_naming_each() -> None:
    down = [nothing_listens(), nothing_listens()]
    provider = CdpSandboxProvider(down)

    with pytest.raises(SandboxUnavailable) as raised:
        await provider.create(spec())

    message = str(raised.value)
    assert message.startswith("No Chrome DevTools endpoint of TESTRUN_CDP_URLS answered: ")
    assert all(url in message for url in down)
    assert [endpoint.open_contexts for endpoint in provider.endpoints] == [0, 0]
    await provider.aclose()


async def test_items_of_one_run_spread_over_the_fleet(
    cdp_engine: Engine, team: Team, site: str, stub_broker: StubBroker, fleet: list[FleetBrowser]
) -> None:
    run_id = await team.run_of(
        [{"proven_steps": login_steps(site)} for _ in range(4)],
        parallel_enabled=True,
        parallel_count=4,
    )

    await team.start(run_id, stub_broker)
    run = await team.wait_final(run_id, timeout_s=60)

    assert (run.status, run.passed_tests) == ("completed", 4)
    results = await rows(team, TestRunResult, test_run_id=run_id)
    browsers = sorted(result.environment_info["user_agent"] for result in results)
    assert browsers == sorted([fleet[0].user_agent] * 2 + [fleet[1].user_agent] * 2)
    assert [devtools_contexts(browser.url) for browser in fleet] == [0, 0]


async def test_a_dead_fleet_fails_the_item_saying_so(
    migrated_database_url: str, stub_broker: StubBroker, artifacts: Path, team: Team, site: str
) -> None:
    down = nothing_listens()
    provider = CdpSandboxProvider([down], connect_timeout_s=2)
    engine, worker = start_engine(migrated_database_url, stub_broker, artifacts, provider=provider)
    try:
        run_id = await team.run_of([{"proven_steps": login_steps(site)}])
        await team.start(run_id, stub_broker)
        run = await team.wait_final(run_id)
    finally:
        stop_engine(engine, worker)

    (item,) = await rows(team, TestRunItem, test_run_id=run_id)
    (result,) = await rows(team, TestRunResult, test_run_item_id=item.id)
    assert (run.status, item.status, result.status) == ("completed", "failed", "failed")
    assert result.error_message is not None
    assert result.error_message.startswith("No Chrome DevTools endpoint of TESTRUN_CDP_URLS")
    assert down in result.error_message


async def test_python_scripts_are_refused_with_remote_browsers(
    cdp_engine: Engine, team: Team, site: str, stub_broker: StubBroker
) -> None:
    setup = await team.script(name="Seed", language="python", code="print('x')", is_critical=True)
    run_id = await team.run_of([{"proven_steps": login_steps(site), "pre_script_ids": [setup.id]}])

    await team.start(run_id, stub_broker)
    await team.wait_final(run_id)

    (result,) = await rows(team, TestRunResult, test_run_id=run_id)
    (script,) = await rows(team, ScriptResult, test_run_result_id=result.id)
    assert (result.status, result.pre_script_aborted) == ("failed", True)
    assert (script.status, script.exit_code, script.error_message) == (
        "failed",
        None,
        SCRIPTS_REFUSED,
    )


async def test_a_browser_of_the_fleet_killed_mid_way_is_passed_over(
    fleet: list[FleetBrowser],
) -> None:
    provider = CdpSandboxProvider([browser.url for browser in fleet])
    first = [await provider.create(spec()) for _ in range(2)]
    assert {sandbox.endpoint.url for sandbox in first} == {fleet[0].url, fleet[1].url}
    fleet[0].process.kill()  # SIGKILL: its connection and contexts vanish
    fleet[0].process.wait(timeout=10)

    for sandbox in first:
        await sandbox.close()  # the dead one's close does not raise
    after = [await provider.create(spec()) for _ in range(3)]

    assert {sandbox.endpoint.url for sandbox in after} == {fleet[1].url}
    assert [endpoint.open_contexts for endpoint in provider.endpoints] == [0, 3]
    for sandbox in after:
        await sandbox.close()
    await provider.aclose()
