"""Result submission over GraphQL: the manual workflow, data-driven items, retries, scripts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import RunEvent, TestCase, TestRun, TestRunItem, TestStepResult
from models.enums import Role
from tests.factories import make_item, make_run, make_test_case
from tests.fixtures.http import Caller, MakeCaller
from tests.graphql import data, error, gql

START = datetime(2026, 1, 17, 10, 5, tzinfo=UTC)
RESULT_FIELDS = """
  id status retryAttempt iterationNumber durationMs passRate checkpointPassRate
  totalSteps passedSteps failedSteps skippedSteps totalCheckpoints passedCheckpoints
  failedCheckpoints totalPreScripts failedPreScripts preScriptAborted errorMessage
"""
SUBMIT = f"""
mutation Submit($input: TestRunResultInput!) {{
  submitTestRunResult(input: $input) {{ {RESULT_FIELDS} }}
}}
"""
ADD_STEPS = f"""
mutation Steps($id: UUID!, $steps: [StepResultInput!]!) {{
  addStepResults(resultId: $id, steps: $steps) {{ {RESULT_FIELDS} }}
}}
"""
ADD_CHECKPOINTS = f"""
mutation Checkpoints($id: UUID!, $checkpoints: [CheckpointResultInput!]!) {{
  addCheckpointResults(resultId: $id, checkpoints: $checkpoints) {{ {RESULT_FIELDS} }}
}}
"""
ADD_CONSOLE = """
mutation Console($id: UUID!, $logs: [ConsoleLogInput!]!) {
  addConsoleLogs(resultId: $id, logs: $logs) { id }
}
"""
ADD_NETWORK = """
mutation Network($id: UUID!, $logs: [NetworkLogInput!]!) {
  addNetworkLogs(resultId: $id, logs: $logs) { id }
}
"""
ADD_SCRIPT = f"""
mutation Script($id: UUID!, $input: ScriptResultInput!) {{
  addScriptResult(resultId: $id, input: $input) {{ {RESULT_FIELDS} }}
}}
"""
READ_RESULT = """
query Read($id: UUID!) {
  testRunResult(id: $id) {
    id status totalSteps
    steps { stepNumber action status durationMs }
    checkpoints { checkpointName checkpointType status diffPercentage testStepResultId }
    consoleLogs { logLevel message stepIndex }
    networkLogs { url method statusCode }
    scripts { scriptName scriptType status isCritical }
  }
}
"""


@dataclass
class ClientRun:
    """A running run executed by the client, with its items and their test cases."""

    run: TestRun
    items: list[TestRunItem]
    test_cases: list[TestCase]


async def client_run(
    session: AsyncSession,
    caller: Caller,
    names: list[str],
    *,
    data_rows: list[dict[str, Any]] | None = None,
    **run_fields: Any,
) -> ClientRun:
    values = {"status": "running", "executor": "client", "started_at": START} | run_fields
    run = await make_run(session, caller.project, caller.user, **values)
    cases = [
        await make_test_case(session, caller.project, name=name, data_rows=data_rows)
        for name in names
    ]
    items = [await make_item(session, run, case, status="queued") for case in cases]
    return ClientRun(run, items, cases)


def submission(setup: ClientRun, index: int, status: str = "PASSED", **fields: Any) -> dict:
    item = setup.items[index]
    return {
        "testRunId": str(setup.run.id),
        "testRunItemId": str(item.id),
        "testCaseId": str(item.test_case_id),
        "status": status,
        **fields,
    }


async def submit(client: httpx.AsyncClient, caller: Caller, value: dict) -> dict[str, Any]:
    result: dict[str, Any] = data(await gql(client, caller, SUBMIT, input=value))
    return result["submitTestRunResult"]


def steps(passed: int, failed: int = 0, *, first: int = 1) -> list[dict[str, Any]]:
    statuses = ["PASSED"] * passed + ["FAILED"] * failed
    return [
        {
            "stepNumber": first + index,
            "action": "click_element",
            "status": status,
            "startedAt": (START + timedelta(seconds=index)).isoformat(),
            "completedAt": (START + timedelta(seconds=index, milliseconds=250)).isoformat(),
            "selector": "#submit",
        }
        for index, status in enumerate(statuses)
    ]


def checkpoints(passed: int, failed: int = 0) -> list[dict[str, Any]]:
    statuses = ["PASSED"] * passed + ["FAILED"] * failed
    return [
        {"checkpointName": f"check {n}", "checkpointType": "ELEMENT", "status": status}
        for n, status in enumerate(statuses)
    ]


async def run_row(session: AsyncSession, run: TestRun) -> TestRun:
    found = await session.scalar(
        select(TestRun).where(TestRun.id == run.id).execution_options(populate_existing=True)
    )
    assert found is not None
    return found


async def event_types(session: AsyncSession, run: TestRun) -> list[str]:
    rows = await session.scalars(
        select(RunEvent.type).where(RunEvent.test_run_id == run.id).order_by(RunEvent.seq)
    )
    return list(rows)


async def test_the_manual_workflow_completes_the_run_with_the_specs_numbers(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    setup = await client_run(session, editor, ["Login Test", "Search Test", "Checkout Test"])
    ends = [START + timedelta(milliseconds=ms) for ms in (145_000, 345_000, 630_000)]
    plans = [("PASSED", 15, 0, 5, 0), ("FAILED", 12, 3, 4, 1), ("PASSED", 15, 0, 5, 0)]

    for index, (status, passed, failed, cp_passed, cp_failed) in enumerate(plans):
        started = START if index == 0 else ends[index - 1]
        result = await submit(
            client,
            editor,
            submission(
                setup,
                index,
                status,
                startedAt=started.isoformat(),
                completedAt=ends[index].isoformat(),
                errorMessage="Element not found: #search-results" if failed else None,
            ),
        )
        assert result["durationMs"] == (ends[index] - started) / timedelta(milliseconds=1)
        with_steps = data(
            await gql(client, editor, ADD_STEPS, id=result["id"], steps=steps(passed, failed))
        )["addStepResults"]
        assert (with_steps["totalSteps"], with_steps["failedSteps"]) == (15, failed)
        assert with_steps["passRate"] == (80.0 if failed else 100.0)
        with_checkpoints = data(
            await gql(
                client,
                editor,
                ADD_CHECKPOINTS,
                id=result["id"],
                checkpoints=checkpoints(cp_passed, cp_failed),
            )
        )["addCheckpointResults"]
        assert with_checkpoints["totalCheckpoints"] == 5
        logs = [
            {"logLevel": "ERROR", "message": "boom", "timestamp": START.isoformat(), "stepIndex": 2}
        ]
        assert data(await gql(client, editor, ADD_CONSOLE, id=result["id"], logs=logs))

    run = await run_row(session, setup.run)
    assert run.status == "completed"
    assert (run.total_tests, run.passed_tests, run.failed_tests) == (3, 2, 1)
    assert str(run.pass_rate) == "66.67"
    assert run.completed_at == START + timedelta(milliseconds=630_000)
    assert run.duration_ms == 630_000
    assert run.current_item_index == 3
    types = await event_types(session, setup.run)
    assert types.count("run.completed") == 1
    assert types.count("result.submitted") == 3
    assert types[:3] == ["result.submitted", "item.updated", "run.updated"]


async def test_a_result_reads_back_with_every_detail(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    setup = await client_run(session, editor, ["Login Test"])
    result = await submit(client, editor, submission(setup, 0, "FAILED"))
    await gql(client, editor, ADD_STEPS, id=result["id"], steps=steps(1, 1))
    step_id = await session.scalar(
        select(TestStepResult.id).where(
            TestStepResult.test_run_result_id == result["id"], TestStepResult.step_number == 2
        )
    )
    checkpoint = {
        "checkpointName": "Title",
        "checkpointType": "SCREENSHOT",
        "status": "FAILED",
        "diffPercentage": 12.345,
        "testStepResultId": str(step_id),
    }
    network = {
        "url": "https://example.com/api",
        "method": "GET",
        "statusCode": 500,
        "timestamp": START.isoformat(),
    }
    console = [
        {
            "logLevel": level,
            "message": level,
            "timestamp": (START + timedelta(seconds=n)).isoformat(),
        }
        for n, level in enumerate(["WARN", "INFO"])
    ]
    script = {"scriptName": "seed", "scriptType": "POST_EXECUTION", "status": "PASSED"}
    for query, variables in [
        (ADD_CHECKPOINTS, {"checkpoints": [checkpoint]}),
        (ADD_NETWORK, {"logs": [network]}),
        (ADD_CONSOLE, {"logs": console[::-1]}),
        (ADD_SCRIPT, {"input": script}),
    ]:
        data(await gql(client, editor, query, id=result["id"], **variables))

    read = data(await gql(client, editor, READ_RESULT, id=result["id"]))["testRunResult"]

    assert (read["id"], read["status"], read["totalSteps"]) == (result["id"], "FAILED", 2)
    assert read["steps"] == [
        {"stepNumber": 1, "action": "click_element", "status": "PASSED", "durationMs": 250},
        {"stepNumber": 2, "action": "click_element", "status": "FAILED", "durationMs": 250},
    ]
    assert read["checkpoints"] == [
        {
            "checkpointName": "Title",
            "checkpointType": "SCREENSHOT",
            "status": "FAILED",
            "diffPercentage": 12.35,
            "testStepResultId": str(step_id),
        }
    ]
    assert [log["logLevel"] for log in read["consoleLogs"]] == ["WARN", "INFO"]
    assert read["networkLogs"] == [
        {"url": "https://example.com/api", "method": "GET", "statusCode": 500}
    ]
    assert read["scripts"] == [
        {
            "scriptName": "seed",
            "scriptType": "POST_EXECUTION",
            "status": "PASSED",
            "isCritical": False,
        }
    ]


async def test_submitted_counts_stand_until_step_rows_arrive(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    setup = await client_run(session, editor, ["A", "B"])

    result = await submit(
        client,
        editor,
        submission(
            setup, 0, passedSteps=9, failedSteps=1, passedCheckpoints=3, failedCheckpoints=1
        ),
    )

    assert (result["totalSteps"], result["passRate"]) == (10, 90.0)
    assert (result["totalCheckpoints"], result["checkpointPassRate"]) == (4, 75.0)
    replaced = data(await gql(client, editor, ADD_STEPS, id=result["id"], steps=steps(2)))
    assert (replaced["addStepResults"]["totalSteps"], replaced["addStepResults"]["passRate"]) == (
        2,
        100.0,
    )
    item = await session.scalar(
        select(TestRunItem)
        .where(TestRunItem.id == setup.items[0].id)
        .execution_options(populate_existing=True)
    )
    assert item is not None
    assert (item.status, item.total_steps, item.passed_steps, item.total_checkpoints) == (
        "passed",
        2,
        2,
        4,
    )


async def test_data_driven_iterations_count_x_of_y(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    rows = [{"user": "a"}, {"user": "b"}, {"user": "c"}]
    setup = await client_run(session, editor, ["Login rows"], data_rows=rows)

    for number, status in [(1, "PASSED"), (2, "FAILED")]:
        await submit(
            client,
            editor,
            submission(
                setup,
                0,
                status,
                iterationNumber=number,
                dataRowIndex=number - 1,
                dataRowValues=rows[number - 1],
            ),
        )
    item = await session.scalar(
        select(TestRunItem)
        .where(TestRunItem.id == setup.items[0].id)
        .execution_options(populate_existing=True)
    )
    assert item is not None
    assert (item.status, item.is_data_driven, item.total_iterations) == ("running", True, 2)
    assert (await run_row(session, setup.run)).status == "running"

    await submit(client, editor, submission(setup, 0, "PASSED", iterationNumber=3))

    await session.refresh(item)
    assert (item.status, item.total_iterations, item.passed_iterations) == ("failed", 3, 2)
    assert item.failed_iterations == 1
    assert (await run_row(session, setup.run)).status == "completed"


async def test_a_failed_attempt_is_retried_and_the_retry_decides(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    setup = await client_run(session, editor, ["Flaky"], retry_on_failure=True, retry_count=1)

    await submit(client, editor, submission(setup, 0, "FAILED", errorMessage="timeout"))
    item = await session.scalar(
        select(TestRunItem)
        .where(TestRunItem.id == setup.items[0].id)
        .execution_options(populate_existing=True)
    )
    assert item is not None
    assert (item.status, item.error_message) == ("running", "timeout")
    again = error(await gql(client, editor, SUBMIT, input=submission(setup, 0, "PASSED")))
    assert again["code"] == "CONFLICT"

    retried = await submit(client, editor, submission(setup, 0, "PASSED", retryAttempt=1))

    assert retried["retryAttempt"] == 1
    await session.refresh(item)
    assert (item.status, item.retry_attempt, item.error_message) == ("passed", 1, None)
    assert not item.max_retries_exhausted
    run = await run_row(session, setup.run)
    assert (run.status, run.passed_tests, str(run.pass_rate)) == ("completed", 1, "100.00")


async def test_the_last_failed_retry_exhausts_the_retries(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    setup = await client_run(session, editor, ["Broken"], retry_on_failure=True, retry_count=1)

    await submit(client, editor, submission(setup, 0, "FAILED"))
    await submit(client, editor, submission(setup, 0, "FAILED", retryAttempt=1))

    item = await session.scalar(
        select(TestRunItem)
        .where(TestRunItem.id == setup.items[0].id)
        .execution_options(populate_existing=True)
    )
    assert item is not None
    assert (item.status, item.retry_attempt, item.max_retries_exhausted) == ("failed", 1, True)
    beyond = error(
        await gql(client, editor, SUBMIT, input=submission(setup, 0, "FAILED", retryAttempt=2))
    )
    assert beyond["code"] == "INVALID_STATE"


async def test_a_failed_critical_pre_script_aborts_the_result(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    setup = await client_run(session, editor, ["Needs data"])
    result = await submit(client, editor, submission(setup, 0, "FAILED"))

    ok = {"scriptName": "login", "scriptType": "PRE_EXECUTION", "status": "PASSED"}
    first = data(await gql(client, editor, ADD_SCRIPT, id=result["id"], input=ok))
    failing = {
        "scriptName": "seed db",
        "scriptType": "PRE_EXECUTION",
        "scriptLanguage": "PYTHON",
        "status": "FAILED",
        "isCritical": True,
        "exitCode": 2,
        "stderr": "connection refused",
    }
    second = data(await gql(client, editor, ADD_SCRIPT, id=result["id"], input=failing))

    assert first["addScriptResult"]["preScriptAborted"] is False
    counted = second["addScriptResult"]
    assert (counted["totalPreScripts"], counted["failedPreScripts"]) == (2, 1)
    assert counted["preScriptAborted"] is True


async def test_submission_is_refused_in_every_wrong_state(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    server = await client_run(session, editor, ["S"], executor="server")
    pending = await client_run(session, editor, ["P"], status="pending", started_at=None)
    cancelled = await client_run(session, editor, ["C"], status="cancelled")
    done = await client_run(session, editor, ["D"])
    await submit(client, editor, submission(done, 0))

    for setup, message in [
        (server, "Cannot submit results: test run is executed by the server"),
        (pending, "Cannot submit results: status is 'pending'"),
        (cancelled, "Cannot submit results: status is 'cancelled'"),
        (done, "Cannot submit results: status is 'completed'"),
    ]:
        found = error(await gql(client, editor, SUBMIT, input=submission(setup, 0)))
        assert found == {"message": message, "code": "INVALID_STATE"}


async def test_details_are_refused_for_server_and_cancelled_runs_but_not_completed_ones(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    setup = await client_run(session, editor, ["Last"])
    result = await submit(client, editor, submission(setup, 0))
    assert (await run_row(session, setup.run)).status == "completed"

    # The spec's workflow posts the last result's steps after the run completed.
    late = data(await gql(client, editor, ADD_STEPS, id=result["id"], steps=steps(3)))
    assert late["addStepResults"]["totalSteps"] == 3

    run = await run_row(session, setup.run)
    run.status = "cancelled"
    await session.flush()
    found = error(await gql(client, editor, ADD_STEPS, id=result["id"], steps=steps(1, first=9)))
    assert found == {
        "message": "Cannot add step results: status is 'cancelled'",
        "code": "INVALID_STATE",
    }
    run.executor = "server"
    await session.flush()
    for query, variables, action in [
        (ADD_CHECKPOINTS, {"checkpoints": checkpoints(1)}, "add checkpoint results"),
        (
            ADD_CONSOLE,
            {"logs": [{"logLevel": "LOG", "message": "x", "timestamp": START.isoformat()}]},
            "add console logs",
        ),
        (
            ADD_SCRIPT,
            {"input": {"scriptName": "s", "scriptType": "ON_DEMAND", "status": "PASSED"}},
            "add script results",
        ),
    ]:
        found = error(await gql(client, editor, query, id=result["id"], **variables))
        assert found == {
            "message": f"Cannot {action}: test run is executed by the server",
            "code": "INVALID_STATE",
        }


async def test_results_must_match_the_run_item_and_attempt(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    setup = await client_run(session, editor, ["A", "B"])
    other = await client_run(session, editor, ["C"])
    stranger_item = {**submission(setup, 0), "testRunItemId": str(other.items[0].id)}
    wrong_case = {**submission(setup, 0), "testCaseId": str(setup.items[1].test_case_id)}

    found = error(await gql(client, editor, SUBMIT, input=stranger_item))
    assert found == {
        "message": f"Test run item not found: {other.items[0].id}",
        "code": "NOT_FOUND",
    }
    found = error(await gql(client, editor, SUBMIT, input=wrong_case))
    assert found["code"] == "VALIDATION_ERROR"
    assert [item["field"] for item in found["fields"]] == ["testCaseId"]
    no_retries = error(
        await gql(client, editor, SUBMIT, input=submission(setup, 0, retryAttempt=1))
    )
    assert no_retries["fields"] == [
        {"field": "retryAttempt", "message": "The test run allows at most 0 retries"}
    ]
    await submit(client, editor, submission(setup, 0))
    final = error(await gql(client, editor, SUBMIT, input=submission(setup, 0)))
    assert final == {
        "message": "Cannot submit results: test run item status is 'passed'",
        "code": "INVALID_STATE",
    }


async def test_step_numbers_are_recorded_once(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    setup = await client_run(session, editor, ["A", "B"])
    result = await submit(client, editor, submission(setup, 0))
    await gql(client, editor, ADD_STEPS, id=result["id"], steps=steps(3))

    again = error(await gql(client, editor, ADD_STEPS, id=result["id"], steps=steps(2, first=3)))
    twice = error(
        await gql(client, editor, ADD_STEPS, id=result["id"], steps=steps(1, first=7) * 2)
    )

    assert again == {
        "message": f"Step 3 is already recorded for test run result {result['id']}",
        "code": "CONFLICT",
    }
    assert twice["fields"] == [
        {"field": "steps", "message": "Step number 7 appears more than once"}
    ]


async def test_a_checkpoint_refers_to_a_step_of_its_own_result(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    setup = await client_run(session, editor, ["A", "B"])
    first = await submit(client, editor, submission(setup, 0))
    second = await submit(client, editor, submission(setup, 1))
    await gql(client, editor, ADD_STEPS, id=first["id"], steps=steps(1))
    step_id = await session.scalar(
        select(TestStepResult.id).where(TestStepResult.test_run_result_id == first["id"])
    )
    foreign = [*checkpoints(1), {**checkpoints(1)[0], "testStepResultId": str(step_id)}]

    found = error(await gql(client, editor, ADD_CHECKPOINTS, id=second["id"], checkpoints=foreign))

    assert found["fields"] == [
        {"field": "checkpoints.1.testStepResultId", "message": "Not a step of this test run result"}
    ]


async def test_invalid_values_name_their_fields(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    setup = await client_run(session, editor, ["A"])
    result = await submit(client, editor, submission(setup, 0, "FAILED"))
    bad_submission = submission(
        setup,
        0,
        passedSteps=-1,
        failedSteps=2,
        totalSteps=1,
        passRate=100.5,
        startedAt="2026-01-17T10:05:00",
        dataRowIndex=3,
    )
    bad_step = {
        **steps(1)[0],
        "stepNumber": 0,
        "action": " ",
        "completedAt": "2026-01-17T10:00:00+00:00",
        "durationMs": -5,
    }
    bad_checkpoint = {**checkpoints(1)[0], "checkpointName": " ", "diffPercentage": 101}
    bad_network = {"url": "", "method": " ", "timestamp": START.isoformat()}

    cases: list[tuple[str, dict[str, Any], list[str]]] = [
        (
            SUBMIT,
            {"input": bad_submission},
            ["dataRowIndex", "passRate", "passedSteps", "startedAt", "totalSteps"],
        ),
        (
            ADD_STEPS,
            {"id": result["id"], "steps": [bad_step]},
            [
                "steps.0.action",
                "steps.0.completedAt",
                "steps.0.durationMs",
                "steps.0.stepNumber",
            ],
        ),
        (ADD_STEPS, {"id": result["id"], "steps": []}, ["steps"]),
        (ADD_STEPS, {"id": result["id"], "steps": steps(5001)}, ["steps"]),
        (
            ADD_CHECKPOINTS,
            {"id": result["id"], "checkpoints": [bad_checkpoint]},
            ["checkpoints.0.checkpointName", "checkpoints.0.diffPercentage"],
        ),
        (ADD_NETWORK, {"id": result["id"], "logs": [bad_network]}, ["logs.0.method", "logs.0.url"]),
    ]
    for query, variables, fields in cases:
        found = error(await gql(client, editor, query, **variables))
        assert found["code"] == "VALIDATION_ERROR", (query, found)
        assert sorted({item["field"] for item in found["fields"]}) == fields


async def test_malformed_documents_and_values_are_validation_errors(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    setup = await client_run(session, editor, ["A"])
    result = await submit(client, editor, submission(setup, 0, "FAILED"))
    cases = [
        (SUBMIT, {"input": submission(setup, 0, "GREEN")}),
        (SUBMIT, {"input": {**submission(setup, 0), "testRunId": "not-a-uuid"}}),
        (SUBMIT, {"input": {**submission(setup, 0), "retryAttempt": "one"}}),
        (SUBMIT, {"input": {**submission(setup, 0), "durationMs": 2**40}}),
        (SUBMIT, {"input": {**submission(setup, 0), "unknown": 1}}),
        (ADD_STEPS, {"id": "12", "steps": steps(1)}),
        (ADD_STEPS, {"id": result["id"], "steps": [{**steps(1)[0], "status": "MAYBE"}]}),
        (ADD_CONSOLE, {"id": result["id"], "logs": [{"logLevel": "TRACE", "message": "x"}]}),
        (ADD_SCRIPT, {"id": result["id"], "input": {"scriptName": "s"}}),
    ]
    for query, variables in cases:
        body = await gql(client, editor, query, **variables)
        assert {e["extensions"]["code"] for e in body["errors"]} == {"VALIDATION_ERROR"}, body


async def test_other_projects_ids_are_not_found_and_viewers_cannot_write(
    client: httpx.AsyncClient, editor: Caller, make_caller: MakeCaller, session: AsyncSession
) -> None:
    setup = await client_run(session, editor, ["A", "B"])
    result = await submit(client, editor, submission(setup, 0, "FAILED"))
    stranger = await make_caller(role=Role.ADMIN)
    viewer = await make_caller(role=Role.VIEWER, project=editor.project)
    log = {"logLevel": "LOG", "message": "x", "timestamp": START.isoformat()}
    network = {"url": "https://x", "method": "GET", "timestamp": START.isoformat()}
    script = {"scriptName": "s", "scriptType": "ON_DEMAND", "status": "PASSED"}
    writes = [
        (ADD_STEPS, {"steps": steps(1)}),
        (ADD_CHECKPOINTS, {"checkpoints": checkpoints(1)}),
        (ADD_CONSOLE, {"logs": [log]}),
        (ADD_NETWORK, {"logs": [network]}),
        (ADD_SCRIPT, {"input": script}),
    ]

    found = error(await gql(client, stranger, SUBMIT, input=submission(setup, 1)))
    assert found == {"message": f"Test run not found: {setup.run.id}", "code": "NOT_FOUND"}
    for query, variables in [*writes, (READ_RESULT, {})]:
        found = error(await gql(client, stranger, query, id=result["id"], **variables))
        assert found == {
            "message": f"Test run result not found: {result['id']}",
            "code": "NOT_FOUND",
        }
    for query, variables in writes:
        assert error(await gql(client, viewer, query, id=result["id"], **variables))["code"] == (
            "FORBIDDEN"
        )
    assert error(await gql(client, viewer, SUBMIT, input=submission(setup, 1)))["code"] == (
        "FORBIDDEN"
    )
    assert data(await gql(client, viewer, READ_RESULT, id=result["id"]))["testRunResult"]


async def test_an_unknown_test_script_is_not_found(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    setup = await client_run(session, editor, ["A"])
    result = await submit(client, editor, submission(setup, 0))
    missing = "6f1c2a52-0000-4000-8000-000000000000"
    script = {"scriptName": "s", "scriptType": "ON_DEMAND", "status": "PASSED"}

    found = error(
        await gql(
            client, editor, ADD_SCRIPT, id=result["id"], input={**script, "testScriptId": missing}
        )
    )

    assert found == {"message": f"Test script not found: {missing}", "code": "NOT_FOUND"}


async def test_data_rows_bound_the_iterations_and_items_do_not_mix_kinds(
    client: httpx.AsyncClient, editor: Caller, session: AsyncSession
) -> None:
    setup = await client_run(session, editor, ["Rows", "Plain"], data_rows=[{"n": 1}, {"n": 2}])
    await submit(client, editor, submission(setup, 0, "FAILED", iterationNumber=1))

    beyond = error(await gql(client, editor, SUBMIT, input=submission(setup, 0, iterationNumber=3)))
    plain = error(await gql(client, editor, SUBMIT, input=submission(setup, 0)))
    twice = error(await gql(client, editor, SUBMIT, input=submission(setup, 0, iterationNumber=1)))

    assert beyond["fields"] == [
        {"field": "iterationNumber", "message": "The test case has 2 data rows"}
    ]
    assert plain["fields"] == [
        {
            "field": "iterationNumber",
            "message": "The test run item's earlier results are data-driven",
        }
    ]
    assert twice == {
        "message": "Iteration 1 of attempt 0 of this test run item already has a result",
        "code": "CONFLICT",
    }
