"""The steps of one result as they are stored: in order, each one while the next one plays.

A step that passed and is followed at once by the next one is written while that next
one plays (its row also announces it): the database round trips of a step overlap the
browser's work instead of adding to it. The write behind is settled before the next
step's own, so rows and run events keep the order the steps played in. When a row is
refused, its step is kept as failed with why, and the replay ends there; a step that
already played meanwhile is stored as it went.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from execution import recording
from execution.item_plan import Failure
from execution.page_events import PageEvents
from execution.recording import NewBaseline, RecordingFailed, Sessions, StepStart, persist
from execution.steps.base import StepOutcome
from execution.visual_baselines import new_baseline
from resolvers.checkpoints import CheckpointResultInput
from resolvers.logs import ConsoleLogInput, NetworkLogInput
from resolvers.steps import StepResultInput

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PlayedStep:
    """A step as it played, ready to store: its row, checkpoint, and the logs of its time."""

    step: StepResultInput
    checkpoint: CheckpointResultInput | None = None
    console: Sequence[ConsoleLogInput] = ()
    network: Sequence[NetworkLogInput] = ()
    baseline: NewBaseline | None = None
    screenshot: str | None = None


def played_step(
    step: Mapping[str, Any],
    action: str,
    outcome: StepOutcome,
    started: datetime,
    screenshot: str | None,
    events: PageEvents,
    window: tuple[str, str | None],
) -> PlayedStep:
    """What a step that just ended stores, with the console and network logs of its time."""
    ended = datetime.now(UTC)
    console, network = events.take()
    checkpoint = None
    if outcome.checkpoint is not None:
        found = outcome.checkpoint
        checkpoint = CheckpointResultInput(
            checkpoint_name=found.name,
            checkpoint_type=found.checkpoint_type,
            status="passed" if found.passed else "failed",
            selector=found.selector,
            profile=found.profile,
            expected_properties=found.expected,
            actual_properties=found.actual,
            property_verifications=found.property_verifications,
            failed_properties=found.failed_properties,
            baseline_screenshot_path=found.baseline_screenshot_path,
            actual_screenshot_path=found.actual_screenshot_path,
            diff_screenshot_path=found.diff_screenshot_path,
            diff_percentage=found.diff_percentage,
            error_message=None if found.passed else outcome.error,
        )
    row = StepResultInput(
        step_number=step["step_number"],
        action=action,
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
        window_id=window[0],
        window_title=window[1],
    )
    return PlayedStep(
        row, checkpoint, console, network, new_baseline(outcome.checkpoint), screenshot
    )


class StepRecords:
    """Stores the steps of one result; see the module's docstring."""

    def __init__(
        self,
        sessions: Sessions,
        *,
        run_id: uuid.UUID,
        item_id: uuid.UUID,
        result_id: uuid.UUID,
        planned_steps: int,
    ) -> None:
        """Nothing is stored yet."""
        self.sessions = sessions
        self.run_id = run_id
        self.item_id = item_id
        self.result_id = result_id
        self.planned_steps = planned_steps
        # Steps stored, in order from the first: the rest are stored `skipped` at the end.
        self.stored = 0
        self._behind: tuple[asyncio.Future[None], PlayedStep] | None = None

    async def announce(self, start: StepStart) -> None:
        """Publish the step as executing now; a dashboard missing that is no reason to fail."""
        try:
            await recording.record_step_started(
                self.sessions,
                run_id=self.run_id,
                item_id=self.item_id,
                result_id=self.result_id,
                start=start,
            )
        except Exception as error:
            logger.warning("could not announce step %d: %s", start.step_number, error)

    async def store(self, played: PlayedStep) -> Failure | None:
        """Store a step now: the failure it became if its row was refused, else None."""
        try:
            await self._write(played, None)
        except RecordingFailed as failed:
            return await self._unrecorded(played, failed)
        self.stored += 1
        return None

    def store_behind(self, played: PlayedStep, next_step: StepStart) -> None:
        """Start storing a step while `next_step` plays (its row announces that one)."""
        assert self._behind is None, "one step is written behind at a time"
        self._behind = (asyncio.ensure_future(self._write(played, next_step)), played)

    async def settle(self) -> Failure | None:
        """Wait for the step written behind, if one is: the failure it became, else None."""
        if self._behind is None:
            return None
        writing, played = self._behind
        self._behind = None
        try:
            await writing
        except RecordingFailed as failed:
            return await self._unrecorded(played, failed)
        self.stored += 1
        return None

    async def abandon(self) -> None:
        """Let a write behind end before the result does (the replay left on an error)."""
        with contextlib.suppress(Exception):
            await self.settle()

    async def _unrecorded(self, played: PlayedStep, failed: RecordingFailed) -> Failure:
        """Keep a played step whose row was refused as failed, with only why."""
        logger.error("%s", failed)
        bare = StepResultInput(
            step_number=played.step.step_number,
            action=played.step.action,
            description="Played, but what it did could not be recorded",
            status="failed",
            started_at=played.step.started_at,
            completed_at=datetime.now(UTC),
            error_message=str(failed),
        )
        try:
            await self._write(PlayedStep(bare), None)
        except RecordingFailed as again:
            logger.error("%s", again)
        else:
            self.stored += 1
        return Failure(played.step.step_number, str(failed), played.screenshot)

    async def _write(self, played: PlayedStep, next_step: StepStart | None) -> None:
        await persist(
            lambda: recording.record_step(
                self.sessions,
                item_id=self.item_id,
                result_id=self.result_id,
                step=played.step,
                checkpoint=played.checkpoint,
                console=played.console,
                network=played.network,
                planned_steps=self.planned_steps,
                baseline=played.baseline,
                next_step=next_step,
            ),
            f"step {played.step.step_number}",
        )
