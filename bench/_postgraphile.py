"""PostGraphile 4 on the bench's PostgreSQL: the GraphQL server bench/read_api compares with."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench._stack import wait_until_serving
from server.embedded import free_port

# Installed by `make bench` (npm install into this folder, from its package.json).
FOLDER = Path(__file__).parent / "postgraphile"
EXECUTABLE = FOLDER / "node_modules" / ".bin" / "postgraphile"

# The bench's `testRun` query in PostGraphile's names: the same fields, the items in
# execution order with their test case and their latest result (last created, then id).
QUERY = """
query Run($id: UUID!) {
  testRun: testRunById(id: $id) {
    id runName status totalTests passedTests failedTests passRate startedAt completedAt
    items: testRunItemsByTestRunId(orderBy: EXECUTION_ORDER_ASC) {
      nodes {
        id executionOrder status durationMs totalSteps passedSteps failedSteps errorMessage
        testCase: testCaseByTestCaseId { id name }
        latestResult: testRunResultsByTestRunItemId(
          first: 1, orderBy: [CREATED_AT_DESC, ID_DESC]
        ) {
          nodes { id status durationMs passRate totalSteps passedSteps failedSteps errorMessage }
        }
      }
    }
  }
}
"""


def unavailable() -> str | None:
    """Why PostGraphile cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not installed (apt-get install nodejs npm)"
    if not EXECUTABLE.exists():
        return f"PostGraphile is not installed: run `make bench` or `npm install --prefix {FOLDER}`"
    return None


@contextmanager
def postgraphile_process(database_url: str) -> Iterator[str]:
    """PostGraphile serving the `public` schema of `database_url`: its base URL."""
    port = free_port()
    connection = database_url.replace("postgresql+asyncpg://", "postgres://")
    process = subprocess.Popen(
        [
            str(EXECUTABLE),
            "--connection",
            connection,
            "--schema",
            "public",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--disable-graphiql",
            "--disable-query-log",
            "--disable-default-mutations",
        ],
        cwd=FOLDER,
        stdout=subprocess.DEVNULL,  # its banner; errors still reach stderr
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        # PostGraphile answers once it has introspected the database.
        wait_until_serving(
            "postgraphile",
            process,
            lambda: httpx.post(f"{base_url}/graphql", json={"query": "{__typename}"}).is_success,
            timeout_s=60,
        )
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)
