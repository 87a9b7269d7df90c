"""`POST /api/runs/execute` of runs-execute.md: start a run by id and tenant."""

from __future__ import annotations

from resolvers import runs
from resolvers.run_inputs import RunExecution
from server.rest.bodies import body
from server.rest.operations import AnyOperation, Call, NoQuery, Operation, Reply

ExecutionStarted = body(
    "RunExecutionStarted",
    "The run started.",
    success=(bool, ...),
    run_id=(str, ...),
    message=(str, ...),
)


async def execute_run(call: Call[RunExecution, NoQuery]) -> Reply:
    """Start the run as `POST /api/v1/test-runs/{id}/start` does; its test cases replay.

    A tenant other than the token's project's tenant, or an unknown run, is 404.
    """
    async with call.writing() as session:
        run, message = await runs.execute_test_run(
            session, principal=call.principal, data=call.body, dispatcher=call.dispatcher
        )
    return ExecutionStarted(success=True, run_id=str(run.id), message=message)


OPERATIONS: list[AnyOperation] = [
    Operation(
        "POST",
        "/api/runs/execute",
        execute_run,
        "Execute a test run",
        "Runs execution",
        RunExecution,
        NoQuery,
        ExecutionStarted,
        errors=(400, 403, 404, 422),
    )
]
