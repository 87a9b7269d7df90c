"""`POST /api/v1/test-run-results/{id}/steps/bulk` (1,000 steps a call) against raw asyncpg COPY.

One client run through a real `testrun api` process: each call adds 1,000 steps to its own
result, as a client executor reporting a long test does. The floor is the same rows COPYed
into the table by asyncpg. Prints step rows per second of each and their ratio.
Target: at least 10,000 step rows/s through the API.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from bench._stack import api_process, bench_caller, databases
from models.database import create_engine, create_session_factory, transaction
from models.enums import Role
from models.results import TestRunResult
from models.runs import TestRun, TestRunItem
from models.test_cases import TestCase

STEPS_PER_CALL = 1_000
CALLS = 40
WARMUP_CALLS = 3
START = datetime(2026, 1, 17, 10, 5, tzinfo=UTC)


def step(number: int) -> dict[str, Any]:
    """One step as a client executor reports it."""
    started = START + timedelta(milliseconds=250 * number)
    return {
        "step_number": number,
        "action": "click_element",
        "description": f"Click the button of row {number}",
        "status": "passed",
        "started_at": started.isoformat(),
        "completed_at": (started + timedelta(milliseconds=180)).isoformat(),
        "duration_ms": 180,
        "selector": f"#row-{number} > button.primary",
        "playwright_code": f"await page.click('#row-{number} > button.primary');",
        "window_id": "main",
        "window_title": "Orders - Example",
    }


async def seed(database_url: str, results: int) -> tuple[str, list[uuid.UUID]]:
    """A running client run with one item and `results` results; returns token and results."""
    engine = create_engine(database_url, pool_size=2)
    async with transaction(create_session_factory(engine)) as session:
        user, project, token = await bench_caller(session, Role.EDITOR)
        run = TestRun(
            project_id=project.id,
            created_by=user.id,
            run_number=1,
            run_name="Ingest bench",
            status="running",
            executor="client",
            started_at=START,
            total_tests=results,
        )
        session.add(run)
        await session.flush()
        ids = []
        for n in range(results):
            case = TestCase(project_id=project.id, name=f"Case {n:03d}", proven_steps=[])
            session.add(case)
            await session.flush()
            item = TestRunItem(
                test_run_id=run.id, test_case_id=case.id, execution_order=n + 1, status="running"
            )
            session.add(item)
            await session.flush()
            result = TestRunResult(
                test_run_id=run.id,
                test_run_item_id=item.id,
                test_case_id=case.id,
                status="passed",
                started_at=START,
            )
            session.add(result)
            await session.flush()
            ids.append(result.id)
    await engine.dispose()
    return token, ids


async def through_api(base_url: str, token: str, result_ids: list[uuid.UUID]) -> float:
    """Seconds for the calls after the warm-up ones, each 1,000 steps to its own result."""
    body = json.dumps({"steps": [step(n) for n in range(1, STEPS_PER_CALL + 1)]}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        started = 0.0
        for index, result_id in enumerate(result_ids):
            if index == WARMUP_CALLS:
                started = time.perf_counter()
            response = await client.post(
                f"/api/v1/test-run-results/{result_id}/steps/bulk", content=body, headers=headers
            )
            assert response.status_code == 201, response.text
        return time.perf_counter() - started


def _raw_row(result_id: uuid.UUID, values: dict[str, Any], at: datetime) -> tuple[Any, ...]:
    return (
        uuid.uuid4(),
        result_id,
        values["step_number"],
        values["action"],
        values["description"],
        values["status"],
        datetime.fromisoformat(values["started_at"]),
        datetime.fromisoformat(values["completed_at"]),
        values["duration_ms"],
        values["selector"],
        values["playwright_code"],
        values["window_id"],
        values["window_title"],
        at,
    )


RAW_COLUMNS = [
    "id",
    "test_run_result_id",
    "step_number",
    "action",
    "description",
    "status",
    "started_at",
    "completed_at",
    "duration_ms",
    "selector",
    "playwright_code",
    "window_id",
    "window_title",
    "created_at",
]


async def through_asyncpg(database_url: str, result_ids: list[uuid.UUID]) -> float:
    """Seconds to COPY the same rows, 1,000 per call and one transaction each, after warm-up."""
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    steps = [step(n) for n in range(1, STEPS_PER_CALL + 1)]
    try:
        started = 0.0
        for index, result_id in enumerate(result_ids):
            if index == WARMUP_CALLS:
                started = time.perf_counter()
            now = datetime.now(UTC)
            rows = [_raw_row(result_id, values, now) for values in steps]
            async with connection.transaction():
                await connection.copy_records_to_table(
                    "test_step_results", records=rows, columns=RAW_COLUMNS
                )
        return time.perf_counter() - started
    finally:
        await connection.close()


def main() -> None:
    """Run the benchmark and print its figures."""
    with databases() as (database_url, redis_url):
        token, api_results = asyncio.run(seed(database_url, CALLS + WARMUP_CALLS))
        _, raw_results = asyncio.run(seed(database_url, CALLS + WARMUP_CALLS))
        with api_process(database_url, redis_url) as base_url:
            api_seconds = asyncio.run(through_api(base_url, token, api_results))
        raw_seconds = asyncio.run(through_asyncpg(database_url, raw_results))

    rows = CALLS * STEPS_PER_CALL
    api_rate, raw_rate = rows / api_seconds, rows / raw_seconds
    api_ms, raw_ms = api_seconds / CALLS * 1000, raw_seconds / CALLS * 1000
    print(f"{rows} step rows in {CALLS} calls of {STEPS_PER_CALL}, after {WARMUP_CALLS} warm-up")
    print(f"  REST steps/bulk over HTTP  {api_rate:9.0f} rows/s  ({api_ms:.1f} ms a call)")
    print(f"  raw asyncpg COPY           {raw_rate:9.0f} rows/s  ({raw_ms:.1f} ms a call)")
    print(f"  ratio raw / API            {raw_rate / api_rate:9.1f} x")
    met = "met" if api_rate >= 10_000 else "NOT met"
    print(f"  target >= 10000 rows/s through the API: {met}")
