"""REST routes of runs and items: listing with filters, changes, deletion, the item order."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from dramatiq.brokers.stub import StubBroker
from sqlalchemy.ext.asyncio import AsyncSession

from execution.dispatch import RUNS_QUEUE
from tests.factories import make_item, make_run, make_test_case
from tests.fixtures.http import Caller


async def test_list_filters_sorts_and_paginates(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    project, user = editor.project, editor.user
    await make_run(
        session, project, user, run_name="Nightly A", status="completed", pass_rate=90,
        tags=["nightly"], suite_path=["ROOT", "Regression"],
        created_at=datetime(2026, 1, 10, tzinfo=UTC),
    )  # fmt: skip
    await make_run(
        session, project, user, run_name="Nightly B", status="completed", pass_rate=50,
        tags=["nightly", "smoke"], suite_path=["ROOT", "Regression", "Smoke"],
        created_at=datetime(2026, 1, 17, tzinfo=UTC),
    )  # fmt: skip
    await make_run(
        session, project, user, run_name="Manual", status="pending",
        created_at=datetime(2026, 1, 18, tzinfo=UTC),
    )  # fmt: skip

    async def names(query: str) -> list[str]:
        response = await client.get(f"/api/v1/test-runs?{query}", headers=editor.headers)
        assert response.status_code == 200, response.text
        return [run["run_name"] for run in response.json()["items"]]

    assert await names("") == ["Manual", "Nightly B", "Nightly A"]
    assert await names("status=completed") == ["Nightly B", "Nightly A"]
    assert await names("status=completed,pending&sort_by=pass_rate&sort_order=desc") == [
        "Nightly A",
        "Nightly B",
        "Manual",
    ]
    assert await names("tags=nightly,smoke") == ["Nightly B"]
    assert await names("suite_path=ROOT,Regression,Smoke") == ["Nightly B"]
    assert await names("from_date=2026-01-11&to_date=2026-01-17") == ["Nightly B"]
    assert await names("search=nightly") == ["Nightly B", "Nightly A"]
    assert await names(f"created_by={user.id}&status=pending") == ["Manual"]

    page = await client.get("/api/v1/test-runs?limit=2&offset=1", headers=editor.headers)
    body = page.json()
    assert (body["total"], body["limit"], body["offset"]) == (3, 2, 1)
    assert [run["run_name"] for run in body["items"]] == ["Nightly B", "Nightly A"]
    default = (await client.get("/api/v1/test-runs", headers=editor.headers)).json()
    assert (default["limit"], default["offset"]) == (20, 0)


async def test_get_update_and_delete_a_run(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    run = await make_run(session, editor.project, editor.user)
    path = f"/api/v1/test-runs/{run.id}"
    assert (await client.get(path, headers=editor.headers)).json()["run_name"] == run.run_name
    updated = await client.put(
        path, headers=editor.headers, json={"run_name": "Renamed", "notes": None, "tags": ["a"]}
    )
    assert updated.status_code == 200, updated.text
    assert (updated.json()["run_name"], updated.json()["tags"]) == ("Renamed", ["a"])
    deleted = await client.delete(path, headers=editor.headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert (await client.get(path, headers=editor.headers)).status_code == 404


async def test_start_hands_a_server_run_to_the_workers_and_stop_cancels_it(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller, stub_broker: StubBroker
) -> None:
    test_case = await make_test_case(session, editor.project)
    run = await make_run(session, editor.project, editor.user)
    await make_item(session, run, test_case)
    started = await client.post(f"/api/v1/test-runs/{run.id}/start", headers=editor.headers)
    assert started.status_code == 200, started.text
    assert started.json()["message"] == "Test run started with 1 test case"
    assert stub_broker.queues[RUNS_QUEUE].qsize() == 1

    again = await client.post(f"/api/v1/test-runs/{run.id}/start", headers=editor.headers)
    assert again.json() == {"detail": "Cannot start test run: status is 'running'"}
    stopped = await client.post(f"/api/v1/test-runs/{run.id}/stop", headers=editor.headers)
    assert stopped.status_code == 200
    assert stopped.json()["status"] == "cancelled"
    cancel = await client.post(f"/api/v1/test-runs/{run.id}/cancel", headers=editor.headers)
    assert cancel.status_code == 422
    assert cancel.json() == {"detail": "Cannot cancel test run: status is 'cancelled'"}


async def test_cancel_a_pending_run(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    run = await make_run(session, editor.project, editor.user)
    response = await client.post(f"/api/v1/test-runs/{run.id}/cancel", headers=editor.headers)
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    stop = await client.post(f"/api/v1/test-runs/{run.id}/stop", headers=editor.headers)
    assert stop.json() == {"detail": "Cannot stop test run: status is 'cancelled'"}


async def test_items_add_list_get_move_reorder_and_remove(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    cases = [await make_test_case(session, editor.project) for _ in range(4)]
    run = await make_run(session, editor.project, editor.user)
    items_path = f"/api/v1/test-runs/{run.id}/items"

    one = await client.post(
        items_path, headers=editor.headers, json={"test_case_id": str(cases[0].id)}
    )
    assert one.status_code == 201, one.text
    assert one.json()["execution_order"] == 1
    bulk = await client.post(
        items_path + "/bulk",
        headers=editor.headers,
        json={"test_case_ids": [str(case.id) for case in cases[1:]]},
    )
    assert bulk.status_code == 201
    ids = [one.json()["id"]] + [item["id"] for item in bulk.json()["items"]]

    async def order() -> list[str]:
        listed = await client.get(items_path, headers=editor.headers)
        assert listed.json()["total"] == len(listed.json()["items"])
        return [item["id"] for item in listed.json()["items"]]

    assert await order() == ids
    got = await client.get(f"{items_path}/{ids[2]}", headers=editor.headers)
    assert got.json()["test_case_id"] == str(cases[2].id)

    moved = await client.put(
        f"{items_path}/{ids[3]}", headers=editor.headers, json={"execution_order": 1}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["execution_order"] == 1
    assert await order() == [ids[3], ids[0], ids[1], ids[2]]

    reordered = await client.post(
        items_path + "/reorder", headers=editor.headers, json={"item_ids": ids[::-1]}
    )
    assert reordered.status_code == 200, reordered.text
    assert [item["id"] for item in reordered.json()["items"]] == ids[::-1]
    partial = await client.post(
        items_path + "/reorder", headers=editor.headers, json={"item_ids": ids[:2]}
    )
    assert partial.status_code == 400
    assert partial.json()["errors"][0]["field"] == "item_ids"

    removed = await client.delete(f"{items_path}/{ids[1]}", headers=editor.headers)
    assert removed.status_code == 204
    assert await order() == [ids[3], ids[2], ids[0]]
    page = await client.get(items_path + "?limit=1&offset=2", headers=editor.headers)
    assert page.json()["total"] == 3
    assert [item["id"] for item in page.json()["items"]] == [ids[0]]


async def test_items_of_a_started_run_do_not_change(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    test_case = await make_test_case(session, editor.project)
    run = await make_run(session, editor.project, editor.user, status="running")
    item = await make_item(session, run, test_case, status="queued")
    moved = await client.put(
        f"/api/v1/test-runs/{run.id}/items/{item.id}",
        headers=editor.headers,
        json={"execution_order": 1},
    )
    assert moved.status_code == 422
    assert moved.json() == {"detail": "Cannot reorder items of test run: status is 'running'"}


async def test_the_accessibility_scan_setting_is_created_changed_and_validated(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    created = await client.post(
        "/api/v1/test-runs",
        headers=editor.headers,
        json={"run_name": "A11y", "accessibility_scan": True},
    )
    assert created.status_code == 201, created.text
    assert created.json()["accessibility_scan"] is True
    path = f"/api/v1/test-runs/{created.json()['id']}"

    updated = await client.put(path, headers=editor.headers, json={"accessibility_scan": False})
    assert updated.status_code == 200, updated.text
    assert updated.json()["accessibility_scan"] is False
    wrong = await client.put(path, headers=editor.headers, json={"accessibility_scan": "often"})
    assert wrong.status_code == 400
    assert [error["field"] for error in wrong.json()["errors"]] == ["accessibility_scan"]
    cleared = await client.put(path, headers=editor.headers, json={"accessibility_scan": None})
    assert cleared.status_code == 400
    assert [error["field"] for error in cleared.json()["errors"]] == ["accessibility_scan"]
