"""The sandbox seam: one fresh browser (and a place to run scripts) per test case."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext


# Output kept of a command, per stream (the end, where errors are): enough to debug,
# bounded for the database row. Every sandbox cuts to it.
OUTPUT_LIMIT = 64_000


class SandboxUnavailable(RuntimeError):
    """A sandbox could not be created; the message tells a tester why (fails that test case)."""


@dataclass(frozen=True, slots=True)
class SandboxSpec:
    """What the engine asks of a new sandbox."""

    run_id: uuid.UUID
    item_id: uuid.UUID
    viewport_width: int | None = None
    viewport_height: int | None = None
    # When set, Playwright records a video of every page into this directory.
    video_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class CommandResult:
    """How a command ended inside a sandbox."""

    exit_code: int | None  # None when it was killed at its timeout
    stdout: str
    stderr: str
    duration_ms: int
    timed_out: bool = False
    # Why the command could not run at all (it did not start), for the tester to read.
    error: str | None = None


class Sandbox(Protocol):
    """One test case's isolated browser and shell; closed exactly once by the engine."""

    @property
    def vnc_url(self) -> str | None:
        """A live view of the browser for people (None when there is none)."""

    @property
    def context(self) -> BrowserContext:
        """A fresh Playwright browser context in a browser nobody else uses."""

    async def fresh_context(self) -> BrowserContext:
        """Close `context` and open a new one like it: no cookies or storage carried over.

        Each data row of a test case starts in one, in the same browser.
        """

    async def run_command(
        self,
        command: str,
        *,
        timeout_s: float,
        files: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
    ) -> CommandResult:
        """Run a shell command in the sandbox, after writing `files` (path -> text) there.

        Relative paths are in the sandbox's own working directory; `env` is the whole
        environment the command gets beyond PATH/HOME (never the worker's). The command is
        killed at `timeout_s`; that is a result (`timed_out`), not an exception.
        """

    async def close(self) -> None:
        """Close the browser and free the sandbox; safe to call twice, never raises."""


class SandboxProvider(Protocol):
    """Creates sandboxes of one kind (`local` or `e2b`) for a worker process."""

    async def create(self, spec: SandboxSpec) -> Sandbox:
        """A new sandbox, or `SandboxUnavailable` saying why there is none."""

    async def aclose(self) -> None:
        """Release what the provider holds (the Playwright driver, clients)."""
