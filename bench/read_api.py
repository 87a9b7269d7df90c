"""`testRun` with 100 items and their latest results over HTTP, against raw asyncpg.

Prints p50/p99 of the GraphQL query through a real `testrun api` process and of the same
rows fetched with asyncpg and turned into the same JSON by hand, their ratio, and how many
SQL statements the query runs for 10 and for 100 items (it must not grow).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event

from bench import _postgraphile as postgraphile
from bench._stack import api_process, bench_caller, databases, percentile
from models.database import create_engine, create_session_factory, transaction
from models.enums import Role
from models.results import TestRunResult
from models.runs import TestRun, TestRunItem
from models.test_cases import TestCase

ROUNDS = 300
WARMUP = 30
QUERY = """
query Run($id: UUID!) {
  testRun(id: $id) {
    id runName status totalTests passedTests failedTests passRate startedAt completedAt
    items {
      id executionOrder status durationMs totalSteps passedSteps failedSteps errorMessage
      testCase { id name }
      latestResult { id status durationMs passRate totalSteps passedSteps failedSteps errorMessage }
    }
  }
}
"""
RAW_RUN = """
SELECT id, run_name, status, total_tests, passed_tests, failed_tests, pass_rate,
       started_at, completed_at
FROM test_runs WHERE id = $1 AND project_id = $2
"""
RAW_ITEMS = """
SELECT i.id, i.execution_order, i.status, i.duration_ms, i.total_steps, i.passed_steps,
       i.failed_steps, i.error_message, c.id AS case_id, c.name AS case_name
FROM test_run_items i JOIN test_cases c ON c.id = i.test_case_id
WHERE i.test_run_id = $1 ORDER BY i.execution_order
"""
RAW_RESULTS = """
SELECT DISTINCT ON (test_run_item_id) test_run_item_id, id, status, duration_ms, pass_rate,
       total_steps, passed_steps, failed_steps, error_message
FROM test_run_results WHERE test_run_item_id = ANY($1::uuid[])
ORDER BY test_run_item_id, created_at DESC, id DESC
"""


async def seed(database_url: str, items: int) -> tuple[str, uuid.UUID, uuid.UUID]:
    """A run of `items` finished items with one result each; returns token, run, project."""
    engine = create_engine(database_url, pool_size=2)
    started = datetime.now(UTC) - timedelta(minutes=10)
    async with transaction(create_session_factory(engine)) as session:
        user, project, token = await bench_caller(session, Role.VIEWER)
        run = TestRun(
            project_id=project.id,
            created_by=user.id,
            run_number=1,
            run_name=f"Bench run of {items}",
            status="completed",
            started_at=started,
            completed_at=started + timedelta(minutes=5),
            total_tests=items,
            passed_tests=items,
        )
        session.add(run)
        await session.flush()
        for n in range(items):
            case = TestCase(project_id=project.id, name=f"Case {n:03d}", proven_steps=[])
            session.add(case)
            await session.flush()
            item = TestRunItem(
                test_run_id=run.id,
                test_case_id=case.id,
                execution_order=n + 1,
                status="passed",
                duration_ms=1000 + n,
                total_steps=30,
                passed_steps=30,
            )
            session.add(item)
            await session.flush()
            session.add(
                TestRunResult(
                    test_run_id=run.id,
                    test_run_item_id=item.id,
                    test_case_id=case.id,
                    status="passed",
                    started_at=started,
                    duration_ms=1000 + n,
                    total_steps=30,
                    passed_steps=30,
                )
            )
        run_id, project_id = run.id, project.id
    await engine.dispose()
    return token, run_id, project_id


def count_statements(database_url: str, redis_url: str, token: str, run_id: uuid.UUID) -> int:
    """SQL statements the api runs for one `testRun` query (auth included), in-process."""
    from server.app import create_app
    from server.services import Services
    from server.settings import Settings

    async def measure() -> int:
        settings = Settings(database_url=database_url, redis_url=redis_url)
        services = Services.from_settings(settings)
        assert services.engine is not None
        statements: list[str] = []

        def record(*args: Any) -> None:
            statements.append(args[2])

        event.listen(services.engine.sync_engine, "before_cursor_execute", record)
        transport = httpx.ASGITransport(app=create_app(services=services))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await client.post(
                "/graphql",
                json={"query": QUERY, "variables": {"id": str(run_id)}},
                headers={"Authorization": f"Bearer {token}"},
            )
            statements.clear()
            response = await client.post(
                "/graphql",
                json={"query": QUERY, "variables": {"id": str(run_id)}},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert not response.json().get("errors"), response.text
        await services.aclose()
        return len(statements)

    return asyncio.run(measure())


async def graphql_once(client: httpx.AsyncClient, token: str, run_id: uuid.UUID) -> float:
    """Latency in ms of the query over HTTP."""
    body = {"query": QUERY, "variables": {"id": str(run_id)}}
    started = time.perf_counter()
    response = await client.post(
        "/graphql", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    elapsed = (time.perf_counter() - started) * 1000
    payload = response.json()
    assert not payload.get("errors"), payload
    assert len(payload["data"]["testRun"]["items"]) > 0
    return elapsed


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def raw_once(
    connection: asyncpg.Connection, run_id: uuid.UUID, project_id: uuid.UUID
) -> float:
    """Latency in ms of the same rows through asyncpg, with the same JSON built by hand."""
    started = time.perf_counter()
    run = await connection.fetchrow(RAW_RUN, run_id, project_id)
    items = await connection.fetch(RAW_ITEMS, run_id)
    results = {
        row["test_run_item_id"]: row
        for row in await connection.fetch(RAW_RESULTS, [item["id"] for item in items])
    }
    document = {
        "data": {
            "testRun": {
                "id": str(run["id"]),
                "runName": run["run_name"],
                "status": run["status"].upper(),
                "totalTests": run["total_tests"],
                "passedTests": run["passed_tests"],
                "failedTests": run["failed_tests"],
                "passRate": float(run["pass_rate"]),
                "startedAt": _iso(run["started_at"]),
                "completedAt": _iso(run["completed_at"]),
                "items": [_raw_item(item, results.get(item["id"])) for item in items],
            }
        }
    }
    json.dumps(document)
    return (time.perf_counter() - started) * 1000


async def postgraphile_once(client: httpx.AsyncClient, run_id: uuid.UUID) -> float:
    """Latency in ms of the same query through PostGraphile."""
    body = {"query": postgraphile.QUERY, "variables": {"id": str(run_id)}}
    started = time.perf_counter()
    response = await client.post("/graphql", json=body)
    elapsed = (time.perf_counter() - started) * 1000
    payload = response.json()
    assert not payload.get("errors"), payload
    assert len(payload["data"]["testRun"]["items"]["nodes"]) > 0
    return elapsed


async def same_answers(base_url: str, postgraphile_url: str, token: str, run_id: uuid.UUID) -> None:
    """Check that PostGraphile answers what testrun answers, so both do the same work."""
    async with httpx.AsyncClient(timeout=30) as client:
        ours = (
            await client.post(
                f"{base_url}/graphql",
                json={"query": QUERY, "variables": {"id": str(run_id)}},
                headers={"Authorization": f"Bearer {token}"},
            )
        ).json()["data"]["testRun"]
        theirs = (
            await client.post(
                f"{postgraphile_url}/graphql",
                json={"query": postgraphile.QUERY, "variables": {"id": str(run_id)}},
            )
        ).json()["data"]["testRun"]
    pairs = zip(ours["items"], theirs["items"]["nodes"], strict=True)
    for our_item, their_item in pairs:
        assert our_item["id"] == their_item["id"]
        assert our_item["testCase"] == their_item["testCase"]
        latest = their_item["latestResult"]["nodes"]
        assert our_item["latestResult"]["id"] == latest[0]["id"]


Arm = Callable[[], Awaitable[float]]


async def time_arms(
    base_url: str,
    postgraphile_url: str | None,
    database_url: str,
    token: str,
    run_id: uuid.UUID,
    project_id: uuid.UUID,
) -> dict[str, list[float]]:
    """Latencies in ms of each arm: testrun's GraphQL, the raw path, PostGraphile if given.

    Interleaved, a round of each in turn (the order rotating from round to round), so
    that all see the machine in the same state: measured one after the other, a busy
    minute on a shared machine moves one figure and not the others.
    """
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    samples: dict[str, list[float]] = {}
    try:
        async with (
            httpx.AsyncClient(base_url=base_url, timeout=30) as client,
            httpx.AsyncClient(base_url=postgraphile_url or base_url, timeout=30) as other,
        ):
            arms: dict[str, Arm] = {
                "testrun": lambda: graphql_once(client, token, run_id),
                "raw": lambda: raw_once(connection, run_id, project_id),
            }
            if postgraphile_url is not None:
                arms["postgraphile"] = lambda: postgraphile_once(other, run_id)
            names = list(arms)
            samples = {name: [] for name in names}
            for round_ in range(WARMUP + ROUNDS):
                turn = names[round_ % len(names) :] + names[: round_ % len(names)]
                for name in turn:
                    elapsed = await arms[name]()
                    if round_ >= WARMUP:
                        samples[name].append(elapsed)
    finally:
        await connection.close()
    return samples


def _raw_item(item: asyncpg.Record, result: asyncpg.Record | None) -> dict[str, Any]:
    return {
        "id": str(item["id"]),
        "executionOrder": item["execution_order"],
        "status": item["status"].upper(),
        "durationMs": item["duration_ms"],
        "totalSteps": item["total_steps"],
        "passedSteps": item["passed_steps"],
        "failedSteps": item["failed_steps"],
        "errorMessage": item["error_message"],
        "testCase": {"id": str(item["case_id"]), "name": item["case_name"]},
        "latestResult": None
        if result is None
        else {
            "id": str(result["id"]),
            "status": result["status"].upper(),
            "durationMs": result["duration_ms"],
            "passRate": float(result["pass_rate"]),
            "totalSteps": result["total_steps"],
            "passedSteps": result["passed_steps"],
            "failedSteps": result["failed_steps"],
            "errorMessage": result["error_message"],
        },
    }


def main() -> None:
    """Run the benchmark and print its figures."""
    skipped = postgraphile.unavailable()
    with databases() as (database_url, redis_url):
        small_token, small_run, _ = asyncio.run(seed(database_url, 10))
        token, run_id, project_id = asyncio.run(seed(database_url, 100))
        statements_10 = count_statements(database_url, redis_url, small_token, small_run)
        statements_100 = count_statements(database_url, redis_url, token, run_id)
        with contextlib.ExitStack() as stack:
            base_url = stack.enter_context(api_process(database_url, redis_url))
            other_url = None
            if skipped is None:
                other_url = stack.enter_context(postgraphile.postgraphile_process(database_url))
                asyncio.run(same_answers(base_url, other_url, token, run_id))
            samples = asyncio.run(
                time_arms(base_url, other_url, database_url, token, run_id, project_id)
            )

    graphql, raw = samples["testrun"], samples["raw"]
    g50, g99 = percentile(graphql, 50), percentile(graphql, 99)
    r50, r99 = percentile(raw, 50), percentile(raw, 99)
    print(f"testRun with 100 items + latest results, {ROUNDS} rounds after {WARMUP} warm-up")
    print(f"  testrun GraphQL     p50 {g50:7.2f} ms   p99 {g99:7.2f} ms  (auth on)")
    print(f"  raw asyncpg + JSON  p50 {r50:7.2f} ms   p99 {r99:7.2f} ms")
    print(f"  ratio to raw        p50 {g50 / r50:7.2f} x    p99 {g99 / r99:7.2f} x  (p50 <= 4)")
    if skipped is None:
        other = samples["postgraphile"]
        o50, o99 = percentile(other, 50), percentile(other, 99)
        faster = sum(ours < theirs for ours, theirs in zip(graphql, other, strict=True))
        print(f"  PostGraphile 4      p50 {o50:7.2f} ms   p99 {o99:7.2f} ms  (no auth)")
        print(f"  ratio to PostGraphile p50 {g50 / o50:5.2f} x    p99 {g99 / o99:5.2f} x  (< 1)")
        print(f"  testrun faster than PostGraphile in {faster} of {ROUNDS} rounds")
    else:
        print(f"  PostGraphile 4      skipped: {skipped}")
    print(f"  SQL statements per query: {statements_10} for 10 items, {statements_100} for 100")
    print(f"  mean testrun GraphQL {statistics.fmean(graphql):.2f} ms")
