"""`testrun dev` as a newcomer runs it: up, answering with the printed token, Ctrl-C, again."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy import func, select

from models.database import create_engine, create_session_factory
from models.tenancy import Project
from models.test_cases import TestCase
from server.dev import DevStack, prepare_demo
from server.embedded import free_port
from server.migrate import upgrade_database
from server.settings import Settings
from tests.processes import Output, cli_env, run_cli, started

pytestmark = pytest.mark.slow

ME = {"query": "{ me { id email role project { id name tenantId } } }"}


def descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def wait_until_up(output: Output) -> tuple[str, str]:
    """The printed token and GraphiQL URL, once the banner is out."""
    output.wait_for("Press Ctrl-C", timeout=120)
    printed = output.drain()
    token = re.search(r"Token\s+(trn_\S+)", printed)
    url = re.search(r"GraphiQL\s+(http\S+)", printed)
    assert token and url, printed
    return token.group(1), url.group(1)


def test_dev_stack_serves_with_its_token_and_ctrl_c_leaves_nothing(tmp_path: Path) -> None:
    port = free_port()
    env = cli_env(TESTRUN_DATA_DIR=str(tmp_path / "var"), TESTRUN_PORT=str(port))

    with started("dev", env=env) as (process, output):
        token, graphql_url = wait_until_up(output)
        assert graphql_url == f"http://localhost:{port}/graphql"
        children = descendants(process.pid)
        names = " ".join(" ".join(child.cmdline()) for child in children)
        assert "postgres" in names and "redis-server" in names, names
        for command in ("server.cli api", "server.cli worker", "server.cli scheduler"):
            assert command in names, names

        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            answered = client.post(
                "/graphql", json=ME, headers={"Authorization": f"Bearer {token}"}
            )
            refused = client.post("/graphql", json=ME)
            ready = client.get("/readyz")
        assert answered.status_code == 200, answered.text
        me = answered.json()["data"]["me"]
        assert me["role"] == "EDITOR"
        assert me["project"]["name"] == "Demo"
        assert me["project"]["tenantId"] == "demo"
        assert refused.status_code == 401
        assert refused.json()["detail"].startswith("Missing bearer token")
        assert ready.status_code == 200, ready.text

        process.send_signal(signal.SIGINT)

        assert process.wait(timeout=30) == 0, output.drain()
        _, alive = psutil.wait_procs(children, timeout=5)
        assert alive == [], f"left running: {[p.cmdline() for p in alive]}"

    # A second start reuses the data: the same project and the same token.
    with started("dev", env=env) as (process, output):
        second_token, _ = wait_until_up(output)
        assert second_token == token
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            again = client.post("/graphql", json=ME, headers={"Authorization": f"Bearer {token}"})
        assert again.json()["data"]["me"]["project"]["id"] == me["project"]["id"]
        children = descendants(process.pid)

        process.send_signal(signal.SIGTERM)

        assert process.wait(timeout=30) == 0
        _, alive = psutil.wait_procs(children, timeout=5)
        assert alive == []


def test_dev_stack_seeds_the_demo_only_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", port=free_port())
    stack = DevStack(settings)
    try:
        database_url, _ = stack.start_databases()
        upgrade_database(database_url)

        first = asyncio.run(prepare_demo(database_url, settings))
        second = asyncio.run(prepare_demo(database_url, settings))

        async def counts() -> tuple[int, int]:
            engine = create_engine(database_url, pool_size=1)
            async with create_session_factory(engine)() as session:
                projects = await session.scalar(select(func.count()).select_from(Project))
                cases = await session.scalar(select(func.count()).select_from(TestCase))
            await engine.dispose()
            return int(projects or 0), int(cases or 0)

        assert first == second
        assert asyncio.run(counts()) == (1, 2)
    finally:
        stack.stop()


def test_dev_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_cli("dev", env=cli_env(TESTRUN_DATA_DIR=str(tmp_path), TESTRUN_PORT=str(port)))

    assert done.returncode == 1
    assert f"Port {port}" in done.stderr
    assert not (tmp_path / "postgres").exists(), "nothing should start when the port is taken"


def test_dev_without_redis_runs_the_api_inline_and_says_so(tmp_path: Path) -> None:
    port = free_port()
    nobody = f"redis://127.0.0.1:{free_port()}/0"
    env = cli_env(TESTRUN_DATA_DIR=str(tmp_path / "var"), TESTRUN_PORT=str(port), REDIS_URL=nobody)

    with started("dev", env=env) as (process, output):
        wait_until_up(output)
        printed = output.drain()
        assert f"INLINE MODE: Redis at {nobody} does not answer" in printed
        assert "Redis        none: inline mode" in printed
        # The children log readable text here, not JSON.
        ready_line = output.wait_for("api ready in inline mode", timeout=10)
        assert " INFO server.app: api ready in inline mode" in ready_line, ready_line
        children = descendants(process.pid)
        names = " ".join(" ".join(child.cmdline()) for child in children)
        assert "server.cli api" in names, names
        assert "server.cli worker" not in names and "server.cli scheduler" not in names, names
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["mode"] == "inline"

        process.send_signal(signal.SIGINT)

        assert process.wait(timeout=30) == 0, output.drain()
        _, alive = psutil.wait_procs(children, timeout=5)
        assert alive == [], f"left running: {[p.cmdline() for p in alive]}"
