"""The run report: an HTML page a person can open, and JUnit XML valid against the schema."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import httpx
import xmlschema
from sqlalchemy.ext.asyncio import AsyncSession

from models import CheckpointResult, TestStepResult
from server.settings import Settings
from tests.factories import make_item, make_result, make_run, make_test_case
from tests.fixtures.http import Caller

JUNIT_XSD = Path(__file__).with_name("junit.xsd")
START = datetime(2026, 1, 17, 10, 5, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


async def _finished_run(session: AsyncSession, caller: Caller, artifacts: Path):  # type: ignore[no-untyped-def]
    run = await make_run(
        session, caller.project, caller.user, run_name="Nightly <Regression> & co",
        status="completed", started_at=START, completed_at=START.replace(minute=15),
        duration_ms=630_000, total_tests=3, passed_tests=1, failed_tests=1, no_run_tests=1,
        pass_rate=33.33, suite_path=["ROOT", "Regression"], browser_name="chromium",
    )  # fmt: skip
    login = await make_test_case(session, caller.project, name="Login Test")
    search = await make_test_case(session, caller.project, name="Search Test")
    empty = await make_test_case(session, caller.project, name="Recorded Nothing")
    passed = await make_item(session, run, login, status="passed", duration_ms=145_000)
    failed = await make_item(
        session, run, search, status="failed", duration_ms=200_000,
        error_message="Element not found: #search-results\x01",
    )  # fmt: skip
    await make_item(session, run, empty, status="no_run")
    shot = f"{run.id}/{failed.id}/step-0002.png"
    (artifacts / shot).parent.mkdir(parents=True)
    (artifacts / shot).write_bytes(PNG)
    good = await make_result(session, passed, status="passed", duration_ms=145_000)
    bad = await make_result(
        session, failed, status="failed", error_message="Element not found: #search-results",
        error_step_number=2, error_screenshot_path=shot,
    )  # fmt: skip
    session.add_all(
        [
            TestStepResult(
                test_run_result_id=good.id, step_number=1, action="navigate_to",
                description="Open the login page", status="passed", duration_ms=1200,
                screenshot_url="https://storage.example.com/shots/1.png",
            ),
            TestStepResult(
                test_run_result_id=bad.id, step_number=1, action="input_text",
                description="Type <script>alert(1)</script>", status="passed",
                screenshot_url="javascript:alert(1)",
            ),
            TestStepResult(
                test_run_result_id=bad.id, step_number=2, action="click_element",
                selector="#search-results", status="failed", screenshot_path=shot,
                error_message="Element not found: #search-results",
                element_html="<div id='results'></div>",
            ),
            TestStepResult(
                test_run_result_id=bad.id, step_number=3, action="assert_text_present",
                status="skipped",
            ),
        ]
    )  # fmt: skip
    await session.flush()
    return run, shot


async def test_html_report_shows_summary_items_steps_errors_and_screenshots(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller, settings: Settings
) -> None:
    run, shot = await _finished_run(session, editor, settings.artifacts_dir)
    response = await client.get(f"/api/v1/test-runs/{run.id}/report", headers=editor.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "<title>Run #1: Nightly &lt;Regression&gt; &amp; co</title>" in page
    for text in (
        "Login Test",
        "Search Test",
        "Recorded Nothing",
        "Open the login page",
        "Step 2: Element not found: #search-results",
        "&lt;div id=&#x27;results&#x27;&gt;&lt;/div&gt;",
        "33.33%",
        "10 min 30 s",
    ):
        assert text in page, text
    assert "<script" not in page
    assert "javascript:" not in page
    assert 'href="https://storage.example.com/shots/1.png"' in page

    # Screenshot links are signed: they load without the Authorization header.
    links = set(re.findall(r'src="([^"]+)"', page))
    assert links and all(link.startswith("http://testserver/artifacts/") for link in links)
    for link in links:
        assert shot in link
        image = await client.get(link.replace("&amp;", "&"))
        assert image.status_code == 200
        assert image.content == PNG
        assert image.headers["content-type"] == "image/png"


async def test_junit_report_is_valid_against_the_junit_schema(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller, settings: Settings
) -> None:
    run, _ = await _finished_run(session, editor, settings.artifacts_dir)
    response = await client.get(
        f"/api/v1/test-runs/{run.id}/report?format=junit", headers=editor.headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    xmlschema.XMLSchema(JUNIT_XSD).validate(response.content)

    suite = ElementTree.fromstring(response.content).find("testsuite")
    assert suite is not None
    assert {key: suite.get(key) for key in ("name", "tests", "failures", "skipped", "time")} == {
        "name": "Nightly <Regression> & co",
        "tests": "3",
        "failures": "1",
        "skipped": "1",
        "time": "630.000",
    }
    assert suite.get("timestamp") == "2026-01-17T10:05:00"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert list(cases["Login Test"]) == []
    failure = cases["Search Test"].find("failure")
    assert failure is not None
    assert failure.get("message") == "Element not found: #search-results\ufffd"
    assert "step 2 click_element: Element not found" in (failure.text or "")
    assert cases["Recorded Nothing"].find("skipped") is not None
    assert cases["Login Test"].get("classname") == "ROOT.Smoke"


async def test_report_of_a_run_without_results(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    run = await make_run(session, editor.project, editor.user)
    await make_item(session, run, await make_test_case(session, editor.project))
    html = await client.get(f"/api/v1/test-runs/{run.id}/report", headers=editor.headers)
    assert "No results recorded." in html.text
    junit = await client.get(
        f"/api/v1/test-runs/{run.id}/report?format=junit", headers=editor.headers
    )
    xmlschema.XMLSchema(JUNIT_XSD).validate(junit.content)
    bad = await client.get(f"/api/v1/test-runs/{run.id}/report?format=pdf", headers=editor.headers)
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "format"


async def test_html_report_shows_each_visual_checkpoints_difference_and_images(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller, settings: Settings
) -> None:
    run = await make_run(session, editor.project, editor.user, status="completed")
    item = await make_item(
        session, run, await make_test_case(session, editor.project, name="Home"), status="failed"
    )
    result = await make_result(session, item, status="failed")
    folder = f"{run.id}/{item.id}/{result.id}/visual"
    images = {kind: f"{folder}/home-{kind}.png" for kind in ("baseline", "actual", "diff")}
    outside = f"{uuid.uuid4()}/someone-elses.png"  # a path a client wrote, not this run's
    for number, path in enumerate([*images.values(), outside]):
        (settings.artifacts_dir / path).parent.mkdir(parents=True, exist_ok=True)
        (settings.artifacts_dir / path).write_bytes(PNG + bytes([number]))
    session.add_all(
        [
            CheckpointResult(
                test_run_result_id=result.id, checkpoint_name="Home first seen",
                checkpoint_type="screenshot", status="passed", profile="visual",
                baseline_screenshot_path=images["actual"], actual_screenshot_path=images["actual"],
            ),
            CheckpointResult(
                test_run_result_id=result.id, checkpoint_name="Home moved",
                checkpoint_type="screenshot", status="failed", profile="visual",
                diff_percentage=0.33, failed_properties=["diff_percentage"],
                baseline_screenshot_path=images["baseline"],
                actual_screenshot_path=images["actual"], diff_screenshot_path=images["diff"],
            ),
            CheckpointResult(
                test_run_result_id=result.id, checkpoint_name="Home elsewhere",
                checkpoint_type="screenshot", status="passed", profile="visual",
                diff_percentage=0, baseline_screenshot_path=outside,
                actual_screenshot_path=images["actual"],
            ),
        ]
    )  # fmt: skip
    await session.flush()

    page = (await client.get(f"/api/v1/test-runs/{run.id}/report", headers=editor.headers)).text

    rows = dict(re.findall(r"<tr><td>(Home [a-z ]+)</td>(.*?)</tr>", page))
    shown = {
        name: [
            (caption, src.replace("&amp;", "&"))
            for src, caption in re.findall(
                r'<img class="shot" src="([^"]+)"[^>]*></a><figcaption>(\w+)</figcaption>', row
            )
        ]
        for name, row in rows.items()
    }
    assert [caption for caption, _ in shown["Home first seen"]] == ["Baseline", "Actual"]
    assert "differ" not in rows["Home first seen"]
    assert "0.33% of the pixels differ" in rows["Home moved"]
    assert [caption for caption, _ in shown["Home moved"]] == ["Baseline", "Actual", "Diff"]
    # A path outside the run's own folders is never signed: no link, only the run's image.
    assert "0.00% of the pixels differ" in rows["Home elsewhere"]
    assert [caption for caption, _ in shown["Home elsewhere"]] == ["Actual"]
    assert outside not in page
    for caption, link in shown["Home moved"]:
        assert link.startswith(f"http://testserver/artifacts/{folder}/home-{caption.lower()}.png?")
        image = await client.get(link)
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        assert image.content == (settings.artifacts_dir / images[caption.lower()]).read_bytes()
        assert (await client.get(link[:-1] + ("0" if link[-1] != "0" else "1"))).status_code == 403
