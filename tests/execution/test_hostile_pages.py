"""Pages that misbehave never wedge a run: every value is stored, every page event handled.

Each test replays real Chromium against tests/execution/hostile_site.py through the real
engine, then reads the stored rows. In every case the run completes, nothing is left
running or open, and step numbers are unique within each result.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.engine import Engine
from models.database import transaction
from models.results import ConsoleLog, NetworkLog, TestRunResult, TestStepResult
from models.runs import TestRunItem
from tests.execution.engine_harness import Team, rows, step
from tests.execution.hostile_site import BEACONS, LONG_SCRIPT, MEGABYTE_LINE, serve_hostile_site


@pytest.fixture
def hostile() -> Iterator[str]:
    with serve_hostile_site() as url:
        yield url


async def _run(team: Team, broker: StubBroker, cases: list[dict]) -> uuid.UUID:
    run_id = await team.run_of(cases)
    await team.start(run_id, broker)
    run = await team.wait_final(run_id, timeout_s=120)
    assert run.status == "completed"
    return run_id


async def _results_of(team: Team, run_id: uuid.UUID) -> dict[str, TestRunResult]:
    """The run's results by test case name, after checking nothing is left open or doubled."""
    items = await rows(team, TestRunItem, test_run_id=run_id)
    assert all(item.status in ("passed", "failed") for item in items), [i.status for i in items]
    results = await rows(team, TestRunResult, test_run_id=run_id)
    assert all(result.completed_at is not None for result in results)
    names = {}
    for item in items:
        async with team.sessions() as session:
            name = await session.scalar(
                text("SELECT name FROM test_cases WHERE id = :id"), {"id": item.test_case_id}
            )
        (names[name],) = [r for r in results if r.test_run_item_id == item.id]
    for result in results:
        steps = await rows(team, TestStepResult, test_run_result_id=result.id)
        numbers = Counter(s.step_number for s in steps)
        assert all(count == 1 for count in numbers.values()), numbers
    return names


async def _steps(team: Team, result: TestRunResult) -> list[TestStepResult]:
    found = await rows(team, TestStepResult, test_run_result_id=result.id)
    return sorted(found, key=lambda s: s.step_number)


async def test_long_urls_a_megabyte_line_and_a_long_script_source_are_stored_cut(
    running_engine: Engine, team: Team, hostile: str, stub_broker: StubBroker
) -> None:
    run_id = await _run(
        team,
        stub_broker,
        [
            {
                "name": "Long values",
                "proven_steps": [
                    step(1, "navigate_to", url=f"{hostile}/long.html"),
                    step(2, "wait", seconds=0.5),
                    step(3, "assert_text_present", text="Loaded"),
                ],
            }
        ],
    )

    (result,) = (await _results_of(team, run_id)).values()
    assert result.status == "passed", result.error_message
    assert [s.status for s in await _steps(team, result)] == ["passed"] * 3
    network = await rows(team, NetworkLog, test_run_result_id=result.id)
    beacons = sorted((n for n in network if "/beacon?" in n.url), key=lambda n: n.url)
    assert len(beacons) == 2
    for beacon, query in zip(beacons, BEACONS, strict=True):
        full = f"{hostile}/beacon?{query}"
        assert len(beacon.url) == min(len(full), 2_000)
        if len(full) > 2_000:
            assert beacon.url.endswith(f"…[truncated from {len(full):,} characters]")
        else:
            assert beacon.url == full
    console = await rows(team, ConsoleLog, test_run_result_id=result.id)
    (line,) = [c for c in console if c.message.startswith("mmmm")]
    assert len(line.message) == 100_000
    assert line.message.endswith(f"…[truncated from {len(MEGABYTE_LINE):,} characters]")
    (scripted,) = [c for c in console if c.message == "from a script with a long URL"]
    assert scripted.source is not None and len(scripted.source) == 500
    assert scripted.source.startswith(f"{hostile}{LONG_SCRIPT[:50]}")


async def test_dialogs_are_answered_and_logged_and_a_step_may_accept(
    running_engine: Engine, team: Team, hostile: str, stub_broker: StubBroker
) -> None:
    run_id = await _run(
        team,
        stub_broker,
        [
            {
                "name": "Dialogs",
                "proven_steps": [
                    step(1, "navigate_to", url=f"{hostile}/dialogs.html"),
                    step(2, "click_element", index=0, dialog="accept"),
                    step(3, "assert_text_present", text="confirmed"),
                    step(4, "click_element", index=0),
                    step(5, "assert_text_present", text="declined"),
                ],
            }
        ],
    )

    (result,) = (await _results_of(team, run_id)).values()
    assert result.status == "passed", result.error_message
    console = [c.message for c in await rows(team, ConsoleLog, test_run_result_id=result.id)]
    assert "Dialog (alert) dismissed: Welcome to the dialogs page" in console
    assert "Dialog (confirm) accepted: Really go on?" in console
    assert "Dialog (confirm) dismissed: Really go on?" in console


async def test_later_steps_act_on_a_new_tab_and_every_step_names_its_window(
    running_engine: Engine, team: Team, hostile: str, stub_broker: StubBroker
) -> None:
    run_id = await _run(
        team,
        stub_broker,
        [
            {
                "name": "Tabs",
                "proven_steps": [
                    step(1, "navigate_to", url=f"{hostile}/tabs.html"),
                    step(2, "click_element", index=0),
                    step(3, "assert_title_contains", expected_text="Second page"),
                    step(4, "assert_text_present", text="On the second tab"),
                ],
            }
        ],
    )

    (result,) = (await _results_of(team, run_id)).values()
    assert result.status == "passed", result.error_message
    steps = await _steps(team, result)
    assert steps[0].window_id == "tab-1"
    assert steps[0].window_title == "Tabs"
    assert [(s.window_id, s.window_title) for s in steps[2:]] == [("tab-2", "Second page")] * 2
    assert result.final_url == f"{hostile}/second.html"
    assert result.initial_url == f"{hostile}/tabs.html"


async def test_each_step_names_the_title_its_tab_has_after_it(
    running_engine: Engine, team: Team, hostile: str, stub_broker: StubBroker
) -> None:
    """A title changes with a navigation in the same tab, or with the URL a script pushes."""
    run_id = await _run(
        team,
        stub_broker,
        [
            {
                "name": "Titles",
                "proven_steps": [
                    step(1, "navigate_to", url=f"{hostile}/inbox.html"),
                    step(2, "click_element", index=1),
                    step(3, "assert_url_contains", expected_text="#7"),
                    step(4, "navigate_to", url=f"{hostile}/inbox.html"),
                    step(5, "click_element", index=0),
                    step(6, "assert_text_present", text="On the second tab"),
                ],
            }
        ],
    )

    (result,) = (await _results_of(team, run_id)).values()
    assert result.status == "passed", result.error_message
    titles = [(s.window_id, s.window_title) for s in await _steps(team, result)]
    assert titles == [
        ("tab-1", "Inbox"),
        ("tab-1", "Message 7"),
        ("tab-1", "Message 7"),
        ("tab-1", "Inbox"),
        ("tab-1", "Second page"),
        ("tab-1", "Second page"),
    ]


async def test_a_prompt_is_answered_with_the_steps_text_and_beforeunload_as_a_step_says(
    running_engine: Engine, team: Team, hostile: str, stub_broker: StubBroker
) -> None:
    """A dismissed beforeunload keeps the page, so leaving it fails; an accepted one leaves."""
    draft = [
        step(1, "navigate_to", url=f"{hostile}/draft.html"),
        step(2, "input_text", index=0, text="half written"),
    ]
    run_id = await _run(
        team,
        stub_broker,
        [
            {
                "name": "Prompt",
                "proven_steps": [
                    step(1, "navigate_to", url=f"{hostile}/prompt.html"),
                    step(2, "click_element", index=0, dialog="accept", dialog_text="Ann"),
                    step(3, "assert_text_present", text="Hello Ann"),
                ],
            },
            {
                "name": "Leave",
                "proven_steps": [
                    *draft,
                    step(3, "navigate_to", url=f"{hostile}/second.html", dialog="accept"),
                    step(4, "assert_text_present", text="On the second tab"),
                ],
            },
            {
                "name": "Stay",
                "proven_steps": [
                    *draft,
                    step(3, "navigate_to", url=f"{hostile}/second.html"),
                    step(4, "assert_text_present", text="On the second tab"),
                ],
            },
        ],
    )

    results = await _results_of(team, run_id)
    assert results["Prompt"].status == "passed", results["Prompt"].error_message
    assert results["Leave"].status == "passed", results["Leave"].error_message
    stay = results["Stay"]
    assert stay.status == "failed"
    assert [s.status for s in await _steps(team, stay)] == ["passed", "passed", "failed", "skipped"]
    assert stay.error_step_number == 3
    assert stay.final_url == f"{hostile}/draft.html"
    logged = {
        name: [c.message for c in await rows(team, ConsoleLog, test_run_result_id=result.id)]
        for name, result in results.items()
    }
    assert "Dialog (prompt) accepted: Your name?" in logged["Prompt"]
    assert "Dialog (beforeunload) accepted: " in logged["Leave"]
    assert "Dialog (beforeunload) dismissed: " in logged["Stay"]


async def test_a_renderer_crash_fails_its_step_with_that_reason(
    running_engine: Engine, team: Team, hostile: str, stub_broker: StubBroker
) -> None:
    # Running out of memory takes seconds, more on a busy machine: the step may wait for it.
    running_engine.step_timeout_ms = 120_000
    run_id = await _run(
        team,
        stub_broker,
        [
            {
                "name": "Crash",
                "proven_steps": [
                    step(1, "navigate_to", url=f"{hostile}/crash.html"),
                    step(2, "click_element", index=0),
                    step(3, "assert_text_present", text="Loaded"),
                ],
            }
        ],
    )

    (result,) = (await _results_of(team, run_id)).values()
    assert result.status == "failed"
    steps = await _steps(team, result)
    assert [s.status for s in steps] == ["passed", "failed", "skipped"]
    assert steps[1].error_message is not None
    assert steps[1].error_message.startswith("The page's renderer crashed")
    assert result.error_step_number == 2
    console = [c.message for c in await rows(team, ConsoleLog, test_run_result_id=result.id)]
    assert "The page's renderer crashed" in console


async def test_a_download_is_saved_with_the_result_and_listed(
    running_engine: Engine, team: Team, hostile: str, stub_broker: StubBroker, artifacts: Path
) -> None:
    run_id = await _run(
        team,
        stub_broker,
        [
            {
                "name": "Download",
                "proven_steps": [
                    step(1, "navigate_to", url=f"{hostile}/download.html"),
                    step(2, "click_element", index=0),
                    step(3, "wait", seconds=0.5),
                ],
            }
        ],
    )

    (result,) = (await _results_of(team, run_id)).values()
    assert result.status == "passed", result.error_message
    (download,) = result.captured_downloads
    assert download["file_name"] == "report.csv"
    assert download["url"] == f"{hostile}/report.csv"
    assert download["step_number"] == 2
    saved = artifacts / download["path"]
    assert saved.read_text() == "name,result\nlogin,passed\n"
    assert download["size_bytes"] == saved.stat().st_size
    assert result.downloads_folder and saved.parent == artifacts / result.downloads_folder


async def test_pages_that_never_finish_or_never_answer_fail_their_step_with_the_reason(
    running_engine: Engine, team: Team, hostile: str, stub_broker: StubBroker
) -> None:
    run_id = await _run(
        team,
        stub_broker,
        [
            {
                "name": "Never loads",
                "proven_steps": [
                    step(1, "navigate_to", url=f"{hostile}/never.html"),
                    step(2, "assert_text_present", text="Loaded"),
                ],
            },
            {
                "name": "Busy forever",
                "proven_steps": [
                    step(1, "navigate_to", url=f"{hostile}/busy.html"),
                    step(2, "wait", seconds=1),
                    step(3, "assert_text_present", text="Ready"),
                    step(4, "assert_text_present", text="Ready"),
                ],
            },
            {
                "name": "Not the web",
                "proven_steps": [step(1, "navigate_to", url="file:///etc/passwd")],
            },
        ],
    )

    results = await _results_of(team, run_id)
    never = results["Never loads"]
    assert never.status == "failed"
    assert never.error_step_number == 1
    assert "timed out after" in (never.error_message or "")
    assert [s.status for s in await _steps(team, never)] == ["failed", "skipped"]
    busy = results["Busy forever"]
    assert (busy.status, busy.error_step_number) == ("failed", 3)
    assert "the page stopped answering" in (busy.error_message or "")
    assert [s.status for s in await _steps(team, busy)] == ["passed", "passed", "failed", "skipped"]
    web = results["Not the web"]
    assert web.error_message == (
        "Could not open file:///etc/passwd: only http and https URLs are opened, not a file: URL"
    )


async def test_each_data_row_starts_in_a_fresh_browser_context(
    running_engine: Engine, team: Team, hostile: str, stub_broker: StubBroker
) -> None:
    logs_in = [
        step(1, "navigate_to", url=f"{hostile}/app.html"),
        step(2, "assert_text_present", text="Logged out"),
        step(3, "click_element", index=0),
        step(4, "assert_text_present", text="Logged in as ann"),
    ]
    run_id = await _run(
        team,
        stub_broker,
        [{"name": "Rows", "proven_steps": logs_in, "data_rows": [{"row": 1}, {"row": 2}]}],
    )

    results = await rows(team, TestRunResult, test_run_id=run_id)
    assert sorted((r.iteration_number, r.status) for r in results) == [
        (1, "passed"),
        (2, "passed"),
    ]
    for result in results:
        info = result.environment_info
        assert info["browser"] == "chromium" and info["browser_version"]
        assert "Chrome/" in info["user_agent"] and info["os"]
        assert info["viewport"]["width"] > 0
        assert result.initial_url == f"{hostile}/app.html"


async def test_a_step_announces_itself_before_it_runs(
    running_engine: Engine, team: Team, hostile: str, stub_broker: StubBroker
) -> None:
    run_id = await _run(
        team,
        stub_broker,
        [
            {
                "name": "Announced",
                "proven_steps": [
                    step(1, "navigate_to", url=f"{hostile}/tabs.html"),
                    step(2, "wait", seconds=0.2),
                ],
            },
            {
                "name": "Ends at a failure",
                "proven_steps": [
                    step(1, "navigate_to", url=f"{hostile}/tabs.html"),
                    step(2, "assert_text_present", text="Not on this page"),
                    step(3, "wait", seconds=0.2),
                ],
            },
        ],
    )

    results = await _results_of(team, run_id)
    events = await team.events(run_id)

    def steps_of(name: str) -> list[tuple[str, int]]:
        return [
            (row.type, row.payload["step_number"])
            for row in events
            if row.type in ("step.started", "step.completed")
            and row.payload["result_id"] == str(results[name].id)
        ]

    assert steps_of("Announced") == [
        ("step.started", 1),
        ("step.completed", 1),
        ("step.started", 2),
        ("step.completed", 2),
    ]
    # a failed step announces nothing after it: step 3 never started
    assert steps_of("Ends at a failure") == [
        ("step.started", 1),
        ("step.completed", 1),
        ("step.started", 2),
        ("step.completed", 2),
    ]


POISON = "poison"


@pytest.fixture
async def poisoned_steps(
    committing_session_factory: async_sessionmaker[AsyncSession],
) -> Iterator[None]:
    """A real database error for any step row that typed POISON (a trigger, dropped after)."""
    async with transaction(committing_session_factory) as session:
        await session.execute(
            text(
                f"""CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN
                IF NEW.input_value = '{POISON}' THEN
                    RAISE EXCEPTION 'disk full while writing the step';
                END IF; RETURN NEW; END $$ LANGUAGE plpgsql"""
            )
        )
        await session.execute(
            text(
                "CREATE TRIGGER refuse_poison BEFORE INSERT ON test_step_results "
                "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
            )
        )
    yield
    async with transaction(committing_session_factory) as session:
        await session.execute(text("DROP TRIGGER refuse_poison ON test_step_results"))
        await session.execute(text("DROP FUNCTION refuse_poison()"))


async def test_a_database_error_while_recording_ends_the_item_once_without_replaying(
    running_engine: Engine,
    team: Team,
    site: str,
    stub_broker: StubBroker,
    poisoned_steps: None,
) -> None:
    run_id = await _run(
        team,
        stub_broker,
        [
            {
                "name": "Poisoned",
                "proven_steps": [
                    step(1, "navigate_to", url=f"{site}/login.html"),
                    step(2, "input_text", index=0, text=POISON),
                    step(3, "click_element", index=1),
                ],
            }
        ],
    )

    (result,) = (await _results_of(team, run_id)).values()
    assert result.status == "failed"
    assert result.error_step_number == 2
    assert result.error_message == ("Could not record step 2: disk full while writing the step")
    steps = await _steps(team, result)
    # Step 2 was being stored while step 3 played (it followed at once): step 3 is kept as
    # it went, and the replay ends at step 2 all the same.
    assert [(s.step_number, s.status) for s in steps] == [
        (1, "passed"),
        (2, "failed"),
        (3, "passed"),
    ]
    assert steps[1].error_message == result.error_message
    assert steps[1].input_value is None
    (item,) = await rows(team, TestRunItem, test_run_id=run_id)
    assert (item.status, item.attempt) == ("failed", 1)
    console = await rows(team, ConsoleLog, test_run_result_id=result.id)
    assert [c.message for c in console].count("login page ready") == 1  # replayed once
