"""acceptScreenshotBaseline over GraphQL and REST: who may, what can be accepted, what changes."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.baselines import ScreenshotBaseline
from models.enums import Role
from models.results import CheckpointResult
from tests.factories import make_item, make_result, make_run, make_test_case
from tests.fixtures.http import Caller, MakeCaller
from tests.graphql import data, error, gql

ACCEPT = """
mutation Accept($id: UUID!) {
  acceptScreenshotBaseline(checkpointId: $id) {
    id testCaseId name viewportWidth viewportHeight imagePath checkpointResultId acceptedBy
  }
}
"""


async def _checkpoint(session: AsyncSession, caller: Caller, **fields: object) -> CheckpointResult:
    case = await make_test_case(session, caller.project)
    run = await make_run(session, caller.project, caller.user)
    result = await make_result(session, await make_item(session, run, case))
    values: dict[str, object] = {
        "test_run_result_id": result.id,
        "checkpoint_name": "Check that the screenshot 'Home' matches its baseline",
        "checkpoint_type": "screenshot",
        "status": "failed",
        "profile": "visual",
        "expected_properties": {"name": "Home", "viewport": {"width": 1280, "height": 720}},
        "actual_screenshot_path": f"{run.id}/{result.test_run_item_id}/{result.id}/home-actual.png",
        "baseline_screenshot_path": "old/home.png",
    }
    checkpoint = CheckpointResult(**(values | fields))
    session.add(checkpoint)
    await session.flush()
    return checkpoint


async def test_an_editor_accepts_over_graphql_and_again_replaces_it(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    checkpoint = await _checkpoint(session, editor)

    accepted = data(await gql(client, editor, ACCEPT, id=str(checkpoint.id)))

    baseline = accepted["acceptScreenshotBaseline"]
    assert baseline | {"id": None, "testCaseId": None} == {
        "id": None,
        "testCaseId": None,
        "name": "Home",
        "viewportWidth": 1280,
        "viewportHeight": 720,
        "imagePath": checkpoint.actual_screenshot_path,
        "checkpointResultId": str(checkpoint.id),
        "acceptedBy": str(editor.user.id),
    }
    again = data(await gql(client, editor, ACCEPT, id=str(checkpoint.id)))
    assert again["acceptScreenshotBaseline"]["id"] == baseline["id"]
    stored = list(await session.scalars(select(ScreenshotBaseline)))
    assert [row.image_path for row in stored] == [checkpoint.actual_screenshot_path]


async def test_accepting_over_rest_answers_the_baseline(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    checkpoint = await _checkpoint(session, editor)

    response = await client.post(
        f"/api/v1/checkpoint-results/{checkpoint.id}/accept-baseline", headers=editor.headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["image_path"], body["accepted_by"]) == (
        "Home",
        checkpoint.actual_screenshot_path,
        str(editor.user.id),
    )


async def test_what_cannot_be_accepted_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller, make_caller: MakeCaller
) -> None:
    element = await _checkpoint(
        session, editor, checkpoint_type="element", actual_screenshot_path=None
    )
    screenshot = await _checkpoint(session, editor)
    viewer = await make_caller(role=Role.VIEWER, project=editor.project)
    stranger = await make_caller()
    missing = uuid.uuid4()

    elsewhere = await _checkpoint(
        session, editor, actual_screenshot_path=f"{uuid.uuid4()}/someone-elses.png"
    )
    outside = error(await gql(client, editor, ACCEPT, id=str(elsewhere.id)))
    assert outside == {
        "message": f"Cannot accept checkpoint {elsewhere.id} as a baseline: its actual image "
        f"'{elsewhere.actual_screenshot_path}' is not a file of its own result",
        "code": "INVALID_STATE",
    }
    wrong_kind = error(await gql(client, editor, ACCEPT, id=str(element.id)))
    assert wrong_kind["code"] == "INVALID_STATE"
    assert wrong_kind["message"].startswith(
        f"Cannot accept checkpoint {element.id} as a baseline: it is a 'element' checkpoint"
    )
    assert error(await gql(client, viewer, ACCEPT, id=str(screenshot.id)))["code"] == "FORBIDDEN"
    assert error(await gql(client, stranger, ACCEPT, id=str(screenshot.id))) == {
        "message": f"Checkpoint result not found: {screenshot.id}",
        "code": "NOT_FOUND",
    }
    rest = await client.post(
        f"/api/v1/checkpoint-results/{missing}/accept-baseline", headers=editor.headers
    )
    assert rest.status_code == 404
    assert rest.json() == {"detail": f"Checkpoint result not found: {missing}"}
    state = await client.post(
        f"/api/v1/checkpoint-results/{element.id}/accept-baseline", headers=editor.headers
    )
    assert state.status_code == 422
    bad_id = await client.post(
        "/api/v1/checkpoint-results/not-a-uuid/accept-baseline", headers=editor.headers
    )
    assert bad_id.json() == {"detail": "Checkpoint result not found: not-a-uuid"}
    assert list(await session.scalars(select(ScreenshotBaseline))) == []
