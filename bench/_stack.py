"""What every benchmark runs against: embedded PostgreSQL and Redis, and a real `testrun api`."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.database import transaction
from models.enums import Role
from models.tenancy import Project, User
from models.test_cases import TestCase
from resolvers import runs
from resolvers.dispatch import RunDispatcher
from resolvers.run_inputs import StartOptions, TestRunCreate
from resolvers.tenancy import ensure_member
from resolvers.tokens import Principal, create_api_token
from server.embedded import EmbeddedPostgres, EmbeddedRedis, free_port
from server.migrate import upgrade_database


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0..100) of samples, in the unit they are in."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))
    return ordered[index]


@contextmanager
def databases() -> Iterator[tuple[str, str]]:
    """A migrated PostgreSQL database and a Redis, both thrown away afterwards: their URLs."""
    root = Path(tempfile.mkdtemp(prefix="testrun-bench-"))
    postgres = EmbeddedPostgres(root / "postgres", durable=False)
    redis = EmbeddedRedis(root / "redis", durable=False)
    postgres.start()
    redis.start()
    try:
        postgres.ensure_database("bench")
        database_url = postgres.url("bench")
        upgrade_database(database_url)
        yield database_url, redis.url
    finally:
        redis.stop()
        postgres.stop()


def wait_until_serving(
    name: str,
    process: subprocess.Popen[bytes],
    serving: Callable[[], bool],
    *,
    timeout_s: float = 30,
) -> None:
    """Block until `serving()` says the server `process` (called `name`) answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}")
        try:
            if serving():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not start")


def wait_for_api(base_url: str, process: subprocess.Popen[bytes]) -> None:
    """Block until the api answers /healthz."""
    wait_until_serving(
        "testrun api",
        process,
        lambda: httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200,
    )


@contextmanager
def api_process(database_url: str, redis_url: str) -> Iterator[str]:
    """A `testrun api` process on a free port until the block ends: its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TESTRUN_PORT": str(port),
        "TESTRUN_LOG_LEVEL": "warning",
    }
    api = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "api"], env=env, stdout=subprocess.DEVNULL
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_for_api(base_url, api)
        yield base_url
    finally:
        api.terminate()
        api.wait(timeout=10)


async def bench_caller(session: AsyncSession, role: Role) -> tuple[User, Project, str]:
    """A new project with an editor member and a token of `role` for them."""
    user = User(email=f"bench-{uuid.uuid4().hex[:8]}@example.com", name="Bench")
    project = Project(tenant_id="bench", name=f"Bench {uuid.uuid4().hex[:8]}")
    session.add_all([user, project])
    await session.flush()
    await ensure_member(session, project_id=project.id, user_id=user.id, role=Role.EDITOR)
    _, token = await create_api_token(session, user_id=user.id, project_id=project.id, role=role)
    return user, project, token


async def start_bench_run(
    sessions: async_sessionmaker[AsyncSession],
    principal: Principal,
    dispatcher: RunDispatcher,
    cases: list[list[dict[str, Any]]],
    *,
    name: str,
    **settings: Any,
) -> uuid.UUID:
    """Create test cases of `cases` (proven steps each), a run of them, and start it as the
    api does; `settings` are the run's (e.g. parallel_count)."""
    async with transaction(sessions) as session:
        ids = []
        for steps in cases:
            case = TestCase(project_id=principal.project_id, name=name, proven_steps=steps)
            session.add(case)
            await session.flush()
            ids.append(case.id)
        run, _ = await runs.create_test_run(
            session,
            principal=principal,
            data=TestRunCreate(run_name="bench", test_case_ids=ids, **settings),
        )
    async with transaction(sessions) as session:
        await runs.start_test_run(
            session,
            principal=principal,
            run_id=run.id,
            options=StartOptions(),
            dispatcher=dispatcher,
        )
    return run.id
