"""The engine stores every kind of checkpoint: element properties, API, accessibility, visual.

Each test replays real Chromium through the real engine against checkpoint_site.py and
reads the stored checkpoint_results and test_run_results rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dramatiq.brokers.stub import StubBroker

from execution.engine import Engine
from models.baselines import ScreenshotBaseline
from models.database import transaction
from models.results import CheckpointResult, TestRunResult, TestStepResult
from resolvers.baselines import accept_screenshot_baseline
from tests.execution.checkpoint_site import CheckpointSite, serve_checkpoint_site, visual_steps
from tests.execution.engine_harness import Team, rows, step
from tests.factories import make_test_case


@pytest.fixture
def checkpoint_site() -> Iterator[str]:
    with serve_checkpoint_site() as url:
        yield url


async def replay(
    team: Team, broker: StubBroker, steps: list[dict[str, Any]], **run_fields: Any
) -> tuple[TestRunResult, list[CheckpointResult]]:
    """Run one test case of `steps` to the end; its result and checkpoints by step order."""
    run_id = await team.run_of([{"proven_steps": steps}], **run_fields)
    await team.start(run_id, broker)
    run = await team.wait_final(run_id, timeout_s=90)
    assert run.status == "completed"
    (result,) = await rows(team, TestRunResult, test_run_id=run_id)
    return result, await checkpoints_of(team, result.id)


async def checkpoints_of(team: Team, result_id: uuid.UUID) -> list[CheckpointResult]:
    found = await rows(team, CheckpointResult, test_run_result_id=result_id)
    return sorted(found, key=lambda c: c.created_at)


async def test_element_properties_are_stored_with_each_verification(
    running_engine: Engine, team: Team, checkpoint_site: str, stub_broker: StubBroker
) -> None:
    result, checkpoints = await replay(
        team,
        stub_broker,
        [
            step(1, "navigate_to", url=f"{checkpoint_site}/form.html"),
            step(
                2,
                "assert_element_properties",
                selector="#login",
                properties={"text": {"equals": "Log in"}, "attribute:href": {"contains": "/login"}},
            ),
            step(
                3,
                "assert_element_properties",
                index=0,
                properties={"visible": True, "text": {"matches": "^Sign"}},
                assertion_description="Sign-in link",
            ),
        ],
    )

    assert result.status == "failed"
    assert result.error_step_number == 3
    passed, failed = checkpoints
    assert (passed.status, passed.checkpoint_type, passed.profile) == (
        "passed",
        "element",
        "functional",
    )
    assert passed.selector == "#login"
    assert passed.failed_properties == []
    assert [
        (v["property_name"], v["operator"], v["passed"]) for v in passed.property_verifications
    ] == [
        ("text", "equals", True),
        ("attribute:href", "contains", True),
    ]
    assert failed.checkpoint_name == "Sign-in link"
    assert failed.status == "failed"
    assert failed.failed_properties == ["text"]
    # Stored steps are JSONB, whose objects keep their keys shortest first.
    assert failed.property_verifications[0] == {
        "property_name": "text",
        "operator": "matches",
        "expected_value": "^Sign",
        "actual_value": "Log in",
        "passed": False,
    }
    assert failed.error_message == (
        "element 0 (link 'Log in') fails 1 of 2 properties: text matches '^Sign', "
        "but it is 'Log in'"
    )
    assert (result.total_checkpoints, result.passed_checkpoints, result.failed_checkpoints) == (
        2,
        1,
        1,
    )
    steps = await rows(team, TestStepResult, test_run_result_id=result.id)
    (third,) = [s for s in steps if s.step_number == 3]
    assert third.playwright_code.splitlines() == [
        'await expect(page.locator("#login")).to_have_text(re.compile("^Sign"))',
        'await expect(page.locator("#login")).to_be_visible()',
    ]


async def test_an_api_checkpoint_uses_the_pages_cookie_and_stores_the_exchange(
    running_engine: Engine, team: Team, checkpoint_site: str, stub_broker: StubBroker
) -> None:
    result, (signed_in, anonymous) = await replay(
        team,
        stub_broker,
        [
            step(1, "navigate_to", url=f"{checkpoint_site}/form.html"),
            step(
                2, "assert_api", url="/api/me", expect_status=200, expect_json={"user.name": "Ann"}
            ),
            step(3, "navigate_to", url="about:blank"),
            step(
                4,
                "assert_api",
                url=f"{checkpoint_site}/api/me",
                headers={"Cookie": "session=none"},
                expect_status=200,
            ),
        ],
    )

    assert signed_in.checkpoint_type == "api"
    assert signed_in.status == "passed"
    assert signed_in.profile == "functional"
    assert signed_in.actual_properties["request"]["url"] == f"{checkpoint_site}/api/me"
    assert signed_in.actual_properties["status"] == 200
    assert signed_in.actual_properties["duration_ms"] >= 0
    assert signed_in.expected_properties == {"status": 200, "json": {"user.name": "Ann"}}
    assert [v["property_name"] for v in signed_in.property_verifications] == [
        "status",
        "json:user.name",
    ]
    assert anonymous.status == "failed"
    assert anonymous.failed_properties == ["status"]
    assert anonymous.actual_properties["request"]["headers"] == {"Cookie": "********"}
    assert result.status == "failed"
    assert result.error_message == (
        f"GET {checkpoint_site}/api/me answered 401: status should be 200, but it is 401"
    )


async def test_the_run_setting_scans_every_page_and_the_assertion_writes_a_checkpoint(
    running_engine: Engine, team: Team, checkpoint_site: str, stub_broker: StubBroker
) -> None:
    result, (text_present, accessible) = await replay(
        team,
        stub_broker,
        [
            step(1, "navigate_to", url=f"{checkpoint_site}/fine.html"),
            step(2, "click_element", text="Faults"),
            step(3, "assert_text_present", text="Barely readable"),
            step(4, "assert_accessible", impact="critical"),
        ],
        accessibility_scan=True,
    )

    assert result.status == "failed"
    assert result.error_step_number == 4
    pages = [(scan["url"], scan["step_number"]) for scan in result.accessibility_results]
    assert pages == [
        (f"{checkpoint_site}/fine.html", 1),
        (f"{checkpoint_site}/faults.html", 2),
        (f"{checkpoint_site}/faults.html", 4),
    ]
    assert result.accessibility_results[0]["violations"] == []
    faults = {v["rule_id"]: v for v in result.accessibility_results[1]["violations"]}
    assert set(faults) == {"image-alt", "color-contrast", "button-name"}
    assert faults["button-name"] | {"help": None} == {
        "rule_id": "button-name",
        "impact": "critical",
        "help": None,
        "help_url": faults["button-name"]["help_url"],
        "targets": ["#icon"],
        "nodes": 1,
    }
    # A page's violated rules count once, however often it was scanned.
    assert result.total_accessibility_violations == 3
    assert text_present.profile == "functional"
    assert accessible.profile == "accessibility"
    assert accessible.status == "failed"
    assert set(accessible.failed_properties) == {"image-alt", "button-name"}
    assert result.error_message.startswith(
        f"2 accessibility violations at or above critical on {checkpoint_site}/faults.html"
    )


async def test_without_the_setting_only_assertions_scan(
    running_engine: Engine, team: Team, checkpoint_site: str, stub_broker: StubBroker
) -> None:
    result, (checkpoint,) = await replay(
        team,
        stub_broker,
        [
            step(1, "navigate_to", url=f"{checkpoint_site}/faults.html"),
            step(2, "navigate_to", url=f"{checkpoint_site}/fine.html"),
            step(3, "assert_accessible"),
        ],
    )

    assert result.status == "passed"
    assert [scan["url"] for scan in result.accessibility_results] == [
        f"{checkpoint_site}/fine.html"
    ]
    assert result.total_accessibility_violations == 0
    assert (checkpoint.status, checkpoint.profile) == ("passed", "accessibility")


async def _replay_case(
    team: Team, broker: StubBroker, case_id: uuid.UUID
) -> tuple[TestRunResult, CheckpointResult]:
    """Run an existing test case once; its result and its one checkpoint."""
    run_id = await team.run_case_again(case_id, broker)
    (result,) = await rows(team, TestRunResult, test_run_id=run_id)
    (checkpoint,) = await checkpoints_of(team, result.id)
    return result, checkpoint


async def test_visual_baselines_are_stored_compared_masked_and_accepted(
    running_engine: Engine,
    team: Team,
    checkpoint_site: str,
    stub_broker: StubBroker,
    artifacts: Path,
) -> None:
    async with transaction(team.sessions) as session:
        case = await make_test_case(
            session,
            team.project,
            proven_steps=visual_steps(checkpoint_site, mask=["#banner"]),
        )

    first_result, first = await _replay_case(team, stub_broker, case.id)

    assert first_result.status == "passed"
    assert (first.checkpoint_type, first.profile, first.status) == (
        "screenshot",
        "visual",
        "passed",
    )
    assert first.actual_properties == {"baseline_created": True}
    assert first.baseline_screenshot_path == first.actual_screenshot_path
    assert (artifacts / first.actual_screenshot_path).stat().st_size > 0
    assert first.diff_screenshot_path is None
    (baseline,) = await rows(team, ScreenshotBaseline, test_case_id=case.id)
    assert (baseline.name, baseline.viewport_width, baseline.viewport_height) == (
        "Home page",
        1280,
        720,
    )
    assert (baseline.image_path, baseline.checkpoint_result_id) == (
        first.actual_screenshot_path,
        first.id,
    )

    CheckpointSite.visual["banner"] = "A different banner, masked"
    masked_result, masked = await _replay_case(team, stub_broker, case.id)

    assert masked.status == "passed", masked.error_message
    assert masked.diff_percentage == Decimal("0.00")
    assert (artifacts / masked.diff_screenshot_path).stat().st_size > 0
    # The result keeps the baseline it was compared with in its own folder, beside the others.
    assert masked.baseline_screenshot_path.startswith(f"{masked_result.test_run_id}/")
    assert masked.baseline_screenshot_path.endswith("-baseline.png")
    assert (artifacts / masked.baseline_screenshot_path).read_bytes() == (
        artifacts / baseline.image_path
    ).read_bytes()

    CheckpointSite.visual["shift_px"] = 10
    moved_result, moved = await _replay_case(team, stub_broker, case.id)

    assert moved.status == "failed"
    assert moved.failed_properties == ["diff_percentage"]
    # The button (160 x 150 px) moved 10 px: two 10 x 150 strips of the 1280 x 720 page.
    assert moved.actual_properties["different_pixels"] == 2 * 10 * 150
    assert moved.diff_percentage == Decimal("0.33")
    assert moved_result.error_message == (
        "The screenshot 'Home page' differs from its baseline by 0.33% of its pixels, "
        "more than the 0.1% allowed"
    )
    for path in (moved.actual_screenshot_path, moved.diff_screenshot_path):
        assert (artifacts / path).stat().st_size > 0
    assert (artifacts / moved.baseline_screenshot_path).read_bytes() == (
        artifacts / baseline.image_path
    ).read_bytes()

    async with transaction(team.sessions) as session:
        accepted = await accept_screenshot_baseline(
            session, principal=team.principal, checkpoint_id=moved.id
        )
    assert (accepted.image_path, accepted.accepted_by) == (
        moved.actual_screenshot_path,
        team.user.id,
    )
    _, after = await _replay_case(team, stub_broker, case.id)

    assert after.status == "passed", after.error_message
    assert (artifacts / after.baseline_screenshot_path).read_bytes() == (
        artifacts / moved.actual_screenshot_path
    ).read_bytes()
    assert after.diff_percentage == Decimal("0.00")
