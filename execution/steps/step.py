"""One step in progress: its arguments, its time budget, and what it has found so far."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from execution.steps.base import CheckpointOutcome, StepContext, StepOutcome

if TYPE_CHECKING:
    from playwright.async_api import Error, Locator, Page

T = TypeVar("T")

# Like Playwright's expect(): check at once, then back off to one check a second.
POLL_DELAYS_MS: tuple[int, ...] = (100, 250, 500, 1000)

# Call-log lines that narrate Playwright's retries rather than say why an action failed.
_NARRATION = re.compile(
    r"^(waiting|retrying|attempting|locator resolved|navigating|scrolling|done|"
    r"performing|element is visible, enabled and stable|\d+ \u00d7)"  # a repeat count
)


class StepFailed(Exception):
    """The step cannot pass; the message is the step's error, written for a tester."""


class StepStopped(Exception):
    """The run was stopped while the step was waiting."""


@dataclass(slots=True)
class StepRun:
    """One step being replayed; handlers fill in what the outcome will report."""

    context: StepContext
    arguments: Mapping[str, Any]
    description: str
    playwright_code: str = ""
    selector: str | None = None
    input_value: str | None = None
    checkpoint: CheckpointOutcome | None = None
    # The axe-core scan the step made (an `accessibility_results` entry of the result).
    accessibility: dict[str, Any] | None = None
    # The element acted on, once found: its outerHTML goes with a failure.
    element: Locator | None = None
    # Index lookups mark the element found with this value (see element_index.py).
    nonce: str = field(default_factory=lambda: secrets.token_hex(8))
    tagged: bool = False
    # The step's last-resort deadline (see `actions.execute_step`); a deliberate pause
    # moves it on by as long as the pause.
    guard: asyncio.Timeout | None = None
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + max(self.context.timeout_ms, 1) / 1000

    @property
    def page(self) -> Page:
        """The page the step acts on: the newest tab, when the replay follows tabs."""
        if self.context.newest_page is not None:
            return self.context.newest_page()
        return self.context.page

    @property
    def action(self) -> str:
        """The step's action name, as recorded."""
        return str(self.arguments.get("action"))

    def remaining_ms(self) -> float:
        """Milliseconds left of the step's timeout (0 when it is spent)."""
        return max(0.0, (self._deadline - time.monotonic()) * 1000)

    def timeout_ms(self) -> float:
        """The `timeout=` for the next Playwright call: what is left, never 0 (no limit)."""
        return max(1.0, round(self.remaining_ms()))

    async def pause(self, milliseconds: float) -> None:
        """Sleep, ending early with StepStopped when the run is stopped."""
        if self.guard is not None and self.guard.when() is not None:
            later = asyncio.get_running_loop().time() + milliseconds / 1000
            self.guard.reschedule(
                max(self.guard.when() or 0.0, later + self.context.timeout_ms / 1000)
            )
        try:
            await asyncio.wait_for(self.context.stop.wait(), timeout=milliseconds / 1000)
        except TimeoutError:
            return
        raise StepStopped

    async def poll(self, probe: Callable[[], Awaitable[T]], done: Callable[[T], bool]) -> T:
        """Call `probe` until `done(value)` or the step's time is spent; the last value."""
        delays = iter(POLL_DELAYS_MS)
        while True:
            if self.context.stop.is_set():
                raise StepStopped
            value = await probe()
            remaining = self.remaining_ms()
            if done(value) or remaining <= 0:
                return value
            await self.pause(min(next(delays, POLL_DELAYS_MS[-1]), remaining))

    def outcome(
        self,
        *,
        error: str | None = None,
        element_html: str | None = None,
        stopped: bool = False,
    ) -> StepOutcome:
        """The outcome to report: passed unless there is an error."""
        return StepOutcome(
            status="failed" if error is not None else "passed",
            playwright_code=self.playwright_code,
            description=self.description,
            selector=self.selector,
            input_value=self.input_value,
            error=error,
            element_html=element_html,
            checkpoint=self.checkpoint,
            accessibility=self.accessibility,
            stopped=stopped,
        )


def explain(error: Error, timeout_ms: float | None = None) -> str:
    """Playwright's error in a tester's words: its first line, or why it timed out."""
    lines = error.message.splitlines()
    first = re.sub(r"^\w+\.\w+: ", "", lines[0]) if lines else (error.name or "Error")
    if error.name != "TimeoutError":
        return first
    reasons = [
        line
        for line in (raw.strip().lstrip("- ").strip() for raw in lines[1:])
        if line and line != "Call log:" and not _NARRATION.match(line)
    ]
    waited = f"timed out after {round(timeout_ms)} ms" if timeout_ms else "timed out"
    return f"{waited} ({reasons[-1]})" if reasons else waited
