"""Browser console messages and network requests captured during a result, added in bulk.

Logs change no statistics, so their writers lock the run FOR SHARE: they run side by side
and still keep the run from being cancelled or finished under them. The engine and client
executors write them through the same `insert_console_logs` / `insert_network_logs`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import LogLevel
from models.results import ConsoleLog, NetworkLog, TestRunResult
from resolvers.batches import batch_rows, group_rows, keyed
from resolvers.fitting import fit_columns
from resolvers.results import JsonObject, Milliseconds, lock_result, read_result_rows
from resolvers.steps import MAX_BATCH, batch_columns, insert_batch
from resolvers.tokens import Principal
from resolvers.validation import Count, Input, PageInput, Recorded, RecordedName, Timestamp

StatusCode = Annotated[int, Field(ge=0, le=999)]
_CONSOLE_ORDER = (ConsoleLog.timestamp, ConsoleLog.created_at, ConsoleLog.id)
_NETWORK_ORDER = (NetworkLog.timestamp, NetworkLog.created_at, NetworkLog.id)


class ConsoleLogInput(Input):
    """One console message; `step_index` is the step it happened during."""

    log_level: LogLevel
    message: Recorded
    source: Recorded | None = None
    line_number: Count | None = None
    column_number: Count | None = None
    stack_trace: Recorded | None = None
    step_index: Count | None = None
    timestamp: Timestamp


class NetworkLogInput(Input):
    """One network request and its response (bodies as truncated previews)."""

    url: RecordedName
    method: RecordedName
    status_code: StatusCode | None = None
    status_text: Recorded | None = None
    request_headers: JsonObject | None = None
    response_headers: JsonObject | None = None
    request_body_preview: Recorded | None = None
    response_body_preview: Recorded | None = None
    content_type: Recorded | None = None
    content_length: Count | None = None
    resource_type: Recorded | None = None
    timestamp: Timestamp
    duration_ms: Milliseconds | None = None
    ttfb_ms: Milliseconds | None = None
    error_message: Recorded | None = None
    step_index: Count | None = None


class ConsoleLogBatch(Input):
    """Console messages added in one call: 1 to 5000."""

    logs: Annotated[list[ConsoleLogInput], Field(min_length=1, max_length=MAX_BATCH)]


class NetworkLogBatch(Input):
    """Network requests added in one call: 1 to 5000."""

    logs: Annotated[list[NetworkLogInput], Field(min_length=1, max_length=MAX_BATCH)]


async def add_console_logs(
    session: AsyncSession,
    *,
    principal: Principal,
    result_id: uuid.UUID,
    logs: Sequence[ConsoleLogInput],
) -> TestRunResult:
    """Add console messages to a result with one bulk INSERT."""
    result, _ = await lock_result(
        session, principal=principal, result_id=result_id, action="add console logs", shared=True
    )
    await insert_logs(session, ConsoleLog, result.id, logs)
    return result


async def add_network_logs(
    session: AsyncSession,
    *,
    principal: Principal,
    result_id: uuid.UUID,
    logs: Sequence[NetworkLogInput],
) -> TestRunResult:
    """Add network requests to a result with one bulk INSERT."""
    result, _ = await lock_result(
        session, principal=principal, result_id=result_id, action="add network logs", shared=True
    )
    await insert_logs(session, NetworkLog, result.id, logs)
    return result


async def insert_logs(
    session: AsyncSession,
    model: type[ConsoleLog] | type[NetworkLog],
    result_id: uuid.UUID,
    logs: Sequence[ConsoleLogInput] | Sequence[NetworkLogInput],
) -> None:
    """Add console or network rows to a result, each text fitted to its column.

    The one writer of logs, for the engine and clients; the caller holds the run's lock.
    """
    if logs:
        await insert_batch(session, model, fit_columns(model, batch_columns(logs, result_id)))


_CONSOLE_LOGS_BY_RESULT = (
    select(ConsoleLog).where(keyed(ConsoleLog.test_run_result_id)).order_by(*_CONSOLE_ORDER)
)


async def load_console_logs_by_result(
    session: AsyncSession, result_ids: Sequence[uuid.UUID]
) -> list[list[ConsoleLog]]:
    """Each result's console messages by time (one SELECT)."""
    rows = await batch_rows(session, _CONSOLE_LOGS_BY_RESULT, result_ids)
    return group_rows(result_ids, rows, lambda row: row.test_run_result_id)


_NETWORK_LOGS_BY_RESULT = (
    select(NetworkLog).where(keyed(NetworkLog.test_run_result_id)).order_by(*_NETWORK_ORDER)
)


async def load_network_logs_by_result(
    session: AsyncSession, result_ids: Sequence[uuid.UUID]
) -> list[list[NetworkLog]]:
    """Each result's network requests by time (one SELECT)."""
    rows = await batch_rows(session, _NETWORK_LOGS_BY_RESULT, result_ids)
    return group_rows(result_ids, rows, lambda row: row.test_run_result_id)


async def read_console_logs(
    session: AsyncSession, *, principal: Principal, result_id: uuid.UUID, page: PageInput
) -> tuple[Sequence[ConsoleLog], int]:
    """One page of a result's console messages by time, and how many; NotFound for the result."""
    return await read_result_rows(
        session,
        principal=principal,
        result_id=result_id,
        page=page,
        rows=ConsoleLog,
        order=_CONSOLE_ORDER,
    )


async def read_network_logs(
    session: AsyncSession, *, principal: Principal, result_id: uuid.UUID, page: PageInput
) -> tuple[Sequence[NetworkLog], int]:
    """One page of a result's network requests by time, and how many; NotFound for the result."""
    return await read_result_rows(
        session,
        principal=principal,
        result_id=result_id,
        page=page,
        rows=NetworkLog,
        order=_NETWORK_ORDER,
    )
