"""On-demand scripts run right after their step in real runs, and count in the result."""

from __future__ import annotations

import http.server
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import text

from execution.engine import Engine
from models.database import transaction
from models.results import ScriptResult, TestRunResult, TestStepResult
from models.runs import TestRunItem
from tests.execution.engine_harness import Team, login_steps, rows, serve_handler, step


async def on_demand(team: Team, name: str, step: int, language: str, code: str, **fields: object):
    return await team.script(
        name=name,
        script_type="on_demand",
        attached_to_step=step,
        language=language,
        code=code,
        **({"is_critical": False} | fields),
    )


async def replay(
    team: Team, site: str, stub_broker: StubBroker, scripts: list
) -> tuple[TestRunItem, TestRunResult, list[ScriptResult]]:
    run_id = await team.run_of(
        [{"proven_steps": login_steps(site), "on_demand_script_ids": [s.id for s in scripts]}]
    )
    await team.start(run_id, stub_broker)
    await team.wait_final(run_id)
    (item,) = await rows(team, TestRunItem, test_run_id=run_id)
    (result,) = await rows(team, TestRunResult, test_run_item_id=item.id)
    found = await rows(team, ScriptResult, test_run_result_id=result.id)
    return item, result, sorted(found, key=lambda s: s.executed_at)


async def test_each_runs_right_after_its_step_and_counts(
    running_engine: Engine, team: Team, site: str, stub_broker: StubBroker
) -> None:
    # Attached out of order on purpose: they run by step, not by their place in the list.
    after_click = await on_demand(team, "After login", 3, "javascript", "return document.title")
    after_open = await on_demand(team, "After opening", 1, "javascript", "return document.title")
    flaky = await on_demand(team, "Flaky check", 4, "shell", "echo nope >&2; exit 2")

    item, result, scripts = await replay(team, site, stub_broker, [after_click, after_open, flaky])

    assert (item.status, result.status, result.error_message) == ("passed", "passed", None)
    assert [(s.script_name, s.status, s.stdout) for s in scripts] == [
        ("After opening", "passed", '"Login"'),
        ("After login", "passed", '"Dashboard"'),
        ("Flaky check", "failed", ""),
    ]
    assert scripts[2].error_message == "Exited with code 2"
    counts = (
        result.total_on_demand_scripts,
        result.passed_on_demand_scripts,
        result.failed_on_demand_scripts,
    )
    assert counts == (3, 2, 1)
    steps = await rows(team, TestStepResult, test_run_result_id=result.id)
    started = {s.step_number: s.started_at for s in steps}
    ended = {s.step_number: s.completed_at for s in steps}
    assert ended[1] <= scripts[0].executed_at <= started[2]
    assert ended[3] <= scripts[1].executed_at <= started[4]


class SlowDashboard(http.server.BaseHTTPRequestHandler):
    """A login page whose button leads to a dashboard sent in two parts, a second apart."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        if self.path.startswith("/login"):
            self.wfile.write(b'<!doctype html><title>Login</title><a href="/dashboard">Go</a>')
            return
        self.wfile.write(b"<!doctype html><html><head>" + b" " * 2048)
        self.wfile.flush()
        time.sleep(1)
        self.wfile.write(b"<title>Dashboard</title></head><body>Welcome</body></html>")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def slow_site() -> Iterator[str]:
    with serve_handler(SlowDashboard) as url:
        yield url


async def test_one_after_a_click_that_navigates_sees_the_new_page_parsed(
    running_engine: Engine, team: Team, slow_site: str, stub_broker: StubBroker
) -> None:
    # The click ends when the dashboard's first bytes commit; its title comes a second later.
    title = await on_demand(team, "Title", 2, "javascript", "return document.title")
    run_id = await team.run_of(
        [
            {
                "proven_steps": [
                    step(1, "navigate_to", url=f"{slow_site}/login"),
                    step(2, "click_element", text="Go"),
                ],
                "on_demand_script_ids": [title.id],
            }
        ]
    )
    await team.start(run_id, stub_broker)
    await team.wait_final(run_id)
    (item,) = await rows(team, TestRunItem, test_run_id=run_id)
    (result,) = await rows(team, TestRunResult, test_run_item_id=item.id)
    (script,) = await rows(team, ScriptResult, test_run_result_id=result.id)

    assert (result.status, script.status, script.stdout) == ("passed", "passed", '"Dashboard"')


async def test_a_critical_one_that_fails_fails_the_result_naming_it(
    running_engine: Engine, team: Team, site: str, stub_broker: StubBroker
) -> None:
    check = await on_demand(
        team, "Check seed", 2, "python", "import sys\nsys.exit(4)", is_critical=True
    )
    later = await on_demand(team, "Never reached", 4, "shell", "echo reached")

    item, result, scripts = await replay(team, site, stub_broker, [check, later])

    assert (item.status, result.status) == ("failed", "failed")
    assert result.error_message == (
        "Critical on-demand script 'Check seed' after step 2 failed: Exited with code 4"
    )
    assert result.error_step_number == 2
    assert (result.passed_steps, result.skipped_steps) == (2, 3)
    assert [s.script_name for s in scripts] == ["Check seed"]
    assert (result.total_on_demand_scripts, result.failed_on_demand_scripts) == (1, 1)


@pytest.fixture
async def refused_script_name(team: Team) -> AsyncIterator[str]:
    """A script name the database refuses to store (a real CHECK constraint, dropped after)."""
    async with transaction(team.sessions) as session:
        await session.execute(
            text(
                "ALTER TABLE script_results ADD CONSTRAINT test_refused_name "
                "CHECK (script_name <> 'Unstorable')"
            )
        )
    try:
        yield "Unstorable"
    finally:
        async with transaction(team.sessions) as session:
            await session.execute(
                text("ALTER TABLE script_results DROP CONSTRAINT test_refused_name")
            )


async def test_a_result_that_cannot_be_stored_ends_the_replay_after_its_step(
    running_engine: Engine,
    team: Team,
    site: str,
    stub_broker: StubBroker,
    refused_script_name: str,
) -> None:
    unstorable = await on_demand(team, refused_script_name, 2, "shell", "echo checked")

    item, result, scripts = await replay(team, site, stub_broker, [unstorable])

    assert (item.status, result.status) == ("failed", "failed")
    assert result.error_message is not None
    assert result.error_message.startswith("Could not record script 'Unstorable': ")
    assert "test_refused_name" in result.error_message
    assert result.error_step_number == 2
    assert (result.passed_steps, result.skipped_steps) == (2, 3)
    assert scripts == []
