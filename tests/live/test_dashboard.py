"""The dashboard at /ui in real Chromium against a real api and worker, with no internet."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from models.database import transaction
from models.enums import Role
from models.results import CheckpointResult, TestRunResult, TestStepResult
from tests.execution.checkpoint_site import CheckpointSite, serve_checkpoint_site, visual_steps
from tests.execution.engine_harness import login_steps, step
from tests.factories import make_item, make_result, make_run, make_test_case
from tests.fixtures.browser import OfflinePage
from tests.live.harness import Api, Writer, graphql, sign_in

pytestmark = pytest.mark.slow

AXE = Path(__file__).with_name("axe") / "axe.min.js"
CREATE = "mutation C($input: TestRunInput!) { createTestRun(input: $input) { run { id } } }"
START = "mutation S($id: UUID!) { startTestRun(id: $id) { run { status } } }"


async def new_case(writer: Writer, name: str, steps: list[dict[str, Any]]) -> uuid.UUID:
    async with transaction(writer.team.sessions) as session:
        case = await make_test_case(
            session, writer.team.project, name=name, proven_steps=steps, tags=["smoke"]
        )
    return case.id


async def start_run(
    api: Api, token: str, name: str, case_ids: list[uuid.UUID], *, start: bool = True
) -> str:
    run_input = {"runName": name, "testCaseIds": [str(i) for i in case_ids], "tags": ["ci"]}
    run_id = str((await graphql(api, token, CREATE, input=run_input))["createTestRun"]["run"]["id"])
    if start:
        await graphql(api, token, START, id=run_id)
    return run_id


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of serious or critical impact on the page as it is."""
    await page.add_script_tag(path=str(AXE))
    found = await page.evaluate("async () => (await axe.run(document)).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["html"] for n in v["nodes"]][:3]}
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


async def test_a_run_started_through_the_api_appears_and_progresses_live(
    api: Api, shared_worker: Path, writer: Writer, site: str, offline_page: OfflinePage
) -> None:
    page = offline_page.page
    token = await writer.token(Role.EDITOR)
    case_id = await new_case(writer, f"Login {uuid.uuid4().hex[:6]}", login_steps(site))
    name = f"Live list {uuid.uuid4().hex[:6]}"

    await sign_in(page, api, token)
    await expect(page.get_by_role("heading", name="Runs")).to_be_visible()
    run_id = await start_run(api, token, name, [case_id])

    row = page.locator(f"#run-{run_id}")
    await expect(row).to_contain_text(name, timeout=20_000)
    await expect(row).to_contain_text("completed", ignore_case=True, timeout=60_000)
    await expect(row.locator("progress")).to_have_attribute("value", "1")
    assert offline_page.blocked == []
    assert all(token not in url for url in offline_page.requested)
    assert token not in page.url


async def test_a_failed_step_shows_its_error_and_screenshot(
    api: Api,
    shared_worker: Path,
    writer: Writer,
    site: str,
    offline_page: OfflinePage,
    screenshots: Path,
) -> None:
    page = offline_page.page
    token = await writer.token(Role.EDITOR)
    passing = await new_case(writer, "Log in", login_steps(site))
    failing = await new_case(
        writer, "Lands on the wrong page", login_steps(site, expect="/nowhere")
    )
    run_id = await start_run(api, token, "Nightly regression", [passing, failing])
    await writer.team.wait_final(uuid.UUID(run_id), timeout_s=90)

    await sign_in(page, api, token, f"/ui/runs/{run_id}")
    failed_item = page.locator("details", has_text="Lands on the wrong page")
    await failed_item.locator("summary").click()

    failed_step = failed_item.locator("tr.step.failed")
    await expect(failed_step).to_contain_text("assert_url_contains")
    await expect(failed_step).to_contain_text("Expected the URL to contain '/nowhere'")
    thumbnail = failed_item.locator("img.thumb").first
    await expect(thumbnail).to_be_visible()
    await thumbnail.scroll_into_view_if_needed()
    await thumbnail.evaluate(
        "image => image.decode()"  # rejects when the signed URL does not give an image
    )
    assert await thumbnail.evaluate("image => image.naturalWidth") > 0
    await expect(page.get_by_role("button", name="Rerun failed")).to_be_visible()
    await page.screenshot(path=screenshots / "dashboard-run.png", full_page=True)
    assert await serious_violations(page) == []
    await page.set_viewport_size({"width": 400, "height": 800})
    await page.screenshot(path=screenshots / "dashboard-run-400px.png", full_page=True)
    assert await serious_violations(page) == []
    assert await page.evaluate("document.documentElement.scrollWidth") <= 400

    await page.set_viewport_size({"width": 1280, "height": 800})
    await page.get_by_role("button", name="Rerun failed").click()
    await page.wait_for_url(re.compile(r"/ui/runs/(?!" + run_id + ")"))
    rerun_id = page.url.rsplit("/", 1)[1]
    rerun = await writer.team.wait_final(uuid.UUID(rerun_id), timeout_s=60)
    assert (rerun.total_tests, rerun.failed_tests) == (1, 1)
    rerun_items = page.locator("#run-body tr[id^=row-]")
    await expect(rerun_items).to_have_count(1)
    await expect(rerun_items).to_contain_text("Lands on the wrong page")

    await page.get_by_role("link", name="Lands on the wrong page").click()
    await expect(page.get_by_role("heading", name="Lands on the wrong page")).to_be_visible()
    await expect(page.locator(".card", has_text="Pass rate")).to_contain_text("0.00%")
    await expect(page.locator(".card", has_text="Flake rate")).to_contain_text("0.00%")
    await expect(page.locator("ol.steps li")).to_have_count(5)
    await page.screenshot(path=screenshots / "dashboard-test-case.png", full_page=True)
    assert await serious_violations(page) == []
    assert offline_page.blocked == []


CHECKPOINT_IMAGES = """
query Images($id: UUID!) {
  testRun(id: $id) { items { results { id checkpoints {
    checkpointType diffPercentage baselineScreenshotUrl actualScreenshotUrl diffScreenshotUrl
  } } } }
}
"""
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def opens_as_png_and_not_when_tampered(client: httpx.AsyncClient, url: str) -> bytes:
    """The image behind a signed link, checked to open without a token and only as signed."""
    assert re.search(r"/artifacts/.+\?expires=\d+&signature=[0-9a-f]{64}$", url), url
    image = await client.get(url)
    assert image.status_code == 200, (url, image.text)
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(PNG_MAGIC)
    signature = url.rsplit("=", 1)[1]
    tampered = url[: -len(signature)] + ("0" if signature[0] != "0" else "1") + signature[1:]
    assert (await client.get(tampered)).status_code == 403
    other_file = url.replace("-diff.png", "-actual.png").replace("-baseline.png", "-actual.png")
    if other_file != url:  # a signature opens only the file it was made for
        assert (await client.get(other_file)).status_code == 403
    return image.content


async def test_a_failed_visual_checkpoint_links_its_three_images_everywhere(
    api: Api,
    shared_worker: Path,
    writer: Writer,
    offline_page: OfflinePage,
    screenshots: Path,
) -> None:
    page = offline_page.page
    token = await writer.token(Role.EDITOR)
    with serve_checkpoint_site() as site:
        steps = visual_steps(site, mask=["#banner"])
        case_id = await new_case(writer, f"Looks the same {uuid.uuid4().hex[:6]}", steps)
        first = await start_run(api, token, "Makes the baseline", [case_id])
        assert (await writer.team.wait_final(uuid.UUID(first), timeout_s=90)).passed_tests == 1
        CheckpointSite.visual["shift_px"] = 10  # the button moves 10 px: 0.33 % of the page
        run_id = await start_run(api, token, "Compares with it", [case_id])
        run = await writer.team.wait_final(uuid.UUID(run_id), timeout_s=90)
        assert run.failed_tests == 1
        # The move was intended: accepting the failed image makes the next run pass.
        async with transaction(writer.team.sessions) as session:
            (failed_id,) = await session.scalars(
                select(CheckpointResult.id)
                .join(TestRunResult, TestRunResult.id == CheckpointResult.test_run_result_id)
                .where(TestRunResult.test_run_id == uuid.UUID(run_id))
            )
        async with httpx.AsyncClient(base_url=api.http_url, timeout=30) as client:
            accepted = await client.post(
                f"/api/v1/checkpoint-results/{failed_id}/accept-baseline",
                headers={"Authorization": f"Bearer {token}"},
            )
        assert accepted.status_code == 200, accepted.text
        after = await start_run(api, token, "After accepting", [case_id])
        assert (await writer.team.wait_final(uuid.UUID(after), timeout_s=90)).passed_tests == 1

    # GraphQL and REST answer the three signed links of the failed checkpoint.
    found = await graphql(api, token, CHECKPOINT_IMAGES, id=run_id)
    ((result,),) = [item["results"] for item in found["testRun"]["items"]]
    (checkpoint,) = result["checkpoints"]
    assert (checkpoint["checkpointType"], checkpoint["diffPercentage"]) == ("SCREENSHOT", 0.33)
    kinds = ("baseline", "actual", "diff")
    from_graphql = [checkpoint[f"{kind}ScreenshotUrl"] for kind in kinds]
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=api.http_url, timeout=30) as client:
        listed = await client.get(
            f"/api/v1/test-run-results/{result['id']}/checkpoints", headers=headers
        )
        assert listed.status_code == 200, listed.text
        (rest,) = listed.json()["items"]
        from_rest = [rest[f"{kind}_screenshot_url"] for kind in kinds]
        report = await client.get(f"/api/v1/test-runs/{run_id}/report", headers=headers)
        assert report.status_code == 200
        # The report: the percentage, then the three figures, in order, in the checkpoint's row.
        (row,) = re.findall(r"<tr><td>Check that the screenshot.*?</tr>", report.text)
        assert "0.33% of the pixels differ" in row
        from_report = [
            link.replace("&amp;", "&")
            for link in re.findall(r'<img class="shot" src="([^"]+)"', row)
        ]
        assert re.findall(r"<figcaption>(\w+)</figcaption>", row) == ["Baseline", "Actual", "Diff"]
        images = {}
        for links in (from_graphql, from_rest, from_report):
            assert len(links) == 3 and all(links), links
            for kind, link in zip(kinds, links, strict=True):
                images.setdefault(kind, set()).add(
                    await opens_as_png_and_not_when_tampered(client, link)
                )
        # Every face links the same three files, and they are three different images.
        assert all(len(same) == 1 for same in images.values()), images.keys()
        assert len({next(iter(same)) for same in images.values()}) == 3

        # The dashboard: the row shows the percentage and thumbnails that load in Chromium.
        await sign_in(page, api, token, f"/ui/runs/{run_id}")
        item = page.locator("details", has_text="Looks the same")
        await item.locator("summary").click()
        checkpoints = item.get_by_role("region", name="Checkpoints of Attempt 1")
        row_shown = checkpoints.locator("tr", has_text="Check that the screenshot 'Home page'")
        await expect(row_shown).to_contain_text("0.33% of the pixels differ")
        await expect(row_shown.locator("figcaption")).to_have_text(["Baseline", "Actual", "Diff"])
        thumbnails = row_shown.locator("img.thumb")
        await expect(thumbnails).to_have_count(3)
        for index, kind in enumerate(kinds):
            thumbnail = thumbnails.nth(index)
            await thumbnail.scroll_into_view_if_needed()
            await thumbnail.evaluate("image => image.decode()")  # rejects when no image came
            assert await thumbnail.evaluate("image => image.naturalWidth") == 1280
            src = await thumbnail.get_attribute("src")
            assert src is not None
            assert await opens_as_png_and_not_when_tampered(client, src) in images[kind]
            link = await thumbnail.evaluate("image => image.closest('a').href")
            assert link == src
        await row_shown.locator("td.images").screenshot(path=screenshots / "dashboard-visual.png")
    assert await serious_violations(page) == []
    assert offline_page.blocked == []


async def test_stop_from_the_page_stops_the_run_and_viewers_get_no_buttons(
    api: Api,
    shared_worker: Path,
    writer: Writer,
    site: str,
    offline_page: OfflinePage,
    screenshots: Path,
) -> None:
    page = offline_page.page
    token = await writer.token(Role.EDITOR)
    slow = [step(1, "navigate_to", url=f"{site}/login.html"), step(2, "wait", seconds=60)]
    case_id = await new_case(writer, "Waits a minute", slow)
    run_id = await start_run(api, token, "Slow run", [case_id])

    await sign_in(page, api, token, f"/ui/runs/{run_id}")
    item = page.locator("details", has_text="Waits a minute")
    await expect(item.locator("summary")).to_contain_text(
        "running", ignore_case=True, timeout=30_000
    )
    # the wait step started (or, before step.started events, the navigation ended)
    await expect(item.locator("summary")).to_contain_text(
        re.compile(r"step [12]/2"), timeout=30_000
    )
    await item.locator("summary").click()
    await expect(item.get_by_title("Live view of the browser")).to_be_attached()
    stream = page.frame_locator("iframe.live").get_by_role("img")
    await expect(stream).to_have_attribute(
        "src", re.compile(r"^/live/[0-9a-f-]+/stream\?expires=\d+&sig=")
    )
    await page.screenshot(path=screenshots / "dashboard-running.png", full_page=True)
    await page.get_by_role("button", name="Stop").click()

    final = await writer.team.wait_final(uuid.UUID(run_id), timeout_s=30)
    assert str(final.status) == "cancelled"
    await expect(page.locator("#run-body .meta .badge").first).to_have_text(
        "cancelled", ignore_case=True, timeout=10_000
    )
    await expect(page.get_by_role("button", name="Stop")).to_have_count(0)

    viewer = await writer.token(Role.VIEWER)
    await page.evaluate("localStorage.clear()")
    await sign_in(page, api, viewer, f"/ui/runs/{run_id}")
    await expect(page.get_by_role("heading", name="Run #")).to_be_visible()
    await expect(page.locator("button[data-action]")).to_have_count(0)
    assert offline_page.blocked == []


async def test_the_list_filters_by_status_and_is_usable_by_keyboard(
    api: Api,
    shared_worker: Path,
    writer: Writer,
    site: str,
    offline_page: OfflinePage,
    screenshots: Path,
) -> None:
    page = offline_page.page
    token = await writer.token(Role.EDITOR)
    case_id = await new_case(writer, "Log in", login_steps(site))
    pending = await start_run(api, token, f"Waiting {uuid.uuid4().hex[:6]}", [case_id], start=False)
    done = await start_run(api, token, f"Done {uuid.uuid4().hex[:6]}", [case_id])
    await writer.team.wait_final(uuid.UUID(done), timeout_s=60)

    await sign_in(page, api, token, "/ui?status=pending")
    await expect(page.locator(f"#run-{pending}")).to_be_visible()
    await expect(page.locator(f"#run-{done}")).to_have_count(0)
    await page.get_by_label("Status").select_option("")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator(f"#run-{done}")).to_be_visible()
    await page.screenshot(path=screenshots / "dashboard-runs.png", full_page=True)
    assert await serious_violations(page) == []

    # Tab to the pending run's link and open it with Enter, then start it from the keyboard.
    link = page.locator(f"#run-{pending} a")
    for _ in range(40):
        await page.keyboard.press("Tab")
        if await link.evaluate("element => element === document.activeElement"):
            break
    else:
        raise AssertionError("the run's link is not reachable with Tab")
    await page.keyboard.press("Enter")
    start = page.get_by_role("button", name="Start")
    await expect(start).to_be_visible()
    await start.focus()
    await page.keyboard.press("Enter")
    final = await writer.team.wait_final(uuid.UUID(pending), timeout_s=60)
    assert (str(final.status), final.passed_tests) == ("completed", 1)

    never = await start_run(
        api, token, f"Never mind {uuid.uuid4().hex[:6]}", [case_id], start=False
    )
    await page.goto(f"{api.http_url}/ui/runs/{never}")
    await page.get_by_role("button", name="Cancel").click()
    await expect(page.get_by_role("status")).to_have_text("Cancel: done.")
    assert str((await writer.team.run(uuid.UUID(never))).status) == "cancelled"
    await expect(page.get_by_role("button", name="Cancel")).to_have_count(0)

    await page.set_viewport_size({"width": 400, "height": 800})
    await page.goto(f"{api.http_url}/ui")
    await expect(page.locator(f"#run-{pending}")).to_be_visible()
    await page.screenshot(path=screenshots / "dashboard-runs-400px.png", full_page=True)
    assert await serious_violations(page) == []
    assert await page.evaluate("document.documentElement.scrollWidth") <= 400
    assert offline_page.blocked == []


def test_pages_hold_no_data_and_parts_need_the_token(api: Api) -> None:
    shell = httpx.get(f"{api.http_url}/ui/runs/{uuid.uuid4()}")
    root = httpx.get(f"{api.http_url}/", follow_redirects=False)
    part = httpx.get(f"{api.http_url}/ui/parts/runs")

    assert shell.status_code == 200 and "data-part" in shell.text
    assert "https://" not in shell.text
    assert (root.status_code, root.headers["location"]) == (307, "/ui")
    assert part.status_code == 401


async def test_parts_answer_404_and_400_naming_what_is_wrong(api: Api, writer: Writer) -> None:
    token = await writer.token(Role.VIEWER)
    headers = {"Authorization": f"Bearer {token}"}
    missing = uuid.uuid4()
    async with httpx.AsyncClient(base_url=api.http_url, headers=headers) as client:
        run = await client.get(f"/ui/parts/runs/{missing}")
        case = await client.get("/ui/parts/test-cases/not-an-id")
        bad_status = await client.get("/ui/parts/runs", params={"status": "sleeping"})

    assert run.status_code == 404 and f"Test run not found: {missing}" in run.text
    assert case.status_code == 404 and "Test case not found: not-an-id" in case.text
    assert bad_status.status_code == 400 and "status" in bad_status.text


async def test_the_run_part_signs_only_files_of_the_runs_own_folders(
    api: Api, shared_artifacts: Path, writer: Writer
) -> None:
    team = writer.team
    async with transaction(team.sessions) as session:
        case = await make_test_case(session, team.project, name="Reported by a client")
        run = await make_run(session, team.project, team.user, status="completed")
        item = await make_item(session, run, case, status="failed")
        result = await make_result(session, item, status="failed")
        mine = f"{run.id}/{item.id}/{result.id}/visual/home-actual.png"
        outside = f"{uuid.uuid4()}/someone-elses.png"  # written by a client, not this run's
        session.add_all(
            [
                CheckpointResult(
                    test_run_result_id=result.id, checkpoint_name="Home",
                    checkpoint_type="screenshot", status="failed", profile="visual",
                    diff_percentage=1.5, baseline_screenshot_path=outside,
                    actual_screenshot_path=mine, diff_screenshot_path=outside,
                ),
                TestStepResult(
                    test_run_result_id=result.id, step_number=1, action="navigate_to",
                    status="failed", screenshot_path=outside,
                ),
            ]
        )  # fmt: skip
    for path in (mine, outside):
        (shared_artifacts / path).parent.mkdir(parents=True, exist_ok=True)
        (shared_artifacts / path).write_bytes(PNG_MAGIC)
    token = await writer.token(Role.VIEWER)
    async with httpx.AsyncClient(
        base_url=api.http_url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        part = await client.get(f"/ui/parts/runs/{run.id}")

    assert part.status_code == 200
    assert "1.50% of the pixels differ" in part.text
    assert re.findall(r"<figcaption>(\w+)</figcaption>", part.text) == ["Actual"]
    (src,) = re.findall(r'<img class="thumb" src="([^"]+)"', part.text)
    assert src.startswith(f"{api.http_url}/artifacts/{mine}?")
    assert outside not in part.text
