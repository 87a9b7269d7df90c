"""Script results: what a pre, post or on-demand script did during a result.

The engine and client executors write them through the same `insert_script_result`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import ResultStatus, ScriptLanguage, ScriptType
from models.results import ScriptResult, TestRunResult
from models.runs import TestRun
from models.test_cases import TestScript
from resolvers import stats
from resolvers.batches import batch_rows, group_rows, keyed
from resolvers.errors import NotFound
from resolvers.fitting import fit_row
from resolvers.results import Milliseconds, Position, lock_result, read_result_rows
from resolvers.tokens import Principal
from resolvers.validation import Input, PageInput, Recorded, RecordedName, Timestamp

_ADDED_ORDER = (ScriptResult.created_at, ScriptResult.id)
ExitCode = Annotated[int, Field(ge=-2_147_483_648, le=2_147_483_647)]
# The result's count columns are named after the type: pre_scripts for pre_execution...
_COUNT_NAMES = {
    ScriptType.PRE_EXECUTION: "pre_scripts",
    ScriptType.POST_EXECUTION: "post_scripts",
    ScriptType.ON_DEMAND: "on_demand_scripts",
}


class ScriptResultInput(Input):
    """One script execution; `test_script_id`, when given, is a script of the project."""

    test_script_id: uuid.UUID | None = None
    script_name: RecordedName
    script_type: ScriptType
    script_language: ScriptLanguage | None = None
    status: ResultStatus
    exit_code: ExitCode | None = None
    duration_ms: Milliseconds = 0
    stdout: Recorded | None = None
    stderr: Recorded | None = None
    error_message: Recorded | None = None
    is_critical: bool = False
    attached_to_step: Position | None = None
    executed_at: Timestamp | None = None


async def _script_counts(session: AsyncSession, result_id: uuid.UUID) -> dict[str, Any]:
    columns = []
    for script_type in _COUNT_NAMES:
        of_type = ScriptResult.script_type == script_type
        columns += [
            func.count().filter(of_type),
            func.count().filter(of_type, ScriptResult.status == ResultStatus.PASSED),
            func.count().filter(of_type, ScriptResult.status == ResultStatus.FAILED),
        ]
    aborted = func.count().filter(
        and_(
            ScriptResult.script_type == ScriptType.PRE_EXECUTION,
            ScriptResult.status == ResultStatus.FAILED,
            ScriptResult.is_critical.is_(True),
        )
    )
    row = (
        await session.execute(
            select(*columns, aborted).where(ScriptResult.test_run_result_id == result_id)
        )
    ).one()
    values: dict[str, Any] = {}
    for index, name in enumerate(_COUNT_NAMES.values()):
        total, passed, failed = row[3 * index : 3 * index + 3]
        values |= {f"total_{name}": total, f"passed_{name}": passed, f"failed_{name}": failed}
    values["pre_script_aborted"] = row[-1] > 0
    return values


async def add_script_result(
    session: AsyncSession, *, principal: Principal, result_id: uuid.UUID, data: ScriptResultInput
) -> TestRunResult:
    """Record a script execution and recount the result's scripts.

    A failed critical pre-execution script marks the result `pre_script_aborted`.
    """
    result, _ = await _record(session, principal=principal, result_id=result_id, data=data)
    return result


async def record_script_result(
    session: AsyncSession, *, principal: Principal, result_id: uuid.UUID, data: ScriptResultInput
) -> ScriptResult:
    """`add_script_result`, answering with the new script result row."""
    _, script = await _record(session, principal=principal, result_id=result_id, data=data)
    return script


async def _record(
    session: AsyncSession, *, principal: Principal, result_id: uuid.UUID, data: ScriptResultInput
) -> tuple[TestRunResult, ScriptResult]:
    result, run = await lock_result(
        session, principal=principal, result_id=result_id, action="add script results"
    )
    return result, await insert_script_result(session, run, result, data)


async def insert_script_result(
    session: AsyncSession, run: TestRun, result: TestRunResult, data: ScriptResultInput
) -> ScriptResult:
    """Add a script execution to a result and recount its scripts.

    The one writer of script results, for the engine and clients; texts are fitted to their
    columns, and the caller holds the run's lock. The script, if named, is of the run's project.
    """
    if data.test_script_id is not None:
        known = await session.scalar(
            select(TestScript.id).where(
                TestScript.id == data.test_script_id,
                TestScript.project_id == run.project_id,
            )
        )
        if known is None:
            raise NotFound.of("Test script", data.test_script_id)
    values = data.model_dump() | {
        "test_run_result_id": result.id,
        "script_type": data.script_type.value,
        "script_language": None if data.script_language is None else data.script_language.value,
        "status": data.status.value,
    }
    script = ScriptResult(**fit_row(ScriptResult, values))
    session.add(script)
    await session.flush()
    await stats.save_result_counts(session, run, result, await _script_counts(session, result.id))
    return script


async def read_script_results(
    session: AsyncSession, *, principal: Principal, result_id: uuid.UUID, page: PageInput
) -> tuple[Sequence[ScriptResult], int]:
    """One page of a result's script executions as added, and how many; NotFound for the result."""
    return await read_result_rows(
        session,
        principal=principal,
        result_id=result_id,
        page=page,
        rows=ScriptResult,
        order=_ADDED_ORDER,
    )


_SCRIPTS_BY_RESULT = (
    select(ScriptResult).where(keyed(ScriptResult.test_run_result_id)).order_by(*_ADDED_ORDER)
)


async def load_scripts_by_result(
    session: AsyncSession, result_ids: Sequence[uuid.UUID]
) -> list[list[ScriptResult]]:
    """Each result's script executions in the order they were added (one SELECT)."""
    rows = await batch_rows(session, _SCRIPTS_BY_RESULT, result_ids)
    return group_rows(result_ids, rows, lambda row: row.test_run_result_id)
