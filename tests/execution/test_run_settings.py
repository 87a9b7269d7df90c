"""Run settings for artifacts and pacing, and javascript scripts, through a real engine."""

from __future__ import annotations

import itertools
import zipfile
from pathlib import Path

from dramatiq.brokers.stub import StubBroker

from execution.engine import Engine
from models.results import ScriptResult, TestRunResult, TestStepResult
from models.runs import TestRunItem
from tests.execution.engine_harness import Team, login_steps, rows

PNG = b"\x89PNG\r\n\x1a\n"
WEBM = b"\x1a\x45\xdf\xa3"  # the EBML header every WebM file starts with


async def results_of(team: Team, run_id: object) -> dict[str, TestRunResult]:
    """The run's results by the name of their test case's item status."""
    items = await rows(team, TestRunItem, test_run_id=run_id)
    found = {}
    for item in items:
        (result,) = await rows(team, TestRunResult, test_run_item_id=item.id)
        found[item.status] = result
    return found


async def steps_of(team: Team, result: TestRunResult) -> list[TestStepResult]:
    found = await rows(team, TestStepResult, test_run_result_id=result.id)
    return sorted(found, key=lambda step: step.step_number)


async def test_screenshot_every_step_keeps_one_png_per_played_step(
    running_engine: Engine, team: Team, site: str, stub_broker: StubBroker, artifacts: Path
) -> None:
    run_id = await team.run_of([{"proven_steps": login_steps(site)}], screenshot_every_step=True)

    await team.start(run_id, stub_broker)
    await team.wait_final(run_id)

    (result,) = (await results_of(team, run_id)).values()
    paths = [step.screenshot_path for step in await steps_of(team, result)]
    assert len(paths) == 5 and all(paths)
    for path in paths:
        assert (artifacts / str(path)).read_bytes().startswith(PNG)
    assert len(set(paths)) == 5


async def test_without_the_setting_only_the_failing_step_has_a_screenshot(
    running_engine: Engine, team: Team, site: str, stub_broker: StubBroker, artifacts: Path
) -> None:
    run_id = await team.run_of([{"proven_steps": login_steps(site, expect="/settings")}])

    await team.start(run_id, stub_broker)
    await team.wait_final(run_id)

    (result,) = (await results_of(team, run_id)).values()
    shots = {step.step_number: step.screenshot_path for step in await steps_of(team, result)}
    assert [number for number, path in shots.items() if path] == [4]
    assert result.error_screenshot_path == shots[4]
    assert (artifacts / str(shots[4])).read_bytes().startswith(PNG)


async def test_record_video_keeps_a_webm_of_each_result(
    running_engine: Engine, team: Team, site: str, stub_broker: StubBroker, artifacts: Path
) -> None:
    run_id = await team.run_of([{"proven_steps": login_steps(site)}], record_video=True)

    await team.start(run_id, stub_broker)
    await team.wait_final(run_id)

    (result,) = (await results_of(team, run_id)).values()
    assert result.status == "passed"
    assert result.video_path is not None and result.video_path.endswith("video.webm")
    video = (artifacts / result.video_path).read_bytes()
    assert video.startswith(WEBM) and len(video) > 1_000
    # Playwright's own copy is moved, not left beside it.
    assert not list((artifacts / str(run_id)).rglob("video/*.webm"))


async def test_a_trace_is_kept_for_a_failed_result_only(
    running_engine: Engine, team: Team, site: str, stub_broker: StubBroker, artifacts: Path
) -> None:
    run_id = await team.run_of(
        [
            {"name": "Passes", "proven_steps": login_steps(site)},
            {"name": "Fails", "proven_steps": login_steps(site, expect="/settings")},
        ],
        keep_trace_on_failure=True,
    )

    await team.start(run_id, stub_broker)
    await team.wait_final(run_id)

    found = await results_of(team, run_id)
    assert found["passed"].trace_path is None
    trace = found["failed"].trace_path
    assert trace is not None
    with zipfile.ZipFile(artifacts / trace) as archive:
        names = archive.namelist()
    assert "trace.trace" in names and "trace.network" in names
    assert any(name.startswith("resources/") for name in names)  # screenshots and snapshots


async def test_step_delay_pauses_between_steps(
    running_engine: Engine, team: Team, site: str, stub_broker: StubBroker
) -> None:
    run_id = await team.run_of([{"proven_steps": login_steps(site)}], step_delay_ms=300)

    await team.start(run_id, stub_broker)
    await team.wait_final(run_id)

    (result,) = (await results_of(team, run_id)).values()
    steps = await steps_of(team, result)
    assert [step.status for step in steps] == ["passed"] * 5
    for before, after in itertools.pairwise(steps):
        assert before.completed_at is not None and after.started_at is not None
        assert (after.started_at - before.completed_at).total_seconds() >= 0.3


async def test_javascript_scripts_run_in_the_test_case_page(
    running_engine: Engine, team: Team, site: str, stub_broker: StubBroker
) -> None:
    mark = await team.script(
        name="Check the runtime",
        script_type="pre_execution",
        language="javascript",
        # Before the first step the page is blank: no storage, but a full JavaScript runtime.
        code="console.log(typeof fetch, [1, 2, 3].length);",
        is_critical=True,
        timeout_seconds=5,
    )
    read = await team.script(
        name="Read the heading",
        script_type="post_execution",
        language="javascript",
        code=(
            "console.warn('reading');\n"
            "return {heading: document.querySelector('h1').textContent,"
            " path: location.pathname};"
        ),
        is_critical=False,
        timeout_seconds=5,
    )
    hang = await team.script(
        name="Never settles",
        script_type="post_execution",
        language="javascript",
        code="await new Promise(() => {});",
        is_critical=False,
        timeout_seconds=1,
    )
    run_id = await team.run_of(
        [
            {
                "proven_steps": login_steps(site),
                "pre_script_ids": [mark.id],
                "post_script_ids": [read.id, hang.id],
            }
        ]
    )

    await team.start(run_id, stub_broker)
    await team.wait_final(run_id)

    (result,) = (await results_of(team, run_id)).values()
    assert result.status == "passed"  # a non-critical post-script failing fails nothing
    scripts = {
        s.script_name: s for s in await rows(team, ScriptResult, test_run_result_id=result.id)
    }
    pre, post = scripts["Check the runtime"], scripts["Read the heading"]
    assert (pre.status, pre.exit_code, pre.stdout, pre.script_language) == (
        "passed",
        0,
        "function 3",
        "javascript",
    )
    assert post.stdout == '{"heading": "Welcome", "path": "/dashboard.html"}'
    assert post.stderr == "reading"
    hung = scripts["Never settles"]
    assert (hung.status, hung.exit_code, hung.error_message) == (
        "failed",
        None,
        "Timed out after 1 s",
    )
    assert (result.passed_post_scripts, result.failed_post_scripts) == (1, 1)


async def test_a_critical_javascript_pre_script_that_throws_aborts(
    running_engine: Engine, team: Team, site: str, stub_broker: StubBroker
) -> None:
    broken = await team.script(
        name="Needs a token",
        script_type="pre_execution",
        language="javascript",
        code="throw new Error('no token in this environment');",
        is_critical=True,
        timeout_seconds=5,
    )
    run_id = await team.run_of([{"proven_steps": login_steps(site), "pre_script_ids": [broken.id]}])

    await team.start(run_id, stub_broker)
    await team.wait_final(run_id)

    (result,) = (await results_of(team, run_id)).values()
    assert (result.status, result.pre_script_aborted, result.skipped_steps) == ("failed", True, 5)
    (script,) = await rows(team, ScriptResult, test_run_result_id=result.id)
    assert (script.status, script.exit_code) == ("failed", 1)
    assert "no token in this environment" in (script.stderr or "")
    assert result.error_message == "Critical pre-script 'Needs a token' failed: Exited with code 1"
