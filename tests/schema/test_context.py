"""An operation's reads share one pooled connection and its rows go when the operation ends."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Callable

from dramatiq.brokers.stub import StubBroker
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from execution.dispatch import QueueDispatcher
from models.enums import Role
from models.runs import TestRun
from models.tenancy import Project, User
from resolvers.tokens import Principal
from schema import schema
from schema.context import Context
from tests.factories import (
    make_item,
    make_project,
    make_result,
    make_run,
    make_test_case,
    make_user,
    principal_of,
)


def context(
    factory: async_sessionmaker[AsyncSession], broker: StubBroker, *, role: Role = Role.VIEWER
) -> Context:
    caller = Principal(
        token_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        project_id=uuid.uuid4(),
        tenant_id="t",
        role=role,
    )
    return Context(session_factory=factory, caller=caller, dispatcher=QueueDispatcher(broker))


async def test_reads_give_their_connection_back_when_the_operation_ends(
    engine: AsyncEngine,
    committing_session_factory: async_sessionmaker[AsyncSession],
    stub_broker: StubBroker,
) -> None:
    query = "{ testRuns { total items { items { id } } } testCases { total } }"

    for _ in range(3):
        result = await schema.execute(
            query, context_value=context(committing_session_factory, stub_broker)
        )
        assert result.errors is None
        assert result.data == {"testRuns": {"total": 0, "items": []}, "testCases": {"total": 0}}
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_failed_operation_gives_its_connection_back(
    engine: AsyncEngine,
    committing_session_factory: async_sessionmaker[AsyncSession],
    stub_broker: StubBroker,
) -> None:
    result = await schema.execute(
        "query Run($id: UUID!) { testRun(id: $id) { id } }",
        variable_values={"id": str(uuid.uuid4())},
        context_value=context(committing_session_factory, stub_broker),
    )

    assert result.errors is not None
    assert result.errors[0].extensions == {"code": "NOT_FOUND"}
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


RUN_QUERY = """
query Run($id: UUID!) {
  testRun(id: $id) {
    id items { id status testCase { id name } latestResult { id status } results { id } }
  }
}
"""


async def run_of(session: AsyncSession, project: Project, user: User, items: int) -> TestRun:
    run = await make_run(session, project, user)
    for _ in range(items):
        item = await make_item(session, run, await make_test_case(session, project))
        await make_result(session, item)
    return run


async def garbage_left_by_reading(new_context: Callable[[], Context], run: TestRun) -> int:
    """Objects reading `run` leaves in reference cycles, for the garbage collector."""
    gc.collect()
    gc.disable()
    try:
        result = await schema.execute(
            RUN_QUERY, variable_values={"id": str(run.id)}, context_value=new_context()
        )
        assert result.errors is None
        return gc.collect()
    finally:
        gc.enable()


async def test_the_rows_an_operation_read_go_without_the_garbage_collector(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    stub_broker: StubBroker,
) -> None:
    # Rows left in cycles go only with a collection, which then takes tens of ms: what
    # an operation leaves behind must not grow with the rows it read (a couple of objects
    # per item remain: SQLAlchemy's statements hold the keys they bind in a cycle).
    project, user = await make_project(session), await make_user(session)
    small, large = await run_of(session, project, user, 5), await run_of(session, project, user, 25)

    def caller() -> Context:
        return Context(
            session_factory=session_factory,
            caller=principal_of(project, user, Role.VIEWER),
            dispatcher=QueueDispatcher(stub_broker),
        )

    await garbage_left_by_reading(caller, small)  # warm up
    few = await garbage_left_by_reading(caller, small)
    many = await garbage_left_by_reading(caller, large)

    per_item = (many - few) / 20
    assert per_item < 5, (
        few,
        many,
    )  # each item's 3 rows left ~40 objects before  # each item's 3 rows left ~40 objects before
