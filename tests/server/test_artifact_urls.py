"""GraphQL and REST answer artifacts and live views as signed, expiring, path-bound URLs."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.results import TestRunResult, TestStepResult
from models.runs import TestRunItem
from server.settings import Settings
from tests.factories import make_item, make_result, make_run, make_test_case
from tests.fixtures.http import Caller, MakeCaller
from tests.graphql import data, gql

QUERY = """
query Files($itemId: UUID!, $resultId: UUID!) {
  testRunItem(id: $itemId) { vncUrl errorScreenshotUrl }
  testRunResult(id: $resultId) {
    errorScreenshotUrl videoUrl traceUrl
    steps { stepNumber screenshotUrl }
    downloads { fileName sourceUrl stepNumber sizeBytes error downloadUrl }
  }
}
"""
FILES = {
    "step": b"step screenshot",
    "error": b"error screenshot",
    "video": b"webm",
    "trace": b"zip",
    "downloads/01-report.csv": b"a,b\n1,2\n",
}


@dataclass
class Stored:
    item: TestRunItem
    result: TestRunResult


async def stored_artifacts(session: AsyncSession, caller: Caller, settings: Settings) -> Stored:
    """A finished item whose files lie where the engine puts them: <run>/<item>/<result>/."""
    run = await make_run(session, caller.project, caller.user, status="completed")
    item = await make_item(session, run, await make_test_case(session, caller.project))
    result = await make_result(session, item)
    folder = f"{run.id}/{item.id}/{result.id}"
    for name, content in FILES.items():
        file = settings.artifacts_dir / folder / name
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(content)
    item.error_screenshot_path = f"{folder}/error"
    item.vnc_url = f"http://localhost:8000/live/{item.id}"  # as the local sandbox stores it
    result.error_screenshot_path = f"{folder}/error"
    result.video_path = f"{folder}/video"
    result.trace_path = f"{folder}/trace"
    result.captured_downloads = [
        {
            "file_name": "report.csv",
            "url": "https://site.example/report.csv",
            "step_number": 3,
            "path": f"{folder}/downloads/01-report.csv",
            "size_bytes": 8,
        },
        {"file_name": "cancelled.zip", "url": "https://site.example/x", "error": "canceled"},
    ]
    session.add_all(
        [
            TestStepResult(
                test_run_result_id=result.id,
                step_number=1,
                action="navigate_to",
                status="passed",
                screenshot_path=f"{folder}/step",
            ),
            # An outside executor's own screenshot URL is answered as it gave it.
            TestStepResult(
                test_run_result_id=result.id,
                step_number=2,
                action="click_element",
                status="passed",
                screenshot_url="https://cdn.example/shot.png",
            ),
        ]
    )
    await session.flush()
    return Stored(item, result)


async def opened(client: httpx.AsyncClient, url: str) -> httpx.Response:
    """GET without any Authorization header, as an `<img>` tag does."""
    return await client.get(url)


async def test_graphql_urls_open_without_a_token(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller, settings: Settings
) -> None:
    stored = await stored_artifacts(session, editor, settings)

    found = data(
        await gql(client, editor, QUERY, itemId=str(stored.item.id), resultId=str(stored.result.id))
    )

    result, item = found["testRunResult"], found["testRunItem"]
    urls = {
        "error": result["errorScreenshotUrl"],
        "video": result["videoUrl"],
        "trace": result["traceUrl"],
        "step": result["steps"][0]["screenshotUrl"],
        "downloads/01-report.csv": result["downloads"][0]["downloadUrl"],
    }
    for name, url in urls.items():
        response = await opened(client, url)
        assert response.status_code == 200, name
        assert response.content == FILES[name]
    assert item["errorScreenshotUrl"].split("?")[0] == result["errorScreenshotUrl"].split("?")[0]
    assert result["steps"][1]["screenshotUrl"] == "https://cdn.example/shot.png"
    assert result["downloads"][0]["fileName"] == "report.csv"
    assert result["downloads"][0]["stepNumber"] == 3
    assert result["downloads"][1] == {
        "fileName": "cancelled.zip",
        "sourceUrl": "https://site.example/x",
        "stepNumber": None,
        "sizeBytes": None,
        "error": "canceled",
        "downloadUrl": None,
    }
    assert parse_qs(urlsplit(item["vncUrl"]).query).keys() == {"expires", "sig"}
    assert (await opened(client, item["vncUrl"])).status_code == 200


async def test_a_signature_opens_only_its_own_path_and_only_until_it_expires(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller, settings: Settings
) -> None:
    stored = await stored_artifacts(session, editor, settings)
    found = data(
        await gql(client, editor, QUERY, itemId=str(stored.item.id), resultId=str(stored.result.id))
    )
    video = found["testRunResult"]["videoUrl"]
    live = found["testRunItem"]["vncUrl"]
    expires = parse_qs(urlsplit(video).query)["expires"][0]

    refused = [
        await opened(client, video.replace("/video?", "/trace?")),  # another file, same signature
        await opened(client, video.replace(f"expires={expires}", f"expires={int(expires) + 60}")),
        await opened(client, video.replace(f"expires={expires}", "expires=1000")),  # long past
        await opened(client, live.replace(str(stored.item.id), str(stored.result.id))),
    ]

    assert [response.status_code for response in refused] == [403, 403, 403, 404]


async def test_a_path_outside_the_rows_own_folder_is_never_signed(
    client: httpx.AsyncClient,
    session: AsyncSession,
    make_caller: MakeCaller,
    settings: Settings,
) -> None:
    victim = await make_caller()
    theirs = await stored_artifacts(session, victim, settings)
    attacker = await make_caller()
    mine = await stored_artifacts(session, attacker, settings)
    # An outside executor of the attacker's project writes the victim's paths into its rows.
    mine.result.video_path = theirs.result.video_path
    mine.item.error_screenshot_path = theirs.item.error_screenshot_path
    await session.flush()

    found = data(
        await gql(client, attacker, QUERY, itemId=str(mine.item.id), resultId=str(mine.result.id))
    )
    rest = await client.get(f"/api/v1/test-run-results/{mine.result.id}", headers=attacker.headers)

    assert found["testRunResult"]["videoUrl"] is None
    assert found["testRunItem"]["errorScreenshotUrl"] is None
    assert found["testRunResult"]["traceUrl"] is not None  # its own file still is
    assert rest.json()["video_url"] is None


async def test_rest_bodies_carry_the_same_urls(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller, settings: Settings
) -> None:
    stored = await stored_artifacts(session, editor, settings)
    run_id = stored.item.test_run_id
    result_id = stored.result.id

    result = await client.get(f"/api/v1/test-run-results/{result_id}", headers=editor.headers)
    steps = await client.get(f"/api/v1/test-run-results/{result_id}/steps", headers=editor.headers)
    items = await client.get(f"/api/v1/test-runs/{run_id}/items", headers=editor.headers)

    body = result.json()
    [item] = items.json()["items"]
    first, second = steps.json()["items"]
    for url, name in (
        (body["video_url"], "video"),
        (body["trace_url"], "trace"),
        (body["error_screenshot_url"], "error"),
        (item["error_screenshot_url"], "error"),
        (first["screenshot_url"], "step"),
        (body["download_urls"][0], "downloads/01-report.csv"),
    ):
        response = await opened(client, url)
        assert (response.status_code, response.content) == (200, FILES[name]), name
    assert second["screenshot_url"] == "https://cdn.example/shot.png"
    assert body["download_urls"][1] is None  # it was never saved
    assert (await opened(client, item["vnc_url"])).status_code == 200
    assert "sig=" in item["vnc_url"] and "expires=" in item["vnc_url"]


@pytest.mark.parametrize("stored_url", ["https://e2b.example/vnc.html?autoconnect=true"])
async def test_another_sandboxs_stream_url_is_answered_as_stored(
    client: httpx.AsyncClient,
    session: AsyncSession,
    editor: Caller,
    settings: Settings,
    stored_url: str,
) -> None:
    stored = await stored_artifacts(session, editor, settings)
    stored.item.vnc_url = stored_url
    await session.flush()

    found = data(
        await gql(client, editor, QUERY, itemId=str(stored.item.id), resultId=str(stored.result.id))
    )

    assert found["testRunItem"]["vncUrl"] == stored_url
