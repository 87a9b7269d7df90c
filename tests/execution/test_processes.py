"""The worker and scheduler processes start, wait for work, and stop on SIGTERM."""

from __future__ import annotations

import signal

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from tests.processes import cli_env, run_cli, started


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "ready"), [("worker", "worker ready"), ("scheduler", "scheduler ready")]
)
def test_process_starts_waits_and_stops_on_sigterm(
    command: str, ready: str, migrated_database_url: str, redis_url: str
) -> None:
    env = cli_env(DATABASE_URL=migrated_database_url, REDIS_URL=redis_url)
    with started(command, env=env) as (process, output):
        output.wait_for(ready, timeout=30)
        assert process.poll() is None, "it should keep waiting for work"

        process.send_signal(signal.SIGTERM)

        assert process.wait(timeout=20) == 0, output.drain()
        assert "stopp" in output.drain()


@pytest.mark.parametrize("command", ["api", "worker", "scheduler", "migrate"])
def test_production_processes_refuse_to_start_without_a_database_url(command: str) -> None:
    done = run_cli(command, env=cli_env(), timeout=30)

    assert done.returncode == 1
    assert "DATABASE_URL is not set" in done.stderr


def test_stub_worker_runs_async_actors(
    stub_broker: StubBroker, stub_worker: dramatiq.Worker
) -> None:
    seen: list[int] = []

    @dramatiq.actor(broker=stub_broker)
    async def record(value: int) -> None:
        seen.append(value)

    for value in range(3):
        record.send(value)
    stub_broker.join(record.queue_name)
    stub_worker.join()

    assert sorted(seen) == [0, 1, 2]
