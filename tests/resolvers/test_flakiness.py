"""The flakiness rules on real history rows: flips, flake rate, retries, the window."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.results import TestExecutionHistory
from models.tenancy import Project
from resolvers import test_cases
from resolvers.flakiness import load_flakiness
from tests.factories import (
    make_item,
    make_project,
    make_result,
    make_run,
    make_test_case,
    make_user,
    principal_of,
)

START = datetime(2026, 1, 17, 10, 0, tzinfo=UTC)


async def case_with_history(
    session: AsyncSession, project: Project, outcomes: str, *, retried: int | None = None
) -> uuid.UUID:
    """A test case executed with `outcomes` oldest first (P passed, F failed, S skipped);
    the execution at index `retried` was a retry (attempt 2) of its run."""
    case = await make_test_case(session, project)
    user = await make_user(session)
    for index, outcome in enumerate(outcomes):
        status = {"P": "passed", "F": "failed", "S": "skipped"}[outcome]
        result_id = None
        if index == retried:
            run = await make_run(session, project, user)
            result = await make_result(
                session, await make_item(session, run, case), status=status, retry_attempt=1
            )
            result_id = result.id
        session.add(
            TestExecutionHistory(
                test_case_id=case.id,
                test_run_result_id=result_id,
                status=status,
                executed_at=START + timedelta(minutes=index),
                duration_ms=1000,
            )
        )
    await session.flush()
    return case.id


@pytest.mark.parametrize(
    ("outcomes", "flips", "rate", "flaky"),
    [
        ("", 0, "0.00", False),
        ("P", 0, "0.00", False),
        ("PPPP", 0, "0.00", False),
        ("PPFF", 1, "33.33", False),  # it broke: a change, not flakiness
        ("FFPP", 1, "33.33", False),  # it was fixed
        ("PFP", 2, "100.00", True),
        ("PFPF", 3, "100.00", True),
        ("PPFPPP", 2, "40.00", True),
        ("PSFSP", 2, "100.00", True),  # skipped executions are no outcome
    ],
)
async def test_flips_and_flake_rate(
    session: AsyncSession, outcomes: str, flips: int, rate: str, flaky: bool
) -> None:
    case_id = await case_with_history(session, await make_project(session), outcomes)

    (found,) = await load_flakiness(session, [case_id], window=20)

    assert (found.flips, found.flake_rate, found.is_flaky) == (flips, Decimal(rate), flaky)


async def test_a_pass_on_a_retry_is_flaky_with_a_single_flip(session: AsyncSession) -> None:
    case_id = await case_with_history(session, await make_project(session), "PPFP", retried=3)

    (found,) = await load_flakiness(session, [case_id], window=20)

    assert (found.flips, found.passed_on_retry, found.is_flaky) == (2, True, True)
    steady = await case_with_history(session, await make_project(session), "FP", retried=1)
    (only_retry,) = await load_flakiness(session, [steady], window=20)
    assert (only_retry.flips, only_retry.is_flaky) == (1, True)


async def test_only_the_last_n_executions_count(session: AsyncSession) -> None:
    case_id = await case_with_history(session, await make_project(session), "PFPF" + "P" * 10)

    (wide,) = await load_flakiness(session, [case_id], window=20)
    (narrow,) = await load_flakiness(session, [case_id], window=10)

    assert (wide.executions, wide.flips, wide.is_flaky) == (14, 4, True)
    assert (narrow.executions, narrow.flips, narrow.is_flaky) == (10, 0, False)


async def test_many_test_cases_load_in_the_order_asked(session: AsyncSession) -> None:
    project = await make_project(session)
    flaky = await case_with_history(session, project, "PFPF")
    steady = await case_with_history(session, project, "PPPP")
    never = (await make_test_case(session, project)).id

    found = await load_flakiness(session, [steady, never, flaky], window=20)

    assert [entry.is_flaky for entry in found] == [False, False, True]
    assert found[1].executions == 0


async def test_the_flaky_filter_lists_the_project_s_flaky_test_cases(session: AsyncSession) -> None:
    project = await make_project(session)
    user = await make_user(session)
    flaky = await case_with_history(session, project, "PFPF")
    steady = await case_with_history(session, project, "PPPP")
    await case_with_history(session, await make_project(session), "PFPF")  # another project
    principal = principal_of(project, user)

    only_flaky, flaky_total = await test_cases.read_test_cases(
        session, principal=principal, query=test_cases.TestCaseFilter(flaky=True)
    )
    others, _ = await test_cases.read_test_cases(
        session, principal=principal, query=test_cases.TestCaseFilter(flaky=False)
    )

    assert ([case.id for case in only_flaky], flaky_total) == ([flaky], 1)
    assert [case.id for case in others] == [steady]
