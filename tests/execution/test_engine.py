"""The engine end to end: runs started as the API starts them, replayed in real Chromium."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dramatiq.asyncio import get_event_loop_thread
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.claims import Claim
from execution.dispatch import QueueDispatcher
from execution.engine import Engine, reap
from models.database import transaction
from models.results import (
    CheckpointResult,
    ConsoleLog,
    ScriptResult,
    TestExecutionHistory,
    TestRunResult,
    TestStepResult,
)
from models.runs import TestRun, TestRunItem
from tests.execution.engine_harness import (
    Team,
    login_steps,
    rows,
    start_engine,
    step,
    stop_engine,
)


async def test_a_run_replays_each_test_case_and_completes_with_its_counts(
    running_engine: Engine, team: Team, site: str, stub_broker: StubBroker, artifacts: Path
) -> None:
    run_id = await team.run_of(
        [
            {"name": "Logs in", "proven_steps": login_steps(site)},
            {"name": "Wrong page", "proven_steps": login_steps(site, expect="/settings")},
            {"name": "Not recorded", "proven_steps": []},
        ]
    )

    await team.start(run_id, stub_broker)
    run = await team.wait_final(run_id)

    assert run.status == "completed"
    counts = (run.total_tests, run.passed_tests, run.failed_tests, run.no_run_tests)
    assert counts == (3, 1, 1, 1)
    assert float(run.pass_rate) == 33.33
    assert run.completed_at is not None and run.duration_ms > 0
    items = sorted(
        await rows(team, TestRunItem, test_run_id=run_id), key=lambda i: i.execution_order
    )
    assert [item.status for item in items] == ["passed", "failed", "no_run"]
    assert items[0].current_step == 5 and items[0].passed_steps == 5
    assert "Expected the URL to contain '/settings'" in (items[1].error_message or "")
    assert items[2].error_message == "The test case has no proven steps"

    passed = (await rows(team, TestRunResult, test_run_item_id=items[0].id))[0]
    steps = sorted(
        await rows(team, TestStepResult, test_run_result_id=passed.id), key=lambda s: s.step_number
    )
    assert [s.status for s in steps] == ["passed"] * 5
    assert all(s.playwright_code for s in steps)
    assert steps[1].input_value == "a@example.com"
    assert steps[1].selector  # the resolved selector of element 0 is stored
    assert passed.final_url and passed.final_url.endswith("/dashboard.html?email=a%40example.com")
    checkpoints = await rows(team, CheckpointResult, test_run_result_id=passed.id)
    assert sorted(c.status for c in checkpoints) == ["passed", "passed"]
    console = await rows(team, ConsoleLog, test_run_result_id=passed.id)
    assert any(c.message == "login page ready" and c.step_index == 0 for c in console)

    failed = (await rows(team, TestRunResult, test_run_item_id=items[1].id))[0]
    failed_steps = sorted(
        await rows(team, TestStepResult, test_run_result_id=failed.id), key=lambda s: s.step_number
    )
    assert [s.status for s in failed_steps] == ["passed", "passed", "passed", "failed", "skipped"]
    assert failed.error_step_number == 4
    assert failed.error_screenshot_path and (artifacts / failed.error_screenshot_path).is_file()
    assert failed_steps[3].screenshot_path == failed.error_screenshot_path
    history = await rows(team, TestExecutionHistory, test_run_id=run_id)
    assert sorted(h.status for h in history) == ["failed", "passed"]

    types = [event.type for event in await team.events(run_id)]
    assert types.count("step.completed") == 9
    assert types[-1] == "run.completed"


async def test_a_data_driven_test_case_gives_one_result_per_row(
    running_engine: Engine, team: Team, site: str, stub_broker: StubBroker
) -> None:
    run_id = await team.run_of(
        [
            {
                "proven_steps": login_steps(site, email="{{email}}"),
                "data_rows": [{"email": "ann@example.com"}, {"email": "bob@example.com"}],
            }
        ]
    )

    await team.start(run_id, stub_broker)
    await team.wait_final(run_id)

    (item,) = await rows(team, TestRunItem, test_run_id=run_id)
    assert (item.status, item.is_data_driven, item.total_iterations, item.passed_iterations) == (
        "passed",
        True,
        2,
        2,
    )
    results = sorted(
        await rows(team, TestRunResult, test_run_item_id=item.id), key=lambda r: r.iteration_number
    )
    assert [r.data_row_values for r in results] == [
        {"email": "ann@example.com"},
        {"email": "bob@example.com"},
    ]
    typed = [
        (await rows(team, TestStepResult, test_run_result_id=r.id, step_number=2))[0].input_value
        for r in results
    ]
    assert typed == ["ann@example.com", "bob@example.com"]


async def test_a_failed_test_case_is_retried_as_new_results(
    running_engine: Engine, team: Team, site: str, stub_broker: StubBroker
) -> None:
    run_id = await team.run_of(
        [{"proven_steps": login_steps(site, expect="/nowhere")}],
        retry_on_failure=True,
        retry_count=1,
    )

    await team.start(run_id, stub_broker)
    await team.wait_final(run_id)

    (item,) = await rows(team, TestRunItem, test_run_id=run_id)
    assert (item.status, item.retry_attempt, item.max_retries_exhausted) == ("failed", 1, True)
    results = await rows(team, TestRunResult, test_run_item_id=item.id)
    assert sorted(r.retry_attempt for r in results) == [0, 1]
    assert {r.status for r in results} == {"failed"}


async def test_a_critical_pre_script_failing_aborts_the_test_case(
    running_engine: Engine, team: Team, site: str, stub_broker: StubBroker
) -> None:
    setup = await team.script(
        name="Seed data",
        script_type="pre_execution",
        language="python",
        code="import sys\nprint('seeding')\nsys.exit(3)",
        is_critical=True,
        timeout_seconds=10,
    )
    cleanup = await team.script(
        name="Clean up",
        script_type="post_execution",
        language="shell",
        code="echo cleaned >&2",
        is_critical=False,
        timeout_seconds=10,
    )
    run_id = await team.run_of(
        [
            {
                "proven_steps": login_steps(site),
                "pre_script_ids": [setup.id],
                "post_script_ids": [cleanup.id],
            }
        ]
    )

    await team.start(run_id, stub_broker)
    await team.wait_final(run_id)

    (item,) = await rows(team, TestRunItem, test_run_id=run_id)
    (result,) = await rows(team, TestRunResult, test_run_item_id=item.id)
    assert (item.status, result.pre_script_aborted) == ("failed", True)
    assert result.error_message == "Critical pre-script 'Seed data' failed: Exited with code 3"
    assert result.skipped_steps == 5
    scripts = {
        s.script_name: s for s in await rows(team, ScriptResult, test_run_result_id=result.id)
    }
    assert (scripts["Seed data"].exit_code, scripts["Seed data"].stdout) == (3, "seeding\n")
    assert (scripts["Clean up"].status, scripts["Clean up"].stderr) == ("passed", "cleaned\n")
    assert (result.total_pre_scripts, result.failed_pre_scripts, result.passed_post_scripts) == (
        1,
        1,
        1,
    )


async def test_stop_ends_a_waiting_test_case_and_skips_the_rest(
    running_engine: Engine, team: Team, site: str, stub_broker: StubBroker
) -> None:
    run_id = await team.run_of(
        [
            {
                "proven_steps": [
                    step(1, "navigate_to", url=f"{site}/login.html"),
                    step(2, "wait", seconds=60),
                    step(3, "click_element", index=1),
                ]
            },
            {"proven_steps": login_steps(site)},
        ]
    )
    await team.start(run_id, stub_broker)
    for _ in range(300):
        items = await rows(team, TestRunItem, test_run_id=run_id)
        if any(item.current_step == 2 for item in items):  # the wait is executing now
            break
        await asyncio.sleep(0.05)

    await team.stop(run_id, stub_broker)
    loop = asyncio.get_running_loop()
    stopped_at = loop.time()
    for _ in range(200):
        results = await rows(team, TestRunResult, test_run_id=run_id)
        if results and all(r.completed_at is not None for r in results):
            break
        await asyncio.sleep(0.05)
    ended_after = loop.time() - stopped_at

    run = await team.run(run_id)
    assert run.status == "cancelled"
    assert ended_after < 10  # far less than the 60 s wait: the step noticed the stop
    (result,) = results
    steps = sorted(
        await rows(team, TestStepResult, test_run_result_id=result.id), key=lambda s: s.step_number
    )
    assert [s.status for s in steps] == ["passed", "failed", "skipped"]
    assert (result.status, result.error_message) == ("skipped", "Stopped")
    statuses = sorted(item.status for item in await rows(team, TestRunItem, test_run_id=run_id))
    assert statuses == ["skipped", "skipped"]


async def test_a_sandbox_that_cannot_start_fails_its_test_case(
    migrated_database_url: str,
    committing_session_factory: async_sessionmaker[AsyncSession],
    stub_broker: StubBroker,
    team: Team,
    site: str,
    tmp_path: Path,
) -> None:
    broken = tmp_path / "not-a-browser"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    engine, worker = start_engine(migrated_database_url, stub_broker, tmp_path, chromium=broken)
    try:
        run_id = await team.run_of([{"proven_steps": login_steps(site)}] * 2)
        await team.start(run_id, stub_broker)
        run = await team.wait_final(run_id)
    finally:
        stop_engine(engine, worker)

    assert (run.status, run.failed_tests) == ("completed", 2)
    for item in await rows(team, TestRunItem, test_run_id=run_id):
        assert item.error_message and item.error_message.startswith("Could not start Chromium")


async def test_a_duplicate_message_does_not_execute_an_item_twice(
    running_engine: Engine, team: Team, site: str, stub_broker: StubBroker
) -> None:
    run_id = await team.run_of([{"proven_steps": login_steps(site)}])
    await team.start(run_id, stub_broker)
    await team.wait_final(run_id)
    (item,) = await rows(team, TestRunItem, test_run_id=run_id)

    loop = get_event_loop_thread()
    assert loop is not None
    loop.run_coroutine(QueueDispatcher(stub_broker).send_items([Claim(item.id, item.attempt)]))
    stub_broker.join("runs")

    assert len(await rows(team, TestRunResult, test_run_item_id=item.id)) == 1


async def test_items_run_one_at_a_time_unless_parallel(
    running_engine: Engine, team: Team, site: str, stub_broker: StubBroker
) -> None:
    waiting = [step(1, "navigate_to", url=f"{site}/login.html"), step(2, "wait", seconds=1)]
    serial = await team.run_of([{"proven_steps": waiting}] * 3)
    parallel = await team.run_of(
        [{"proven_steps": waiting}] * 3, parallel_enabled=True, parallel_count=2
    )

    for run_id in (serial, parallel):
        await team.start(run_id, stub_broker)
    for run_id in (serial, parallel):
        await team.wait_final(run_id)

    async def most_at_once(run_id: uuid.UUID) -> int:
        running, most = 0, 0
        for event in await team.events(run_id):
            if event.type == "item.claimed":
                running += 1
            elif event.type == "item.updated" and event.payload.get("status") in (
                "passed",
                "failed",
            ):
                running -= 1
            most = max(most, running)
        return most

    assert await most_at_once(serial) == 1
    assert await most_at_once(parallel) == 2


async def test_the_reaper_hands_a_lost_item_to_a_new_execution(
    running_engine: Engine, team: Team, site: str, stub_broker: StubBroker
) -> None:
    run_id = await team.run_of([{"proven_steps": login_steps(site)}])
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    async with transaction(team.sessions) as session:  # as a worker that died mid-item left it
        await session.execute(
            update(TestRun)
            .where(TestRun.id == run_id)
            .values(status="running", started_at=long_ago)
        )
        await session.execute(
            update(TestRunItem)
            .where(TestRunItem.test_run_id == run_id)
            .values(status="running", attempt=1, heartbeat_at=long_ago, claimed_by="gone:1")
        )

    loop = get_event_loop_thread()
    assert loop is not None
    reaped = loop.run_coroutine(reap(running_engine.sessions, QueueDispatcher(stub_broker)))
    run = await team.wait_final(run_id)

    assert reaped == 1
    (item,) = await rows(team, TestRunItem, test_run_id=run_id)
    assert (run.status, item.status, item.attempt) == ("completed", "passed", 2)
    assert "item.requeued" in [event.type for event in await team.events(run_id)]
