"""Replaying one test case: a sandbox, each data row (or once), scripts, then every step."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playwright.async_api import Error as PlaywrightError

from execution import recording
from execution.artifact_storage import ArtifactStorage
from execution.claims import Claim
from execution.item_plan import Failure, ItemPlan, fill_placeholders
from execution.page_events import DialogAnswer, PageEvents, environment_of
from execution.page_scans import PageScans
from execution.recording import (
    RecordingFailed,
    ResultEnd,
    ResultStart,
    Sessions,
    StepStart,
    persist,
)
from execution.result_files import ResultFiles
from execution.sandboxes.base import Sandbox, SandboxSpec, SandboxUnavailable
from execution.scripts import Script, run_script, script_error
from execution.step_records import StepRecords, played_step
from execution.steps import execute_step
from execution.steps.base import StepContext, StepOutcome
from execution.visual_baselines import screenshot_store
from models.enums import ResultStatus
from resolvers.script_results import ScriptResultInput
from resolvers.steps import StepResultInput

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page

    from execution.sandboxes.base import SandboxProvider

logger = logging.getLogger(__name__)


class ItemReplay:
    """Executes one claimed item; writes everything through `recording`."""

    def __init__(
        self,
        plan: ItemPlan,
        *,
        sessions: Sessions,
        provider: SandboxProvider,
        artifacts: Path,
        stop: asyncio.Event,
        worker: str,
        storage: ArtifactStorage | None = None,
    ) -> None:
        """Prepare the replay of `plan`; `stop` is set when the run is stopped.

        A result's files are written under `artifacts`, then handed to `storage` (when
        set) as the result ends.
        """
        self.plan = plan
        self.sessions = sessions
        self.provider = provider
        self.artifacts = artifacts
        self.storage = storage
        self.stop = stop
        self.worker = worker
        self.next_claims: list[Claim] = []
        self._closing: list[asyncio.Task[None]] = []

    async def run(self) -> list[Claim]:
        """Replay every attempt until the item is final; the items to start next.

        It returns once the item is recorded final: its sandboxes may still be closing
        (see `released`).
        """
        rows: list[dict[str, Any] | None] = [*self.plan.data_rows] or [None]
        for attempt in range(self.plan.max_attempt + 1):
            final = await self._attempt(attempt, rows)
            if final or self.stop.is_set():
                break
        return self.next_claims

    async def released(self) -> None:
        """Wait until every sandbox of the replay is closed (`close` never raises)."""
        if self._closing:
            await asyncio.gather(*self._closing)

    async def _attempt(self, attempt: int, rows: Sequence[dict[str, Any] | None]) -> bool:
        sandbox: Sandbox | None = None
        spec = SandboxSpec(
            run_id=self.plan.run_id,
            item_id=self.plan.claim.item_id,
            viewport_width=self.plan.viewport[0] if self.plan.viewport else None,
            viewport_height=self.plan.viewport[1] if self.plan.viewport else None,
            video_dir=self._folder() / "video" if self.plan.record_video else None,
        )
        try:
            try:
                sandbox = await self.provider.create(spec)
            except SandboxUnavailable as error:
                return await self._unavailable(attempt, rows, str(error))
            await recording.set_vnc_url(
                self.sessions, self.plan.run_id, self.plan.claim.item_id, sandbox.vnc_url
            )
            final = False
            for number, row in enumerate(rows, start=1):
                # Each data row starts with no cookies or storage of the one before.
                context = sandbox.context if number == 1 else await sandbox.fresh_context()
                final = await self._result(
                    sandbox, context, attempt, number if row is not None else None, row
                )
                if self.stop.is_set():
                    break
            return final
        finally:
            if sandbox is not None:  # closed while the next attempt or item starts
                self._closing.append(asyncio.ensure_future(sandbox.close()))

    def _folder(self) -> Path:
        return self.artifacts / str(self.plan.run_id) / str(self.plan.claim.item_id)

    async def _unavailable(
        self, attempt: int, rows: Sequence[dict[str, Any] | None], message: str
    ) -> bool:
        final = False
        for number, row in enumerate(rows, start=1):
            result_id = await self._open(attempt, number if row is not None else None, row)
            await self._record_skipped(result_id, 0)
            final = await self._close(
                result_id, ResultEnd(status=ResultStatus.FAILED, error_message=message)
            )
        return final

    async def _open(
        self, attempt: int, iteration: int | None, row: dict[str, Any] | None
    ) -> uuid.UUID:
        start = ResultStart(
            run_id=self.plan.run_id,
            item_id=self.plan.claim.item_id,
            test_case_id=self.plan.test_case_id,
            retry_attempt=attempt,
            total_steps=len(self.plan.steps),
            iteration_number=iteration,
            data_row_values=row,
        )
        return await persist(lambda: recording.open_result(self.sessions, start), "the result")

    async def _close(self, result_id: uuid.UUID, end: ResultEnd) -> bool:
        final, claims = await persist(
            lambda: recording.close_result(
                self.sessions, self.plan.claim, self.plan.run_id, result_id, end, worker=self.worker
            ),
            "the end of the result",
        )
        self.next_claims.extend(claims)
        return final

    async def _record_skipped(self, result_id: uuid.UUID, start: int) -> str | None:
        """Store the steps from position `start` on as skipped; why that failed, if it did."""
        steps = [
            StepResultInput(
                step_number=step["step_number"],
                action=_action(step["arguments"]),
                description="Not played: an earlier step failed or the run stopped",
                status="skipped",
                duration_ms=0,
            )
            for step in self.plan.steps[start:]
        ]
        try:
            await persist(
                lambda: recording.record_skipped_steps(
                    self.sessions, result_id, steps, planned_steps=len(self.plan.steps)
                ),
                "the steps not played",
            )
        except RecordingFailed as failed:
            logger.error("%s", failed)
            return str(failed)
        return None

    async def _result(
        self,
        sandbox: Sandbox,
        context: BrowserContext,
        attempt: int,
        iteration: int | None,
        row: dict[str, Any] | None,
    ) -> bool:
        async def blank_page() -> tuple[Page, dict[str, Any]]:
            # A sandbox may hand over its context with the first tab already open.
            page = context.pages[0] if context.pages else await context.new_page()
            return page, await environment_of(context, page)

        # The result's row is written while the browser opens its first tab.
        result_id, (page, environment) = await asyncio.gather(
            self._open(attempt, iteration, row), blank_page()
        )
        files = ResultFiles(self.artifacts, self._folder() / str(result_id))
        events = PageEvents(self.artifacts, files.folder)
        events.follow(context)
        events.watch(page)
        scans = PageScans(every_page=self.plan.accessibility_scan)
        tracing = self.plan.keep_trace_on_failure and await files.start_trace(context)
        failure: Failure | None = None
        aborted: str | None = None
        played = 0
        try:
            aborted = await self._scripts(sandbox, page, result_id, self.plan.pre_scripts)
            if aborted is not None:
                failure = Failure(0, aborted)
            else:
                failure, played = await self._steps(
                    sandbox, result_id, row or {}, files, events, scans
                )
        except RecordingFailed as failed:  # a script's result could not be stored
            failure = Failure(0, str(failed))
        unrecorded = await self._record_skipped(result_id, played)
        if unrecorded is not None and failure is None:
            failure = Failure(played + 1, unrecorded)
        try:
            await self._scripts(sandbox, events.page, result_id, self.plan.post_scripts)
        except RecordingFailed as failed:
            failure = failure or Failure(0, str(failed))
        final_url = None if events.page.is_closed() else events.page.url
        trace = await files.stop_trace(context, keep=failure is not None) if tracing else None
        downloads = await events.saved_downloads()
        video = None
        if self.plan.record_video:
            # A video is complete once its page closed. Without one, the pages close with
            # their context after the result ended, which a stop then reaches sooner.
            video = await files.close_pages(context.pages if context.pages else [page])
        await self._keep_files(files)
        stopped = self.stop.is_set() and failure is None
        if failure is not None:
            status = ResultStatus.FAILED
        elif stopped:
            status = ResultStatus.SKIPPED
        else:
            status = ResultStatus.PASSED
        return await self._close(
            result_id,
            ResultEnd(
                status=status,
                error_message=failure.message if failure else ("Stopped" if stopped else None),
                # 0 marks a pre-script abort: no step failed
                error_step_number=(failure.step_number or None) if failure else None,
                error_screenshot_path=failure.screenshot if failure else None,
                initial_url=events.initial_url,
                final_url=final_url,
                pre_script_aborted=aborted is not None,
                video_path=video,
                trace_path=trace,
                environment_info=environment,
                captured_downloads=downloads or None,
                downloads_folder=str(files.folder.relative_to(self.artifacts) / "downloads")
                if downloads
                else None,
                accessibility_results=scans.results or None,
                total_accessibility_violations=scans.total_violations,
            ),
        )

    async def _keep_files(self, files: ResultFiles) -> None:
        """Hand the result's files to the storage; a failure loses files, never the result."""
        if self.storage is None:
            return
        try:
            await self.storage.keep(self.artifacts, files.folder)
        except Exception:  # the storage is down: the result still ends, its links 404
            logger.exception("could not store the files of %s", files.folder)

    async def _steps(
        self,
        sandbox: Sandbox,
        result_id: uuid.UUID,
        row: Mapping[str, Any],
        files: ResultFiles,
        events: PageEvents,
        scans: PageScans,
    ) -> tuple[Failure | None, int]:
        """Play the steps in order until one fails or the run stops: the failure, steps stored.

        Each step acts on the newest open tab. A step whose row cannot be stored ends the
        replay there as a failure of that step; it is never played again.
        """
        records = StepRecords(
            self.sessions,
            run_id=self.plan.run_id,
            item_id=self.plan.claim.item_id,
            result_id=result_id,
            planned_steps=len(self.plan.steps),
        )
        try:
            failure = await self._play(sandbox, records, row, files, events, scans)
        finally:
            await records.abandon()
        return failure, records.stored

    async def _play(
        self,
        sandbox: Sandbox,
        records: StepRecords,
        row: Mapping[str, Any],
        files: ResultFiles,
        events: PageEvents,
        scans: PageScans,
    ) -> Failure | None:
        announced: StepStart | None = None  # by the row of the step before
        for position, step in enumerate(self.plan.steps):
            if position and self.plan.step_delay_ms:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), self.plan.step_delay_ms / 1000)
            if self.stop.is_set():
                break
            arguments = fill_placeholders(step["arguments"], row)
            events.step_index, events.step_number = position, step["step_number"]
            events.answer = DialogAnswer.of_step(arguments)
            # Announced while the step plays; awaited before its row, so events stay in order.
            announcing = None
            if announced is None:
                start = StepStart(step["step_number"], _action(arguments))
                announcing = asyncio.ensure_future(records.announce(start))
            page = events.page
            started = datetime.now(UTC)
            try:
                outcome = await execute_step(
                    StepContext(
                        page=page,
                        timeout_ms=self.plan.step_timeout_ms,
                        stop=self.stop,
                        newest_page=lambda: events.page,
                        screenshots=screenshot_store(
                            self.sessions,
                            self.plan.test_case_id,
                            self.artifacts,
                            files.folder,
                            self.storage,
                        ),
                    ),
                    arguments,
                )
            finally:
                if announcing is not None:
                    await announcing
            page = events.page
            await scans.after_step(page, outcome, step["step_number"])
            if outcome.status == "failed" and events.crashed(page):
                outcome = dataclasses.replace(
                    outcome, error=f"The page's renderer crashed: {outcome.error}"
                )
            screenshot = None
            # A failure shows what the page looked like; a stop is no failure, and ends fast.
            failed = outcome.status == "failed" and not outcome.stopped
            if failed or self.plan.screenshot_every_step:
                screenshot = await files.screenshot(page, step["step_number"])
            window = (events.tab_of(page), await events.title_of(page))
            played = played_step(
                step, _action(arguments), outcome, started, screenshot, events, window
            )
            refused = await records.settle()  # the step before, stored while this one played
            if refused is not None:
                await records.store(played)  # it played before that was known: kept as it went
                return refused
            announced = self._next_at_once(position, outcome, row)
            if announced is not None:  # stored while the next step plays
                records.store_behind(played, announced)
                continue
            refused = await records.store(played)
            if refused is not None:
                return refused
            if outcome.status == "failed":
                if outcome.stopped:
                    return None
                return Failure(step["step_number"], outcome.error or "Step failed", screenshot)
            attached = self.plan.on_demand_scripts.get(step["step_number"], [])
            try:
                aborted = await self._scripts(sandbox, page, records.result_id, attached)
            except RecordingFailed as failed:  # the step is stored: the replay ends after it
                return Failure(step["step_number"], str(failed))
            if aborted is not None:
                return Failure(step["step_number"], aborted)
        return await records.settle()

    def _next_at_once(
        self, position: int, outcome: StepOutcome, row: Mapping[str, Any]
    ) -> StepStart | None:
        """The step that starts as soon as this one is stored, if one does.

        None when a failure or stop ends the replay here, or a pause or on-demand script
        comes between: then the next step is announced as it starts.
        """
        if position + 1 >= len(self.plan.steps) or outcome.status != "passed":
            return None
        step = self.plan.steps[position]
        if self.plan.step_delay_ms or self.plan.on_demand_scripts.get(step["step_number"]):
            return None
        if self.stop.is_set():
            return None
        following = self.plan.steps[position + 1]
        return StepStart(
            following["step_number"], _action(fill_placeholders(following["arguments"], row))
        )

    async def _scripts(
        self,
        sandbox: Sandbox,
        page: Page,
        result_id: uuid.UUID,
        scripts: Sequence[Script],
    ) -> str | None:
        """Run scripts in order; the message of a critical pre- or on-demand script that failed.

        Such a failure ends the scripts of `scripts` (and the result: see the callers).
        They see the page a step left once it is parsed: a click that navigates ends when
        the next document commits, before its title or body exist.
        """
        if scripts and not page.is_closed():
            with contextlib.suppress(PlaywrightError):
                await page.wait_for_load_state(
                    "domcontentloaded", timeout=self.plan.step_timeout_ms
                )
        for script in scripts:
            executed_at = datetime.now(UTC)
            outcome = await run_script(sandbox, page, script, env=self.plan.script_env)
            passed = outcome.exit_code == 0
            error = script_error(script, outcome)
            recorded = ScriptResultInput(
                test_script_id=script.id,
                script_name=script.name,
                script_type=script.script_type,
                script_language=script.language,
                status="passed" if passed else "failed",
                exit_code=outcome.exit_code,
                duration_ms=outcome.duration_ms,
                stdout=outcome.stdout,  # the sandbox keeps the last OUTPUT_LIMIT
                stderr=outcome.stderr,
                error_message=error,
                is_critical=script.is_critical,
                executed_at=executed_at,
            )
            await persist(
                functools.partial(recording.record_script, self.sessions, result_id, recorded),
                f"script '{script.name}'",
            )
            if not passed and script.is_critical and script.script_type == "pre_execution":
                return f"Critical pre-script '{script.name}' failed: {error}"
            if not passed and script.is_critical and script.script_type == "on_demand":
                after = script.attached_to_step
                return (
                    f"Critical on-demand script '{script.name}' after step {after} failed: {error}"
                )
        return None


def _action(arguments: Mapping[str, Any]) -> str:
    """The step's action as recorded: the name it was given, or `unknown`."""
    return str(arguments.get("action") or "").strip() or "unknown"
