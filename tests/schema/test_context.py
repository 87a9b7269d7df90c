"""An operation's reads share one pooled connection, which goes back when the operation ends."""

from __future__ import annotations

import uuid

from dramatiq.brokers.stub import StubBroker
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from execution.dispatch import QueueDispatcher
from models.enums import Role
from resolvers.tokens import Principal
from schema import schema
from schema.context import Context


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
