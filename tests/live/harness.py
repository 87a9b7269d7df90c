"""Real api processes, GraphQL WebSocket clients and event writers for the live tests."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport
from playwright.async_api import Page
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.events import RedisEventPublisher
from execution.sandboxes.chromium import find_chromium
from models.database import transaction
from models.enums import Role
from resolvers.events import append_run_event, publish_committed_events
from resolvers.tokens import create_api_token
from server.embedded import free_port
from tests.execution.engine_harness import Team
from tests.processes import Output, cli_env, started

EVENTS = """
subscription Events($runId: UUID!, $afterSeq: Int!) {
  testRunEvents(runId: $runId, afterSeq: $afterSeq) { runId seq type payload }
}
"""
UPDATES = """
subscription Updates($runId: UUID!) {
  testRunUpdates(runId: $runId) {
    id status eventSeq totalTests passedTests failedTests
    items { id status currentStep totalSteps vncUrl }
  }
}
"""
START = """
mutation Start($id: UUID!) { startTestRun(id: $id) { run { status } } }
"""
CHANGES = """
subscription Changes($projectId: UUID!) {
  testRunsChanged(projectId: $projectId) { runId seq type run { id status } }
}
"""


@dataclass
class Api:
    """A `testrun api` process on a free port."""

    port: int
    output: Output
    process: subprocess.Popen[str]

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def api_process(database_url: str, redis_url: str | None, **settings: str) -> Iterator[Api]:
    """Start `testrun api` against the given PostgreSQL and Redis (None: no REDIS_URL at all).

    Yields once it answers.
    """
    port = free_port()
    env = cli_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        TESTRUN_PORT=str(port),
        TESTRUN_LOG_LEVEL="info",
        **settings,
    )
    with started("api", env=env) as (process, output):
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, output.drain()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, output.drain()
            time.sleep(0.1)
        yield Api(port, output, process)


@dataclass
class Worker:
    """A running `testrun worker`: the port of its own metrics, and what it prints."""

    metrics_port: int
    output: Output
    pid: int


@contextmanager
def worker_process(database_url: str, redis_url: str, artifacts: Path) -> Iterator[Worker]:
    """A `testrun worker` replaying items in the system's Chromium, once it is ready.

    It serves its own metrics on a port of its own, and logs JSON lines.
    """
    metrics_port = free_port()
    env = cli_env(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        TESTRUN_CHROMIUM=str(find_chromium(None)),
        TESTRUN_ARTIFACTS_DIR=str(artifacts),
        TESTRUN_STEP_TIMEOUT_MS="5000",  # a failing assertion fails in 5 s, not 15
        TESTRUN_METRICS_PORT=str(metrics_port),
    )
    with started("worker", "--concurrency", "2", env=env) as (process, output):
        output.wait_for("worker ready", timeout=60)
        yield Worker(metrics_port, output, process.pid)
        process.send_signal(signal.SIGTERM)  # closes its browsers before it exits
        process.wait(timeout=30)


@dataclass
class Writer:
    """Commits run events as the api and workers do, publishing them after commit."""

    team: Team
    redis: Redis

    @classmethod
    async def create(cls, sessions: async_sessionmaker[AsyncSession], redis_url: str) -> Writer:
        redis = Redis.from_url(redis_url, socket_connect_timeout=0.5)
        publish_committed_events(sessions, RedisEventPublisher(redis, timeout_s=0.5))
        return cls(await Team.create(sessions), redis)

    async def token(self, role: Role = Role.VIEWER) -> str:
        async with transaction(self.team.sessions) as session:
            _, secret = await create_api_token(
                session, user_id=self.team.user.id, project_id=self.team.project.id, role=role
            )
        return secret

    async def event(self, run_id: uuid.UUID, type_: str = "step.completed", **payload: Any) -> int:
        async with transaction(self.team.sessions) as session:
            event = await append_run_event(session, run_id=run_id, type=type_, payload=payload)
        return event.seq

    async def aclose(self) -> None:
        await self.redis.aclose()


async def graphql(api: Api, token: str, query: str, **variables: Any) -> dict[str, Any]:
    """The `data` of a query or mutation sent over HTTP to the api (fails the test on errors)."""
    async with httpx.AsyncClient(base_url=api.http_url, timeout=30) as client:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    body = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def sign_in(page: Page, api: Api, token: str, path: str = "/ui") -> None:
    """Open a dashboard page and sign in with `token` as a person would."""
    await page.goto(f"{api.http_url}{path}")
    await page.get_by_label("API token").fill(token)
    await page.get_by_role("button", name="Sign in").click()


def transport(api: Api, token: str | None) -> WebsocketsTransport:
    payload = {} if token is None else {"authorization": f"Bearer {token}"}
    return WebsocketsTransport(
        url=api.ws_url,
        init_payload=payload,
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )


@dataclass
class Received:
    """What one subscription received, filled by a background task."""

    results: list[dict[str, Any]] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    error: BaseException | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, predicate: Any, timeout: float = 30) -> None:
        async def until() -> None:
            while not predicate(self.results):
                assert self.error is None, self.error
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(until(), timeout)


@asynccontextmanager
async def subscribed(
    api: Api, token: str, document: str, **variables: Any
) -> AsyncIterator[Received]:
    """Subscribe with gql over a real socket; results collect in the background."""
    received = Received()
    ready = asyncio.Event()

    async def listen() -> None:
        try:
            async with Client(transport=transport(api, token)) as session:
                ready.set()
                async for result in session.subscribe(
                    GraphQLRequest(document, variable_values=variables)
                ):
                    received.results.append(result)
                    received.changed.set()
        except Exception as error:
            received.error = error
        finally:
            ready.set()
            received.done.set()
            received.changed.set()

    task = asyncio.create_task(listen())
    await ready.wait()
    try:
        yield received
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def raw_socket(api: Api, **connect: Any) -> websockets.ClientConnection:
    """A bare graphql-transport-ws socket, for protocol-level checks."""
    return await websockets.connect(api.ws_url, subprotocols=["graphql-transport-ws"], **connect)  # type: ignore[list-item]


async def send(socket: websockets.ClientConnection, message: dict[str, Any]) -> None:
    await socket.send(json.dumps(message))


async def receive(socket: websockets.ClientConnection, timeout: float = 10) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), timeout))
    return found


async def start_and_follow(
    api: Api, token: str, run_id: uuid.UUID
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Subscribe to a run's events and updates, start it over GraphQL, follow it to the end.

    Returns what `testRunEvents` and `testRunUpdates` received.
    """
    async with (
        subscribed(api, token, EVENTS, runId=str(run_id), afterSeq=0) as events,
        subscribed(api, token, UPDATES, runId=str(run_id)) as updates,
    ):
        await updates.wait_for(lambda results: len(results) == 1)
        async with httpx.AsyncClient(base_url=api.http_url) as client:
            response = await client.post(
                "/graphql",
                json={"query": START, "variables": {"id": str(run_id)}},
                headers={"Authorization": f"Bearer {token}"},
            )
        # The request answers at once: the items execute after it.
        assert response.json()["data"]["startTestRun"]["run"]["status"] == "RUNNING"
        await asyncio.wait_for(events.done.wait(), 90)
        await updates.wait_for(
            lambda results: results[-1]["testRunUpdates"]["status"] == "COMPLETED", 30
        )
    return (
        [result["testRunEvents"] for result in events.results],
        [result["testRunUpdates"] for result in updates.results],
    )


def scrape(url: str, token: str | None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics page by (name, sorted labels)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(url, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
