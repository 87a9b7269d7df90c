"""Every REST error case: the spec's bodies for 400, 401, 403, 404, 409, 422, never a 500."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import Role
from tests.factories import make_item, make_project, make_run, make_test_case
from tests.fixtures.http import Caller, MakeCaller


async def test_validation_error_names_each_field(client: httpx.AsyncClient, editor: Caller) -> None:
    response = await client.post(
        "/api/v1/test-runs",
        headers=editor.headers,
        json={"run_name": "Smoke", "parallel_count": 11, "retry_count": -1},
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Validation error",
        "errors": [
            {"field": "parallel_count", "message": "Must be between 1 and 10"},
            {"field": "retry_count", "message": "Must be between 0 and 10"},
        ],
    }


@pytest.mark.parametrize(
    ("content", "field", "message"),
    [
        (b"{not json", "body", "Invalid JSON"),
        (b"[1, 2]", "body", "Input should be an object"),
        (b'"text"', "body", "Input should be an object"),
        (b'{"run_name": 12}', "run_name", "Input should be a valid string"),
        (b'{"run_name": "x", "parallel_count": "3"}', "parallel_count", "valid integer"),
        (b'{"run_name": "x", "parallel_enabled": "yes"}', "parallel_enabled", "valid boolean"),
        (b'{"run_name": "x", "unknown": 1}', "unknown", "Extra inputs are not permitted"),
        (b'{"run_name": "a\\u0000b"}', "run_name", "NUL"),
        (b'{"run_name": "x", "tags": ["ok", ""]}', "tags.1", "at least 1 character"),
        (b"{}", "run_name", "Field required"),
        (b"", "run_name", "Field required"),
    ],
)
async def test_malformed_bodies_and_wrong_json_types_are_400(
    client: httpx.AsyncClient, editor: Caller, content: bytes, field: str, message: str
) -> None:
    response = await client.post("/api/v1/test-runs", headers=editor.headers, content=content)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["detail"] == "Validation error"
    assert body["errors"][0]["field"] == field
    assert message in body["errors"][0]["message"]


async def test_a_whole_float_is_an_integer_as_json_schema_has_it(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    response = await client.post(
        "/api/v1/test-runs",
        headers=editor.headers,
        json={"run_name": "x", "parallel_count": 3.0, "viewport_width": 2.5e3},
    )
    assert response.status_code == 201, response.text
    assert response.json()["parallel_count"] == 3
    refused = await client.post(
        "/api/v1/test-runs", headers=editor.headers, json={"run_name": "x", "parallel_count": 2.5}
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "parallel_count"


async def test_a_timestamp_must_be_an_iso_string(client: httpx.AsyncClient, editor: Caller) -> None:
    body = {"schedule_name": "x", "suite_path": ["ROOT"], "scheduled_datetime": 1700000000}
    response = await client.post("/api/v1/schedules", headers=editor.headers, json=body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "scheduled_datetime"


async def test_timestamps_outside_the_storable_range_are_400(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    response = await client.post(
        "/api/v1/test-runs",
        headers=editor.headers,
        json={"run_name": "x", "scheduled_at": "0001-01-01T00:00:00+05:00"},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "scheduled_at", "message": "Is outside the years 1 to 9999 in UTC"}
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=101", "limit"),
        ("limit=0", "limit"),
        ("offset=-1", "offset"),
        ("limit=abc", "limit"),
        ("status=running,finished", "status.1"),
        ("sort_by=name", "sort_by"),
        ("from_date=yesterday", "from_date"),
        ("from_date=2026-01-01T10:00:00", "from_date"),
        ("created_by=nobody", "created_by"),
        ("colour=red", "colour"),
        ("limit=1&limit=2", "limit"),
        ("search=a%00b", "search"),
    ],
)
async def test_bad_query_parameters_are_400_naming_them(
    client: httpx.AsyncClient, editor: Caller, query: str, field: str
) -> None:
    response = await client.get(f"/api/v1/test-runs?{query}", headers=editor.headers)
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == "Validation error"
    assert field in [error["field"] for error in response.json()["errors"]]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer trn_" + "x" * 43},
        {"Authorization": "Bearer not-a-token"},
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/test-runs"),
        ("POST", "/api/v1/test-runs"),
        ("GET", f"/api/v1/test-runs/{uuid.uuid4()}/report"),
        ("POST", "/api/runs/execute"),
        ("GET", "/api/v1/schedules/pending"),
    ],
)
async def test_without_a_valid_token_every_route_is_401(
    client: httpx.AsyncClient, headers: dict[str, str], method: str, path: str
) -> None:
    response = await client.request(method, path, headers=headers, json={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert set(response.json()) == {"detail"}


async def test_a_viewer_token_reads_but_does_not_write(
    client: httpx.AsyncClient, make_caller: MakeCaller
) -> None:
    viewer = await make_caller(role=Role.VIEWER)
    assert (await client.get("/api/v1/test-runs", headers=viewer.headers)).status_code == 200
    response = await client.post(
        "/api/v1/test-runs", headers=viewer.headers, json={"run_name": "Nope"}
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "A viewer token cannot change data; use an editor token"}


@pytest.mark.parametrize(
    ("method", "path", "detail"),
    [
        ("GET", "/api/v1/test-runs/{id}", "Test run not found: {id}"),
        ("PUT", "/api/v1/test-runs/{id}", "Test run not found: {id}"),
        ("DELETE", "/api/v1/test-runs/{id}", "Test run not found: {id}"),
        ("POST", "/api/v1/test-runs/{id}/start", "Test run not found: {id}"),
        ("GET", "/api/v1/test-runs/{id}/summary", "Test run not found: {id}"),
        ("GET", "/api/v1/test-runs/{id}/report", "Test run not found: {id}"),
        ("GET", "/api/v1/test-runs/{id}/items", "Test run not found: {id}"),
        ("GET", "/api/v1/test-runs/{id}/results", "Test run not found: {id}"),
        ("GET", "/api/v1/test-run-items/{id}/results", "Test run item not found: {id}"),
        ("GET", "/api/v1/test-run-results/{id}", "Test run result not found: {id}"),
        ("GET", "/api/v1/test-run-results/{id}/steps", "Test run result not found: {id}"),
        ("GET", "/api/v1/test-run-results/{id}/steps/1", "Test run result not found: {id}"),
        ("GET", "/api/v1/test-run-results/{id}/console-logs", "Test run result not found: {id}"),
        ("GET", "/api/v1/test-cases/{id}/history", "Test case not found: {id}"),
        ("GET", "/api/v1/schedules/{id}", "Schedule not found: {id}"),
        ("GET", "/api/v1/schedules/{id}/history", "Schedule not found: {id}"),
        ("POST", "/api/v1/schedules/{id}/pause", "Schedule not found: {id}"),
    ],
)
async def test_unknown_and_malformed_ids_are_404_naming_them(
    client: httpx.AsyncClient, editor: Caller, method: str, path: str, detail: str
) -> None:
    for id_ in (str(uuid.uuid4()), "not-a-uuid"):
        body = {"run_name": "x"} if method == "PUT" else None
        response = await client.request(
            method, path.format(id=id_), headers=editor.headers, json=body
        )
        assert response.status_code == 404, (id_, response.text)
        assert response.json() == {"detail": detail.format(id=id_)}


async def test_another_projects_run_is_404_never_403_and_never_its_data(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller, make_caller: MakeCaller
) -> None:
    other = await make_caller(project=await make_project(session, tenant_id="globex"))
    run = await make_run(session, other.project, other.user)
    for method, path in [
        ("GET", f"/api/v1/test-runs/{run.id}"),
        ("GET", f"/api/v1/test-runs/{run.id}/report?format=junit"),
        ("DELETE", f"/api/v1/test-runs/{run.id}"),
        ("POST", f"/api/v1/test-runs/{run.id}/start"),
    ]:
        response = await client.request(method, path, headers=editor.headers)
        assert response.status_code == 404, path
        assert response.json() == {"detail": f"Test run not found: {run.id}"}


async def test_an_item_of_another_run_is_404(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    test_case = await make_test_case(session, editor.project)
    run = await make_run(session, editor.project, editor.user)
    other_run = await make_run(session, editor.project, editor.user)
    item = await make_item(session, other_run, test_case)
    path = f"/api/v1/test-runs/{run.id}/items/{item.id}"
    for method in ("GET", "DELETE"):
        response = await client.request(method, path, headers=editor.headers)
        assert response.status_code == 404
        assert response.json() == {"detail": f"Test run item not found: {item.id}"}


async def test_a_test_case_already_in_the_run_is_409(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    test_case = await make_test_case(session, editor.project)
    run = await make_run(session, editor.project, editor.user)
    await make_item(session, run, test_case)
    for path, body in [
        (f"/api/v1/test-runs/{run.id}/items", {"test_case_id": str(test_case.id)}),
        (f"/api/v1/test-runs/{run.id}/items/bulk", {"test_case_ids": [str(test_case.id)]}),
    ]:
        response = await client.post(path, headers=editor.headers, json=body)
        assert response.status_code == 409
        assert response.json() == {"detail": "Test case already exists in this run"}


async def test_starting_a_completed_run_is_422_naming_its_status(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    run = await make_run(session, editor.project, editor.user, status="completed")
    response = await client.post(f"/api/v1/test-runs/{run.id}/start", headers=editor.headers)
    assert response.status_code == 422
    assert response.json() == {"detail": "Cannot start test run: status is 'completed'"}


async def test_results_for_a_server_run_are_422(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    test_case = await make_test_case(session, editor.project)
    run = await make_run(session, editor.project, editor.user, status="running")
    item = await make_item(session, run, test_case, status="running")
    response = await client.post(
        "/api/v1/test-run-results",
        headers=editor.headers,
        json={
            "test_run_id": str(run.id),
            "test_run_item_id": str(item.id),
            "test_case_id": str(test_case.id),
            "status": "passed",
        },
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": "Cannot submit results: test run is executed by the server"
    }


async def test_idempotency_key_creates_once_then_answers_the_same_run(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    headers = editor.headers | {"Idempotency-Key": "ci-build-4711"}
    first = await client.post("/api/v1/test-runs", headers=headers, json={"run_name": "CI"})
    again = await client.post("/api/v1/test-runs", headers=headers, json={"run_name": "Other"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert again.json()["idempotency_key"] == "ci-build-4711"
    other = await client.post(
        "/api/v1/test-runs",
        headers=editor.headers | {"Idempotency-Key": "ci-build-4712"},
        json={"run_name": "CI"},
    )
    assert other.status_code == 201
    assert other.json()["id"] != first.json()["id"]
    too_long = await client.post(
        "/api/v1/test-runs",
        headers=editor.headers | {"Idempotency-Key": "k" * 256},
        json={"run_name": "CI"},
    )
    assert too_long.status_code == 400
    assert too_long.json()["errors"][0]["field"] == "idempotency_key"


async def test_unknown_paths_and_methods_answer_json(
    client: httpx.AsyncClient, editor: Caller
) -> None:
    missing = await client.get("/api/v1/nothing-here", headers=editor.headers)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}
    wrong = await client.patch("/api/v1/test-runs", headers=editor.headers)
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET, POST"
    literal = await client.put("/api/v1/schedules/pending", headers=editor.headers)
    assert literal.status_code == 405
    assert literal.headers["allow"] == "GET"
