"""`testrun dead-letters [list|replay ID]` against the real Redis."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from tests.fixtures.broker import KillMessage
from tests.processes import cli_env, run_cli


async def test_dead_letters_are_listed_and_replayed_from_the_command_line(
    redis_url: str, dead_letter: KillMessage
) -> None:
    env = cli_env(REDIS_URL=redis_url)
    run_id = uuid.uuid4()
    letter_id = await dead_letter(run_id)

    listed = run_cli("dead-letters", env=env)
    replayed = run_cli("dead-letters", "replay", letter_id, env=env)
    unknown = run_cli("dead-letters", "replay", letter_id, env=env)

    assert listed.returncode == 0, listed.stderr
    (line,) = listed.stdout.splitlines()
    assert line.startswith(f"{letter_id}  ")
    assert f"runs  start_run('{run_id}')  retries=1  ConnectionRefusedError" in line
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.startswith(f"replayed {letter_id}  ")
    assert unknown.returncode == 1
    assert f"Dead letter not found: {letter_id}" in unknown.stderr


async def test_with_no_dead_letters_it_says_so(redis_url: str, redis: Redis) -> None:
    await redis.flushdb()

    done = run_cli("dead-letters", "list", env=cli_env(REDIS_URL=redis_url))

    assert (done.returncode, done.stdout) == (0, "no dead letters\n")


def test_it_needs_a_redis_url() -> None:
    done = run_cli("dead-letters", env=cli_env())

    assert done.returncode == 1
    assert "REDIS_URL is not set" in done.stderr
