"""Schemathesis fuzzes every REST operation of /openapi.json against a real `testrun api`.

No 5xx, and every response (status, content type, body, headers) must match the document.
Bounded by examples per operation so that it takes a few minutes at most on two cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from models.database import create_engine, create_session_factory, transaction
from models.enums import Role
from resolvers.tenancy import ensure_member
from resolvers.tokens import create_api_token
from server.embedded import free_port
from server.migrate import upgrade_database
from tests.factories import (
    make_item,
    make_project,
    make_result,
    make_run,
    make_test_case,
    make_user,
)
from tests.processes import cli_env, started

MAX_EXAMPLES = "25"
# Every check but "schema-valid data is accepted": rules across fields (a repeat field of
# another repeat type, completed_at before started_at), ids that name nothing and states
# (starting a running run) refuse schema-valid requests by design, with 400, 404 and 422.
EXCLUDED_CHECKS = "positive_data_acceptance"


async def _seed(database_url: str) -> str:
    """An editor token of a project with a running client run, its item and a result."""
    engine = create_engine(database_url, pool_size=1)
    async with transaction(create_session_factory(engine)) as session:
        project = await make_project(session)
        user = await make_user(session)
        await ensure_member(session, project_id=project.id, user_id=user.id, role=Role.EDITOR)
        _, token = await create_api_token(
            session, user_id=user.id, project_id=project.id, role=Role.EDITOR
        )
        test_case = await make_test_case(session, project)
        run = await make_run(session, project, user, executor="client", status="running")
        item = await make_item(session, run, test_case, status="queued")
        await make_result(session, item)
    await engine.dispose()
    return token


@pytest.fixture
def api(empty_database_url: str, redis_url: str, tmp_path: Path) -> Iterator[str]:
    upgrade_database(empty_database_url)
    port = free_port()
    env = cli_env(
        DATABASE_URL=empty_database_url,
        REDIS_URL=redis_url,
        TESTRUN_PORT=str(port),
        TESTRUN_LOG_LEVEL="warning",
        TESTRUN_ARTIFACTS_DIR=str(tmp_path / "artifacts"),
    )
    with started("api", env=env) as (process, output):
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, output.drain()
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, output.drain()
                time.sleep(0.1)
        yield base_url
        assert "Traceback" not in output.drain(), output.drain()


@pytest.mark.slow
async def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    api: str, empty_database_url: str, tmp_path: Path
) -> None:
    token = await _seed(empty_database_url)
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{api}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        "--exclude-checks",
        EXCLUDED_CHECKS,
        "--max-examples",
        MAX_EXAMPLES,
        "--workers",
        "1",
        "--seed",
        "20260117",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path / "report"),
    ]
    finished = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        cwd=tmp_path,
    )
    assert finished.returncode == 0, finished.stdout[-20_000:] + finished.stderr[-5_000:]
