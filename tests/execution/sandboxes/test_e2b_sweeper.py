"""The E2B sweeper against a local stand-in for E2B's control plane and sandboxes."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.sandboxes.e2b import ITEM_ID_KEY, RUN_ID_KEY
from execution.sandboxes.e2b_sweeper import sweep_leaked_sandboxes, sweeper_job
from models.database import transaction
from tests.execution.sandboxes.e2b_standin import (
    API_KEY,
    StandInE2B,
    StandInSandbox,
    sandbox_processes,
)
from tests.factories import make_item, make_project, make_run, make_test_case, make_user


@pytest.fixture(scope="module", autouse=True)
def no_processes_left_behind() -> Iterator[None]:
    yield
    leftovers = sandbox_processes()
    for process in leftovers:
        process.kill()
    assert not leftovers, f"stand-in processes left running: {leftovers}"


@pytest.fixture
async def standin(tmp_path: Path) -> AsyncIterator[StandInE2B]:
    # Sweeping never starts Chrome; the shim would only fail if it did.
    cloud = StandInE2B(root=tmp_path / "e2b", chromium=Path("/nonexistent/chromium"))
    yield cloud
    await cloud.kill_all()


async def tagged(standin: StandInE2B, item_id: uuid.UUID, **extra: str) -> StandInSandbox:
    metadata = {RUN_ID_KEY: str(uuid.uuid4()), ITEM_ID_KEY: str(item_id), **extra}
    return await standin.create(template="desktop", metadata=metadata, api_key=API_KEY)


def live_items(*item_ids: uuid.UUID):
    checked: list[uuid.UUID] = []

    async def is_live(item_id: uuid.UUID) -> bool:
        checked.append(item_id)
        return item_id in item_ids

    return is_live, checked


async def test_only_tagged_sandboxes_of_finished_items_are_killed(standin: StandInE2B) -> None:
    live, leaked, also_leaked = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    kept = await tagged(standin, live)
    gone = await tagged(standin, leaked)
    also_gone = await tagged(standin, also_leaked)
    untagged = await standin.create(metadata={"owner": "someone else"}, api_key=API_KEY)
    malformed = await standin.create(metadata={ITEM_ID_KEY: "not-a-uuid"}, api_key=API_KEY)
    # A leaked sandbox still runs what it ran; killing it must end that too.
    await gone.commands.run("exec sleep 60", background=True, timeout=0)
    assert sandbox_processes(gone.sandbox_id)
    is_live, checked = live_items(live)

    killed = await sweep_leaked_sandboxes(api_key=API_KEY, is_live=is_live, client=standin)

    assert killed == 2
    assert set(standin.sandboxes) == {kept.sandbox_id, untagged.sandbox_id, malformed.sandbox_id}
    assert gone.killed and also_gone.killed
    assert sandbox_processes(gone.sandbox_id) == []
    assert sorted(checked) == sorted([live, leaked, also_leaked])


async def test_only_sandboxes_with_the_deployment_tags_are_swept(standin: StandInE2B) -> None:
    ours = await tagged(standin, uuid.uuid4(), testrun_deployment="staging")
    theirs = await tagged(standin, uuid.uuid4(), testrun_deployment="production")
    is_live, checked = live_items()

    killed = await sweep_leaked_sandboxes(
        api_key=API_KEY,
        is_live=is_live,
        metadata={"testrun_deployment": "staging"},
        client=standin,
    )

    assert killed == 1
    assert ours.killed
    assert set(standin.sandboxes) == {theirs.sandbox_id}
    assert len(checked) == 1


async def test_a_failed_kill_is_logged_and_the_sweep_goes_on(
    standin: StandInE2B, caplog: pytest.LogCaptureFixture
) -> None:
    first = await tagged(standin, uuid.uuid4())
    second = await tagged(standin, uuid.uuid4())
    standin.failing_kills = 1
    is_live, _ = live_items()

    with caplog.at_level(logging.ERROR, logger="execution.sandboxes.e2b_sweeper"):
        killed = await sweep_leaked_sandboxes(api_key=API_KEY, is_live=is_live, client=standin)

    assert killed == 1
    assert first.sandbox_id in standin.sandboxes
    assert second.killed
    assert f"Could not kill leaked E2B sandbox {first.sandbox_id}" in caplog.text


async def test_when_liveness_cannot_be_told_nothing_is_killed(standin: StandInE2B) -> None:
    sandbox = await tagged(standin, uuid.uuid4())

    async def database_down(item_id: uuid.UUID) -> bool:
        raise ConnectionRefusedError("database is down")

    with pytest.raises(ConnectionRefusedError):
        await sweep_leaked_sandboxes(api_key=API_KEY, is_live=database_down, client=standin)

    assert not sandbox.killed


async def test_the_scheduler_job_sweeps_sandboxes_of_items_no_longer_running(
    standin: StandInE2B, committing_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with transaction(committing_session_factory) as session:
        project, user = await make_project(session), await make_user(session)
        run = await make_run(session, project, user)
        case = await make_test_case(session, project)
        running = await make_item(session, run, case, status="running")
        ended = await make_item(session, run, await make_test_case(session, project))
        ended.status = "passed"
    in_use = await tagged(standin, running.id)
    leaked = await tagged(standin, ended.id)
    of_a_deleted_run = await tagged(standin, uuid.uuid4())
    sweep = sweeper_job(api_key=API_KEY, every_s=3600, client=standin)

    await sweep(committing_session_factory)
    later_leak = await tagged(standin, uuid.uuid4())
    await sweep(committing_session_factory)  # within `every_s`: not swept again yet

    assert leaked.killed and of_a_deleted_run.killed
    assert set(standin.sandboxes) == {in_use.sandbox_id, later_leak.sandbox_id}
