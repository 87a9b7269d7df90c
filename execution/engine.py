"""The engine: starts a run's first items and executes one item per message."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from execution import recording
from execution.artifact_storage import ArtifactStorage
from execution.claims import (
    RUNNING_CAP,
    Claim,
    Liveness,
    claim_next_items,
    claim_waiting_items,
)
from execution.dispatch import ItemQueue
from execution.executing import ExecutingItems
from execution.item_plan import ItemPlan
from execution.item_replay import ItemReplay
from execution.log_context import bind_log_context
from execution.recording import Sessions
from execution.sandboxes.base import SandboxProvider
from execution.scripts import LANGUAGES, Script
from models.database import transaction
from models.enums import ItemStatus, ResultStatus, RunStatus
from models.runs import TestRun, TestRunItem
from models.test_cases import TestCase, TestScript
from resolvers.run_feeds import EventFeed
from resolvers.run_locks import lock_running_run
from resolvers.script_variables import script_environment

logger = logging.getLogger(__name__)

DEFAULT_STEP_TIMEOUT_MS = 15_000


def worker_name() -> str:
    """Who claims an item: host and process, shown as `claimed_by`."""
    return f"{socket.gethostname()}:{os.getpid()}"[:255]


@dataclass
class Engine:
    """What the actors need; one per worker process."""

    sessions: Sessions
    provider: SandboxProvider
    queue: ItemQueue
    artifacts: Path
    step_timeout_ms: int = DEFAULT_STEP_TIMEOUT_MS
    liveness: Liveness = field(default_factory=Liveness)
    worker: str = ""
    # TESTRUN_MAX_RUNNING_ITEMS: running items over every worker; None: no global cap.
    max_running_items: int | None = None
    # Where result files go after the local directory; None: they stay in `artifacts`.
    storage: ArtifactStorage | None = None
    # The process's event bus, on which executing items hear that they must stop; None:
    # they notice only with the heartbeat (within `liveness.heartbeat_every`).
    feed: EventFeed | None = None
    executing: ExecutingItems = field(init=False)

    def __post_init__(self) -> None:
        """Name the worker after its process unless told otherwise."""
        self.worker = self.worker or worker_name()
        self.executing = ExecutingItems(
            self.sessions,
            worker=self.worker,
            heartbeat_every=self.liveness.heartbeat_every,
            feed=self.feed,
        )

    async def start_run(self, run_id: uuid.UUID) -> None:
        """Claim the run's first items (up to its parallelism) and send them to the workers."""
        RUNNING_CAP.set(self.max_running_items)  # this message's context only
        bind_log_context(run_id=run_id, worker=self.worker)
        async with transaction(self.sessions) as session:
            run = await lock_running_run(session, run_id)
            claims = [] if run is None else await claim_next_items(session, run, worker=self.worker)
        if run is None:
            logger.info("run %s is not running; start message dropped", run_id)
        await self.queue.send_items(claims)

    async def execute_item(self, item_id: uuid.UUID, attempt: int) -> None:
        """Replay a claimed item; a message for an item not running under `attempt` is dropped."""
        RUNNING_CAP.set(self.max_running_items)  # this message's context only
        bind_log_context(item_id=item_id, worker=self.worker)
        claim = Claim(item_id, attempt)
        plan = await self._plan(claim)
        if plan is None:
            logger.info("item %s attempt %d is not running; message dropped", item_id, attempt)
            return
        bind_log_context(run_id=plan.run_id)
        logger.info("item %s attempt %d executing", item_id, attempt)
        if await recording.open_results(self.sessions, item_id):
            await self._end_interrupted(plan)
            return
        if not plan.steps:
            claims = await recording.finish_without_result(
                self.sessions,
                claim,
                plan.run_id,
                status=ItemStatus.NO_RUN,
                error="The test case has no proven steps",
                worker=self.worker,
            )
            await self._ended(claim, claims)
        else:
            await self._replay(plan, claim)

    async def _ended(self, claim: Claim, claims: list[Claim]) -> None:
        """Send the items to start now that `claim`'s item is final."""
        logger.info("item %s attempt %d ended", claim.item_id, claim.attempt)
        await self.queue.send_items([*claims, *await self._fill_free_slots()])

    async def _fill_free_slots(self) -> list[Claim]:
        """Under a global cap, the slot an item freed goes to the next waiting item of any run.

        The item's own run claimed its next items already; this also serves the others
        (and the slot of an item that completed its run).
        """
        return await claim_free_slots(self.sessions, worker=self.worker)

    async def _replay(self, plan: ItemPlan, claim: Claim) -> None:
        async with self.executing.executing(claim, plan.run_id) as stop:
            replay = ItemReplay(
                plan,
                sessions=self.sessions,
                provider=self.provider,
                artifacts=self.artifacts,
                stop=stop,
                worker=self.worker,
                storage=self.storage,
            )
            try:
                # The next items start while this one's browser closes; the message (its
                # slot of the worker's concurrency) is held until the browser is gone.
                await self._ended(claim, await replay.run())
            finally:
                await replay.released()

    async def _end_interrupted(self, plan: ItemPlan) -> None:
        """Fail an execution that an earlier delivery of its message began: never replay it.

        The earlier delivery stopped with a result open (its worker could not record the end,
        or the message came twice): replaying would record the steps twice.
        """
        message = "The execution was interrupted before it could record its end; not replayed"
        logger.warning("item %s: %s", plan.claim.item_id, message)
        claims: list[Claim] = []
        final = False
        for result_id in await recording.open_results(self.sessions, plan.claim.item_id):
            end = recording.ResultEnd(status=ResultStatus.FAILED, error_message=message)
            final, next_claims = await recording.close_result(
                self.sessions, plan.claim, plan.run_id, result_id, end, worker=self.worker
            )
            claims += next_claims
        if not final:
            claims += await recording.finish_without_result(
                self.sessions,
                plan.claim,
                plan.run_id,
                status=ItemStatus.FAILED,
                error=message,
                worker=self.worker,
            )
        await self.queue.send_items([*claims, *await self._fill_free_slots()])

    async def _plan(self, claim: Claim) -> ItemPlan | None:
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(TestRunItem, TestRun, TestCase)
                    .join(TestRun, TestRun.id == TestRunItem.test_run_id)
                    .join(TestCase, TestCase.id == TestRunItem.test_case_id)
                    .where(
                        TestRunItem.id == claim.item_id,
                        TestRunItem.status == ItemStatus.RUNNING,
                        TestRunItem.attempt == claim.attempt,
                        TestRun.status == RunStatus.RUNNING,
                    )
                )
            ).one_or_none()
            if row is None:
                return None
            _, run, case = row
            wanted = [
                *(case.pre_script_ids or []),
                *(case.post_script_ids or []),
                *(case.on_demand_script_ids or []),
            ]
            scripts = {
                script.id: script
                for script in await session.scalars(
                    select(TestScript).where(
                        TestScript.id.in_(wanted), TestScript.project_id == run.project_id
                    )
                )
            }
            variables = await script_environment(session, run.project_id) if scripts else {}
        steps = sorted(_steps(case.proven_steps), key=lambda step: step["step_number"])
        viewport = None
        if run.viewport_width and run.viewport_height:
            viewport = (run.viewport_width, run.viewport_height)
        return ItemPlan(
            claim=claim,
            run_id=run.id,
            test_case_id=case.id,
            steps=steps,
            data_rows=[row for row in (case.data_rows or []) if isinstance(row, dict)],
            pre_scripts=_scripts(scripts, case.pre_script_ids),
            post_scripts=_scripts(scripts, case.post_script_ids),
            on_demand_scripts=_by_step(_scripts(scripts, case.on_demand_script_ids)),
            max_attempt=run.retry_count if run.retry_on_failure else 0,
            viewport=viewport,
            step_timeout_ms=self.step_timeout_ms,
            screenshot_every_step=run.screenshot_every_step,
            record_video=run.record_video,
            keep_trace_on_failure=run.keep_trace_on_failure,
            step_delay_ms=run.step_delay_ms,
            accessibility_scan=run.accessibility_scan,
            script_env={
                **variables,
                "TESTRUN_RUN_ID": str(run.id),
                "TESTRUN_ITEM_ID": str(claim.item_id),
            },
        )


async def claim_free_slots(sessions: Sessions, *, worker: str) -> list[Claim]:
    """Under the global cap (`RUNNING_CAP`), claim waiting items of any run for free slots."""
    max_running = RUNNING_CAP.get()
    if max_running is None:
        return []
    async with transaction(sessions) as session:
        return await claim_waiting_items(session, worker=worker, max_running=max_running)


def _steps(proven: Any) -> list[dict[str, Any]]:
    if not isinstance(proven, list):
        return []
    steps = []
    for position, step in enumerate(proven, start=1):
        if isinstance(step, dict) and isinstance(step.get("arguments"), dict):
            steps.append({"step_number": step.get("step_number", position), **step})
    return steps


def _scripts(found: dict[uuid.UUID, TestScript], ids: list[uuid.UUID] | None) -> list[Script]:
    return [
        Script(
            id=script.id,
            name=script.name,
            script_type=script.script_type,
            language=script.language,
            code=script.code,
            is_critical=script.is_critical,
            timeout_seconds=script.timeout_seconds,
            attached_to_step=script.attached_to_step,
        )
        for script in (found.get(uuid.UUID(str(id_))) for id_ in ids or [])
        if script is not None and script.language in LANGUAGES
    ]


def _by_step(scripts: list[Script]) -> dict[int, list[Script]]:
    """On-demand scripts by the step they follow, in the test case's order."""
    found: dict[int, list[Script]] = {}
    for script in scripts:
        if script.script_type == "on_demand" and script.attached_to_step is not None:
            found.setdefault(script.attached_to_step, []).append(script)
    return found
