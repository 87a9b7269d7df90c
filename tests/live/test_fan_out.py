"""Redis restarting under subscribers, and several api processes serving one run."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.database import transaction
from server.embedded import EmbeddedRedis
from tests.factories import make_run
from tests.live.harness import EVENTS, UPDATES, Api, Writer, api_process, subscribed


async def running_run(writer: Writer) -> uuid.UUID:
    async with transaction(writer.team.sessions) as session:
        run = await make_run(session, writer.team.project, writer.team.user, status="running")
    return run.id


def seqs(results: list[dict]) -> list[int]:
    return [result["testRunEvents"]["seq"] for result in results]


@pytest.mark.slow
async def test_subscribers_recover_from_a_redis_restart_and_miss_nothing(
    own_redis: EmbeddedRedis,
    migrated_database_url: str,
    committing_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    writer = await Writer.create(committing_session_factory, own_redis.url)
    run_id = await running_run(writer)
    token = await writer.token()
    with api_process(migrated_database_url, own_redis.url) as api:
        async with (
            subscribed(api, token, EVENTS, runId=str(run_id), afterSeq=0) as events,
            subscribed(api, token, UPDATES, runId=str(run_id)) as updates,
        ):
            for n in range(3):
                await writer.event(run_id, step=n)
            await events.wait_for(lambda results: len(results) == 3)

            own_redis.stop()
            for n in range(3, 6):  # committed; their publication fails without failing them
                await writer.event(run_id, step=n)
            own_redis.start()
            await events.wait_for(lambda results: len(results) == 6)
            await writer.event(run_id, step=6)
            last = await writer.event(run_id, "run.completed", status="completed")
            await asyncio.wait_for(events.done.wait(), 30)
            await updates.wait_for(
                lambda results: results[-1]["testRunUpdates"]["eventSeq"] == last
            )
        log = api.output.drain()
    await writer.aclose()

    assert events.error is None
    assert seqs(events.results) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert "redis event bus disconnected" in log


@pytest.mark.slow
async def test_two_api_processes_both_deliver_every_event(
    api: Api, writer: Writer, migrated_database_url: str, redis_url: str
) -> None:
    run_id = await running_run(writer)
    token = await writer.token()
    with api_process(migrated_database_url, redis_url) as second_api:
        async with (
            subscribed(api, token, EVENTS, runId=str(run_id), afterSeq=0) as first,
            subscribed(second_api, token, EVENTS, runId=str(run_id), afterSeq=0) as second,
        ):
            for n in range(5):
                await writer.event(run_id, step=n)
            await writer.event(run_id, "run.completed", status="completed")
            await asyncio.wait_for(asyncio.gather(first.done.wait(), second.done.wait()), 30)

    assert seqs(first.results) == seqs(second.results) == [1, 2, 3, 4, 5, 6]
