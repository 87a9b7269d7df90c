"""`testrun dev`: the whole stack on one machine, with embedded PostgreSQL and Redis.

Starts what is not configured (PostgreSQL, Redis), migrates, seeds the demo once, runs
api + worker + scheduler as children, prints where to go, and on Ctrl-C (or SIGTERM)
stops the children first, then Redis, then PostgreSQL. When Redis cannot be started or
reached, only the api runs, in inline mode (it executes runs itself), and it says so.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from models.database import create_engine, create_session_factory, transaction
from models.enums import Role
from resolvers.errors import Unauthenticated
from resolvers.tokens import authenticate_token, create_api_token
from server.embedded import (
    EmbeddedPostgres,
    EmbeddedRedis,
    EmbeddedServerError,
    spawn_child,
    wait_or_kill,
)
from server.migrate import upgrade_database
from server.seed import DEMO_PROJECT, seed_demo
from server.settings import Settings

DEV_DATABASE = "testrun"
PROCESSES = ("api", "worker", "scheduler")
# How long `testrun dev` waits for a configured Redis before going inline.
REDIS_PROBE_TIMEOUT_S = 2.0


class DevStackError(RuntimeError):
    """The dev stack could not start; the message says what to do."""


@dataclass
class DevStack:
    """The processes of one `testrun dev`, in the order they start."""

    settings: Settings
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # Why Redis is not used (the stack then runs in inline mode); None when it is.
    without_redis: str | None = None

    @property
    def data_dir(self) -> Path:
        """Where embedded data, logs and the dev token live."""
        return self.settings.data_dir.resolve()

    def start_databases(self) -> tuple[str, str | None]:
        """The PostgreSQL and Redis URLs, starting embedded servers for the unset ones.

        The Redis URL is None when Redis could not be started or reached (`without_redis`
        says why): the stack then runs in inline mode.
        """
        database_url = self.settings.database_url
        if not database_url:
            self.postgres = EmbeddedPostgres(self.data_dir / "postgres")
            self.postgres.start()
            self.postgres.ensure_database(DEV_DATABASE)
            database_url = self.postgres.url(DEV_DATABASE)
        return database_url, self._start_redis()

    def _start_redis(self) -> str | None:
        redis_url = self.settings.redis_url
        if redis_url:
            client = Redis.from_url(redis_url, socket_connect_timeout=REDIS_PROBE_TIMEOUT_S)
            try:
                client.ping()
            except (RedisError, OSError) as error:
                self.without_redis = f"Redis at {redis_url} does not answer ({error})"
                return None
            finally:
                client.close()
            return redis_url
        redis = EmbeddedRedis(self.data_dir / "redis")
        try:
            redis.start()
        except (EmbeddedServerError, OSError) as error:
            redis.stop()
            self.without_redis = f"the embedded Redis did not start ({error})"
            return None
        self.redis = redis
        return redis.url

    def start_children(self, database_url: str, redis_url: str | None) -> None:
        """Run api, worker and scheduler as children sharing our settings.

        Without Redis only the api runs, with TESTRUN_INLINE: it executes runs itself.
        """
        env = {**os.environ, "DATABASE_URL": database_url, "TESTRUN_DATA_DIR": str(self.data_dir)}
        # A person reads these lines.
        env.setdefault("TESTRUN_LOG_FORMAT", "text")
        # The dev api listens on localhost only: its /metrics needs no token.
        env.setdefault("TESTRUN_METRICS_PUBLIC", "1")
        processes: tuple[str, ...] = PROCESSES
        if redis_url is None:
            env.pop("REDIS_URL", None)
            env["TESTRUN_INLINE"] = "1"
            processes = ("api",)
        else:
            env["REDIS_URL"] = redis_url
        for name in processes:
            self.children[name] = spawn_child(
                [sys.executable, "-m", "server.cli", name],
                log_path=None,
                env=env,
            )

    def wait_for_api(self, timeout: float = 30.0) -> None:
        """Block until the api answers /healthz, or raise if it died or took too long."""
        url = f"http://127.0.0.1:{self.settings.port}/healthz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.raise_if_a_child_died()
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise DevStackError(f"the api did not answer {url} within {timeout:.0f}s")

    def raise_if_a_child_died(self) -> None:
        """Raise naming the first child that exited."""
        for name, child in self.children.items():
            if child.poll() is not None:
                raise DevStackError(f"`testrun {name}` exited with code {child.returncode}")

    def stop(self) -> None:
        """Stop children (SIGTERM, then kill after 10s), then Redis, then PostgreSQL."""
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in self.children.values():
            wait_or_kill(child, max(0.1, deadline - time.monotonic()))
        self.children.clear()
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()


async def prepare_demo(database_url: str, settings: Settings) -> tuple[str, str]:
    """Seed once and return (project name, editor token), reusing the saved dev token."""
    token_file = settings.data_dir.resolve() / "dev-token"
    engine = create_engine(database_url, pool_size=1)
    try:
        sessions = create_session_factory(engine)
        async with transaction(sessions) as session:
            demo = await seed_demo(session, base_url=settings.base_url)
            if token_file.exists():
                saved = token_file.read_text().strip()
                try:
                    principal = await authenticate_token(session, saved, now=datetime.now(UTC))
                    if principal.project_id == demo.project.id:
                        return DEMO_PROJECT, saved
                except Unauthenticated:
                    pass
            _, secret = await create_api_token(
                session,
                user_id=demo.user.id,
                project_id=demo.project.id,
                role=Role.EDITOR,
                name="dev token",
            )
        token_file.parent.mkdir(parents=True, exist_ok=True)
        token_file.touch(mode=0o600)
        token_file.write_text(secret + "\n")
        return DEMO_PROJECT, secret
    finally:
        await engine.dispose()


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


INLINE_NOTICE = """
INLINE MODE: {reason}.
  The api executes runs itself (no worker, no scheduler): runs, REST and live
  subscriptions work; schedules do not fire and the live view (vncUrl) is off.
  /readyz says "mode": "inline". Start Redis (or fix REDIS_URL) and restart for the full stack.
"""


def _banner(
    settings: Settings, token: str, project: str, database_url: str, redis_url: str | None
) -> str:
    base = settings.base_url
    redis = redis_url or "none: inline mode"
    return f"""
testrun is running (project "{project}", editor token below).

  Dashboard    {base}/ui
  GraphiQL     {base}/graphql
  REST         {base}/api/v1
  Health       {base}/healthz   {base}/readyz
  Token        {token}
  PostgreSQL   {database_url}
  Redis        {redis}

Try it:
  curl -H "Authorization: Bearer {token}" -H 'content-type: application/json' \\
       -d '{{"query":"{{ me {{ id email role project {{ name }} }} }}"}}' {base}/graphql

In the dashboard, paste the token once. In GraphiQL, add the header
{{"Authorization": "Bearer {token}"}}. From a shell or CI job:
  TESTRUN_URL={base} TESTRUN_TOKEN={token} testrun run "Health endpoint answers" --follow
Press Ctrl-C to stop everything.
"""


def run_dev(settings: Settings) -> int:
    """Run the dev stack until SIGINT/SIGTERM; returns the exit code."""
    if not _port_is_free(settings.host, settings.port):
        print(  # noqa: T201 (the dev command talks to a person)
            f"Port {settings.port} on {settings.host} is in use; stop what uses it "
            f"or set TESTRUN_PORT.",
            file=sys.stderr,
        )
        return 1
    stopping = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    stack = DevStack(settings)
    started = time.monotonic()
    try:
        database_url, redis_url = stack.start_databases()
        if stack.without_redis is not None:
            print(INLINE_NOTICE.format(reason=stack.without_redis), flush=True)  # noqa: T201
        upgrade_database(database_url)
        project, token = asyncio.run(prepare_demo(database_url, settings))
        stack.start_children(database_url, redis_url)
        stack.wait_for_api()
        print(_banner(settings, token, project, database_url, redis_url), flush=True)  # noqa: T201
        if stack.without_redis is not None:
            print(INLINE_NOTICE.format(reason=stack.without_redis), flush=True)  # noqa: T201
        print(f"Started in {time.monotonic() - started:.1f}s.", flush=True)  # noqa: T201
        while not stopping.wait(0.5):
            stack.raise_if_a_child_died()
        print("\nStopping testrun...", flush=True)  # noqa: T201
        return 0
    except DevStackError as error:
        print(f"testrun dev: {error}", file=sys.stderr)  # noqa: T201
        return 1
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
