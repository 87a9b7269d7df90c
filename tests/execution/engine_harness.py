"""A real engine for tests: Dramatiq's stub broker and worker, committing sessions, real Chromium.

Pages come from a local HTTP server; runs start through the same resolver the API uses.
"""

from __future__ import annotations

import asyncio
import functools
import http.server
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.actors import register_actors
from execution.artifact_storage import ArtifactStorage
from execution.claims import Liveness
from execution.dispatch import QueueDispatcher
from execution.engine import Engine
from execution.sandboxes.base import SandboxProvider
from execution.sandboxes.chromium import find_chromium
from execution.sandboxes.local import LocalSandboxProvider
from execution.sandboxes.script_isolation import ScriptIsolation
from models.database import create_engine, create_session_factory, transaction
from models.enums import FINAL_RUN_STATUSES, Role
from models.runs import RunEvent, TestRun
from models.tenancy import Project, User
from models.test_cases import TestCase, TestScript
from resolvers import runs
from resolvers.run_feeds import EventFeed
from resolvers.run_inputs import StartOptions
from resolvers.tenancy import ensure_member
from resolvers.tokens import Principal
from server.sandboxes import script_isolation
from server.settings import Settings
from tests.factories import (
    make_item,
    make_project,
    make_run,
    make_script,
    make_test_case,
    make_user,
    principal_of,
)

PAGES = {
    "login.html": """<!doctype html><title>Login</title>
<form action="dashboard.html"><input name="email" id="email">
<button type="submit">Log in</button></form>
<script>console.log("login page ready")</script>""",
    "dashboard.html": """<!doctype html><title>Dashboard</title>
<h1>Welcome</h1><a href="login.html">Log out</a>""",
}


@contextmanager
def serve_pages(root: Path) -> Iterator[str]:
    """Serve PAGES from `root` on a free local port; yields the base URL."""
    for name, html in PAGES.items():
        (root / name).write_text(html)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serve_handler(functools.partial(Quiet, directory=str(root))) as url:
        yield url


@contextmanager
def serve_handler(handler: Any) -> Iterator[str]:
    """Serve HTTP with `handler` on a free local port in a thread; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def step(number: int, action: str, **arguments: Any) -> dict[str, Any]:
    """A proven step in the recorder's format."""
    return {
        "step_number": number,
        "tool_name": "e2b_browser",
        "arguments": {"action": action, **arguments},
    }


@dataclass
class Team:
    """A project with an editor, writing through committing sessions."""

    sessions: async_sessionmaker[AsyncSession]
    project: Project
    user: User

    @property
    def principal(self) -> Principal:
        """The editor as the resolvers see a caller."""
        return principal_of(self.project, self.user)

    @classmethod
    async def create(cls, sessions: async_sessionmaker[AsyncSession]) -> Team:
        """A new project and editor."""
        async with transaction(sessions) as session:
            project = await make_project(session)
            user = await make_user(session)
            await ensure_member(session, project_id=project.id, user_id=user.id, role=Role.EDITOR)
        return cls(sessions, project, user)

    async def run_of(self, cases: list[dict[str, Any]], **run_fields: Any) -> uuid.UUID:
        """A pending server run with one item per test case (given as column values)."""
        async with transaction(self.sessions) as session:
            run = await make_run(session, self.project, self.user, **run_fields)
            for case_fields in cases:
                case = await make_test_case(session, self.project, **case_fields)
                await make_item(session, run, case)
        return run.id

    async def run_case_again(self, case_id: uuid.UUID, broker: dramatiq.Broker) -> uuid.UUID:
        """Run an existing test case in a new run, to its end; the run's id."""
        async with transaction(self.sessions) as session:
            run = await make_run(session, self.project, self.user)
            case = await session.get(TestCase, case_id)
            assert case is not None
            await make_item(session, run, case)
        await self.start(run.id, broker)
        assert (await self.wait_final(run.id, timeout_s=90)).status == "completed"
        return run.id

    async def script(self, **fields: Any) -> TestScript:
        """A test script of the project (see `make_script` for the defaults)."""
        async with transaction(self.sessions) as session:
            return await make_script(session, self.project, **fields)

    async def start(self, run_id: uuid.UUID, broker: dramatiq.Broker) -> None:
        """Start the run as the API does (the start message is sent after commit)."""
        async with transaction(self.sessions) as session:
            await runs.start_test_run(
                session,
                principal=self.principal,
                run_id=run_id,
                options=StartOptions(),
                dispatcher=QueueDispatcher(broker),
            )

    async def stop(self, run_id: uuid.UUID, broker: StubBroker) -> None:
        """Stop the run as the API does."""
        async with transaction(self.sessions) as session:
            await runs.stop_test_run(session, principal=self.principal, run_id=run_id)

    async def run(self, run_id: uuid.UUID) -> TestRun:
        """The run as stored now."""
        async with self.sessions() as session:
            found = await session.get(TestRun, run_id)
            assert found is not None
            return found

    async def events(self, run_id: uuid.UUID) -> list[RunEvent]:
        """The run's event log in order."""
        async with self.sessions() as session:
            return list(
                await session.scalars(
                    select(RunEvent).where(RunEvent.test_run_id == run_id).order_by(RunEvent.seq)
                )
            )

    async def wait_final(self, run_id: uuid.UUID, *, timeout_s: float = 45) -> TestRun:
        """The run once it is completed, failed or cancelled (fails the test on timeout)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            run = await self.run(run_id)
            if run.status in FINAL_RUN_STATUSES:
                return run
            await asyncio.sleep(0.1)
        raise AssertionError(f"run {run_id} did not finish in {timeout_s} s")


__all__ = ["PAGES", "Team", "serve_pages", "step"]


def start_engine(
    url: str,
    broker: StubBroker,
    artifacts: Path,
    *,
    chromium: Path | None = None,
    isolation: ScriptIsolation | None = None,
    provider: SandboxProvider | None = None,
    storage: ArtifactStorage | None = None,
    feed: EventFeed | None = None,
    liveness: Liveness | None = None,
) -> tuple[Engine, dramatiq.Worker]:
    """An engine and worker; scripts isolated as a worker with DATABASE_URL=`url` would.

    Without a `feed` its items notice a stop only with their heartbeat.
    """
    # The actors run on Dramatiq's event loop thread: the engine gets its own connections.
    database = create_engine(url, pool_size=4)
    isolation = isolation or script_isolation(Settings(database_url=url))
    engine = Engine(
        sessions=create_session_factory(database),
        provider=provider
        or LocalSandboxProvider(chromium or find_chromium(None), isolation=isolation),
        queue=QueueDispatcher(broker),
        artifacts=artifacts,
        step_timeout_ms=5_000,
        storage=storage,
        feed=feed,
        liveness=liveness or Liveness(),
    )
    register_actors(broker, engine)
    worker = dramatiq.Worker(broker, worker_timeout=100, worker_threads=4)
    worker.start()
    return engine, worker


def stop_engine(engine: Engine, worker: dramatiq.Worker) -> None:
    # Browsers and connections are freed on the loop that made them, before it stops.
    loop = get_event_loop_thread()
    assert loop is not None
    loop.run_coroutine(engine.provider.aclose())
    loop.run_coroutine(engine.sessions.kw["bind"].dispose())
    worker.stop()


def login_steps(site: str, *, expect: str = "/dashboard", email: str = "a@example.com") -> list:
    return [
        step(1, "navigate_to", url=f"{site}/login.html"),
        step(2, "input_text", index=0, text=email),
        step(3, "click_element", index=1),
        step(4, "assert_url_contains", expected_text=expect, assertion_description="Logged in"),
        step(5, "assert_text_present", text="Welcome"),
    ]


async def rows(team: Team, model: type, **where: object) -> list:
    async with team.sessions() as session:
        statement = select(model).filter_by(**where)
        return list(await session.scalars(statement))
