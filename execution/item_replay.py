"""Replaying one test case: a sandbox, each data row (or once), scripts, then every step."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from execution import recording
from execution.claims import Claim
from execution.recording import RecordingFailed, ResultEnd, ResultStart, Sessions, persist
from execution.sandboxes.base import Sandbox, SandboxSpec, SandboxUnavailable
from execution.scripts import Script, run_script, script_error
from execution.steps import execute_step
from execution.steps.base import StepContext, StepOutcome
from models.enums import ResultStatus
from resolvers.checkpoints import CheckpointResultInput
from resolvers.logs import ConsoleLogInput, NetworkLogInput
from resolvers.script_results import ScriptResultInput
from resolvers.steps import StepResultInput

if TYPE_CHECKING:
    from playwright.async_api import ConsoleMessage, Page, Request

    from execution.sandboxes.base import SandboxProvider

logger = logging.getLogger(__name__)

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


def fill_placeholders(value: Any, row: Mapping[str, Any]) -> Any:
    """`value` with every `{{column}}` in its strings replaced by the data row's value."""
    if isinstance(value, str):
        return PLACEHOLDER.sub(
            lambda match: str(row[match.group(1)]) if match.group(1) in row else match.group(0),
            value,
        )
    if isinstance(value, list):
        return [fill_placeholders(item, row) for item in value]
    if isinstance(value, dict):
        return {key: fill_placeholders(item, row) for key, item in value.items()}
    return value


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a result failed: the step (0 when a pre-script aborted), message and screenshot."""

    step_number: int
    message: str
    screenshot: str | None = None


@dataclass(frozen=True, slots=True)
class ItemPlan:
    """Everything the replay of one item needs, read once when it starts."""

    claim: Claim
    run_id: uuid.UUID
    test_case_id: uuid.UUID
    steps: list[dict[str, Any]]  # proven steps in order: {step_number, arguments}
    data_rows: list[dict[str, Any]]
    pre_scripts: list[Script]
    post_scripts: list[Script]
    max_attempt: int
    viewport: tuple[int, int] | None
    step_timeout_ms: int
    screenshot_every_step: bool = False
    record_video: bool = False
    keep_trace_on_failure: bool = False
    step_delay_ms: int = 0
    # On-demand scripts by the step number they run right after.
    on_demand_scripts: dict[int, list[Script]] = field(default_factory=dict)
    # The environment of python and shell scripts: the project's script variables and context.
    script_env: dict[str, str] = field(default_factory=dict)


@dataclass  # no slots: Playwright keeps its handler wrappers on the bound methods' owner
class Capture:
    """Console messages and network requests of a page, tagged with the step in progress."""

    step_index: int = 0
    console: list[dict[str, Any]] = field(default_factory=list)
    network: list[dict[str, Any]] = field(default_factory=list)
    _started: dict[int, float] = field(default_factory=dict)
    # The event loop keeps only weak references to tasks: hold them until they end.
    _pending: set[asyncio.Task[None]] = field(default_factory=set)

    def attach(self, page: Page) -> None:
        """Listen to the page's console and requests."""
        page.on("console", self._on_console)
        page.on("request", self._on_request)
        page.on("requestfinished", self._finished)
        page.on("requestfailed", self._finished)

    def _finished(self, request: Request) -> None:
        task = asyncio.ensure_future(self._on_done(request))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _on_console(self, message: ConsoleMessage) -> None:
        level = {"warning": "warn", "log": "log"}.get(message.type, message.type)
        if level not in ("log", "info", "warn", "error", "debug"):
            level = "log"
        location = message.location
        self.console.append(
            {
                "log_level": level,
                "message": message.text,
                "source": location.get("url") or None,
                "line_number": location.get("lineNumber"),
                "column_number": location.get("columnNumber"),
                "step_index": self.step_index,
                "timestamp": datetime.now(UTC),
            }
        )

    def _on_request(self, request: Request) -> None:
        self._started[id(request)] = time.monotonic()

    async def _on_done(self, request: Request) -> None:
        started = self._started.pop(id(request), time.monotonic())
        response = None
        with contextlib.suppress(Exception):  # the page may be closing
            response = await request.response()
        self.network.append(
            {
                "url": request.url,
                "method": request.method,
                "status_code": response.status if response else None,
                "status_text": (response.status_text or None) if response else None,
                "resource_type": request.resource_type,
                "error_message": request.failure,
                "duration_ms": round((time.monotonic() - started) * 1000),
                "step_index": self.step_index,
                "timestamp": datetime.now(UTC),
            }
        )

    def take(self) -> tuple[list[ConsoleLogInput], list[NetworkLogInput]]:
        """The captured rows since the last call."""
        console, network = self.console, self.network
        self.console, self.network = [], []
        return (
            [ConsoleLogInput.model_validate(row) for row in console],
            [NetworkLogInput.model_validate(row) for row in network],
        )


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
    ) -> None:
        """Prepare the replay of `plan`; `stop` is set when the run is stopped."""
        self.plan = plan
        self.sessions = sessions
        self.provider = provider
        self.artifacts = artifacts
        self.stop = stop
        self.worker = worker
        self.next_claims: list[Claim] = []

    async def run(self) -> list[Claim]:
        """Replay every attempt until the item is final; the items to start next."""
        rows: list[dict[str, Any] | None] = [*self.plan.data_rows] or [None]
        for attempt in range(self.plan.max_attempt + 1):
            final = await self._attempt(attempt, rows)
            if final or self.stop.is_set():
                break
        return self.next_claims

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
                final = await self._result(
                    sandbox, attempt, number if row is not None else None, row
                )
                if self.stop.is_set():
                    break
            return final
        finally:
            if sandbox is not None:
                await sandbox.close()

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
        self, sandbox: Sandbox, attempt: int, iteration: int | None, row: dict[str, Any] | None
    ) -> bool:
        result_id = await self._open(attempt, iteration, row)
        folder = self._folder() / str(result_id)
        page = await sandbox.context.new_page()
        capture = Capture()
        capture.attach(page)
        tracing = await self._start_trace(sandbox)
        failure: Failure | None = None
        played = 0
        try:
            aborted = await self._scripts(sandbox, page, result_id, self.plan.pre_scripts)
            if aborted is not None:
                failure = Failure(0, aborted)
            else:
                failure, played = await self._steps(
                    sandbox, page, result_id, row or {}, folder, capture
                )
        except RecordingFailed as failed:  # a script's result could not be stored
            aborted, failure = None, Failure(played or 0, str(failed))
        unrecorded = await self._record_skipped(result_id, played)
        if unrecorded is not None and failure is None:
            failure = Failure(played + 1, unrecorded)
        try:
            await self._scripts(sandbox, page, result_id, self.plan.post_scripts)
        except RecordingFailed as failed:
            failure = failure or Failure(0, str(failed))
        final_url = page.url if not page.is_closed() else None
        trace = (
            await self._stop_trace(sandbox, folder, keep=failure is not None) if tracing else None
        )
        video = await self._close_page(page, folder)
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
                final_url=final_url,
                pre_script_aborted=aborted is not None,
                video_path=video,
                trace_path=trace,
            ),
        )

    async def _steps(
        self,
        sandbox: Sandbox,
        page: Page,
        result_id: uuid.UUID,
        row: Mapping[str, Any],
        folder: Path,
        capture: Capture,
    ) -> tuple[Failure | None, int]:
        """Play the steps in order until one fails or the run stops: the failure, steps stored.

        A step whose row cannot be stored ends the replay there as a failure of that step;
        it is never played again.
        """
        played = 0
        for position, step in enumerate(self.plan.steps):
            if position and self.plan.step_delay_ms:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), self.plan.step_delay_ms / 1000)
            if self.stop.is_set():
                break
            capture.step_index = position
            arguments = fill_placeholders(step["arguments"], row)
            started = datetime.now(UTC)
            outcome = await execute_step(
                StepContext(page=page, timeout_ms=self.plan.step_timeout_ms, stop=self.stop),
                arguments,
            )
            screenshot = None
            if outcome.status == "failed" or self.plan.screenshot_every_step:
                screenshot = await self._screenshot(page, folder, step["step_number"])
            try:
                await self._record(
                    result_id, step, arguments, outcome, started, screenshot, capture
                )
            except RecordingFailed as failed:
                logger.error("%s", failed)
                return Failure(step["step_number"], str(failed), screenshot), played
            played = position + 1
            if outcome.status == "failed":
                if outcome.stopped:
                    return None, played
                return Failure(
                    step["step_number"], outcome.error or "Step failed", screenshot
                ), played
            attached = self.plan.on_demand_scripts.get(step["step_number"], [])
            try:
                aborted = await self._scripts(sandbox, page, result_id, attached)
            except RecordingFailed as failed:  # the step is stored: the replay ends after it
                return Failure(step["step_number"], str(failed)), played
            if aborted is not None:
                return Failure(step["step_number"], aborted), played
        return None, played

    async def _start_trace(self, sandbox: Sandbox) -> bool:
        """Trace the result when the run keeps traces of failures; whether tracing started."""
        if not self.plan.keep_trace_on_failure:
            return False
        try:
            await sandbox.context.tracing.start(screenshots=True, snapshots=True)
        except Exception as error:  # no trace is no reason to fail the test case
            logger.warning("could not start a trace: %s", error)
            return False
        return True

    async def _stop_trace(self, sandbox: Sandbox, folder: Path, *, keep: bool) -> str | None:
        """End the trace; written under `folder` when `keep`, else thrown away."""
        path = folder / "trace.zip"
        try:
            if keep:
                folder.mkdir(parents=True, exist_ok=True)
                await sandbox.context.tracing.stop(path=path)
                return str(path.relative_to(self.artifacts))
            await sandbox.context.tracing.stop()
        except Exception as error:
            logger.warning("could not save the trace: %s", error)
        return None

    async def _close_page(self, page: Page, folder: Path) -> str | None:
        """Close the page; its video (when recorded) moves to `folder`, its path is returned."""
        with contextlib.suppress(Exception):  # a crashed page is closed already
            await page.close()
        video = page.video
        if video is None:
            return None
        path = folder / "video.webm"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            await video.save_as(path)
            await video.delete()
        except Exception as error:
            logger.warning("could not save the video: %s", error)
            return None
        return str(path.relative_to(self.artifacts))

    async def _screenshot(self, page: Page, folder: Path, step_number: int) -> str | None:
        path = folder / f"step-{step_number:04d}.png"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=path, timeout=5_000)
        except Exception as error:  # a crashed page has nothing to show; keep the step
            logger.info("no screenshot of step %d: %s", step_number, error)
            return None
        return str(path.relative_to(self.artifacts))

    async def _record(
        self,
        result_id: uuid.UUID,
        step: dict[str, Any],
        arguments: Mapping[str, Any],
        outcome: StepOutcome,
        started: datetime,
        screenshot: str | None,
        capture: Capture,
    ) -> None:
        """Store the step with its checkpoint and the logs captured while it ran."""
        ended = datetime.now(UTC)
        console, network = capture.take()
        checkpoint = None
        if outcome.checkpoint is not None:
            found = outcome.checkpoint
            checkpoint = CheckpointResultInput(
                checkpoint_name=found.name,
                checkpoint_type=found.checkpoint_type,
                status="passed" if found.passed else "failed",
                selector=found.selector,
                expected_properties=found.expected,
                actual_properties=found.actual,
                error_message=None if found.passed else outcome.error,
            )
        recorded = StepResultInput(
            step_number=step["step_number"],
            action=_action(arguments),
            description=outcome.description,
            status=outcome.status,
            started_at=started,
            completed_at=ended,
            duration_ms=round((ended - started).total_seconds() * 1000),
            selector=outcome.selector,
            element_html=outcome.element_html,
            input_value=outcome.input_value,
            screenshot_path=screenshot,
            error_message=outcome.error,
            playwright_code=outcome.playwright_code,
        )
        await persist(
            lambda: recording.record_step(
                self.sessions,
                item_id=self.plan.claim.item_id,
                result_id=result_id,
                step=recorded,
                checkpoint=checkpoint,
                console=console,
                network=network,
                planned_steps=len(self.plan.steps),
            ),
            f"step {step['step_number']}",
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
        """
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


async def watch(
    beat: Callable[[], Awaitable[str | None]], stop: asyncio.Event, *, every_s: float = 0.5
) -> None:
    """Heartbeat the item and set `stop` once its run is no longer running (or it was reaped)."""
    while not stop.is_set():
        try:
            status = await beat()
        except Exception as error:  # the database blinked: try again on the next beat
            logger.warning("heartbeat failed: %s", error)
        else:
            if status != "running":
                stop.set()
                return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
