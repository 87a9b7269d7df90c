"""GraphQL documents and helpers shared by the run and item tests."""

from __future__ import annotations

import uuid
from typing import Any

import dramatiq
import httpx
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from execution.dispatch import RUNS_QUEUE
from models.runs import RunEvent, TestRun, TestRunItem
from models.tenancy import Project
from models.test_cases import TestCase
from tests.factories import make_test_case
from tests.fixtures.http import Caller
from tests.graphql import data, gql

RUN = """
fragment Run on TestRun {
  id runName runNumber status executor idempotencyKey suitePath suiteName tags notes
  totalTests passedTests failedTests skippedTests noRunTests passRate durationMs
  parallelEnabled parallelCount retryOnFailure retryCount browserName browserVersion
  osName osVersion viewportWidth viewportHeight scheduledAt startedAt completedAt
  currentItemIndex eventSeq createdBy projectId scheduleId createdAt updatedAt
  resultsFolder reportPath screenshotEveryStep recordVideo keepTraceOnFailure stepDelayMs
  accessibilityScan
  items { id executionOrder status testCaseId testCase { id name } }
}
"""
CREATE = (
    RUN
    + """
mutation Create($input: TestRunInput!, $key: String) {
  createTestRun(input: $input, idempotencyKey: $key) { created run { ...Run } }
}
"""
)
READ = RUN + "query Read($id: UUID!) { testRun(id: $id) { ...Run } }"
UPDATE = (
    RUN
    + """
mutation Update($id: UUID!, $input: TestRunUpdateInput!) {
  updateTestRun(id: $id, input: $input) { ...Run }
}
"""
)
DELETE = "mutation Delete($id: UUID!) { deleteTestRun(id: $id) }"
START = (
    RUN
    + """
mutation Start($id: UUID!, $environment: StartTestRunInput) {
  startTestRun(id: $id, environment: $environment) { message run { ...Run } }
}
"""
)
STOP = RUN + "mutation Stop($id: UUID!) { stopTestRun(id: $id) { ...Run } }"
CANCEL = RUN + "mutation Cancel($id: UUID!) { cancelTestRun(id: $id) { ...Run } }"
RERUN = RUN + "mutation Rerun($id: UUID!) { rerunFailedItems(id: $id) { ...Run } }"
ADD_ITEMS = """
mutation Add($runId: UUID!, $testCaseIds: [UUID!]!) {
  addTestRunItems(runId: $runId, testCaseIds: $testCaseIds) {
    id testRunId testCaseId executionOrder status testCase { name }
  }
}
"""
REMOVE_ITEM = "mutation Remove($id: UUID!) { removeTestRunItem(id: $id) }"
REORDER = """
mutation Reorder($runId: UUID!, $itemIds: [UUID!]!) {
  reorderTestRunItems(runId: $runId, itemIds: $itemIds) { id executionOrder }
}
"""
READ_ITEM = """
query ReadItem($id: UUID!) {
  testRunItem(id: $id) {
    id testRunId testCaseId executionOrder status startedAt completedAt durationMs
    totalSteps passedSteps failedSteps skippedSteps totalCheckpoints passedCheckpoints
    failedCheckpoints isDataDriven totalIterations passedIterations failedIterations
    retryAttempt maxRetriesExhausted errorMessage errorScreenshotPath resultsFolder
    currentStep vncUrl attempt claimedBy heartbeatAt createdAt updatedAt
    testCase { id name deletedAt }
  }
}
"""


async def create_run(
    client: httpx.AsyncClient,
    caller: Caller,
    *,
    key: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Create a run over GraphQL (named "Smoke" unless given); the run as the API returns it."""
    body = await gql(client, caller, CREATE, input={"runName": "Smoke", **fields}, key=key)
    run: dict[str, Any] = data(body)["createTestRun"]["run"]
    return run


async def make_test_cases(
    session: AsyncSession, project: Project, count: int, **overrides: Any
) -> list[TestCase]:
    """`count` test cases named TC1, TC2, ... in `project`."""
    return [
        await make_test_case(session, project, name=f"TC{n}", **overrides)
        for n in range(1, count + 1)
    ]


def ids(rows: list[TestCase]) -> list[str]:
    """The ids of rows as GraphQL variables."""
    return [str(row.id) for row in rows]


async def set_run(session: AsyncSession, run_id: str, **values: Any) -> None:
    """Put a run in a state the API would take long to reach (finished, failed items...)."""
    await session.execute(update(TestRun).where(TestRun.id == uuid.UUID(run_id)).values(**values))


async def set_item_statuses(session: AsyncSession, run_id: str, statuses: list[str]) -> None:
    """Give the run's items these statuses, in execution order."""
    items = await session.scalars(
        select(TestRunItem.id)
        .where(TestRunItem.test_run_id == uuid.UUID(run_id))
        .order_by(TestRunItem.execution_order)
    )
    for item_id, status in zip(items.all(), statuses, strict=True):
        await session.execute(
            update(TestRunItem).where(TestRunItem.id == item_id).values(status=status)
        )


async def event_types(session: AsyncSession, run_id: str) -> list[str]:
    """The run's event log, in `seq` order."""
    rows = await session.scalars(
        select(RunEvent.type)
        .where(RunEvent.test_run_id == uuid.UUID(run_id))
        .order_by(RunEvent.seq)
    )
    return list(rows)


def sent(stub_broker: StubBroker) -> list[tuple[str, list[Any]]]:
    """The (actor, args) of every message waiting on the runs queue."""
    queue = stub_broker.queues[RUNS_QUEUE]
    messages = [dramatiq.Message.decode(encoded) for encoded in list(queue.queue)]
    return [(message.actor_name, list(message.args)) for message in messages]
