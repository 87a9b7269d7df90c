"""Pre- and post-scripts of a test case: python and shell in the sandbox, javascript in the page."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from playwright.async_api import Error as PlaywrightError

from execution.sandboxes.base import OUTPUT_LIMIT, CommandResult, Sandbox

if TYPE_CHECKING:
    from playwright.async_api import ConsoleMessage, Page

# How a script of each sandbox language is written to a file and run there.
SANDBOX_COMMANDS = {
    "python": ("script.py", "python3 script.py"),
    "shell": ("script.sh", "sh script.sh"),
}
LANGUAGES = frozenset({*SANDBOX_COMMANDS, "javascript"})
# Console levels that count as a script's error output; the others are its standard output.
_ERROR_LEVELS = frozenset({"error", "warning", "assert"})


@dataclass(frozen=True, slots=True)
class Script:
    """A pre-execution, post-execution or on-demand script of the test case."""

    id: uuid.UUID
    name: str
    script_type: str
    language: str
    code: str
    is_critical: bool
    timeout_seconds: int
    attached_to_step: int | None = None  # on_demand scripts: run right after this step


async def run_script(
    sandbox: Sandbox, page: Page, script: Script, *, env: dict[str, str]
) -> CommandResult:
    """Run `script` where its language runs; its end (exit, timeout) is a result, never raised.

    Python and shell scripts get `env` as their environment (javascript runs in the page).
    """
    if script.language == "javascript":
        return await run_in_page(page, script.code, timeout_s=script.timeout_seconds)
    file_name, command = SANDBOX_COMMANDS[script.language]
    return await sandbox.run_command(
        command, timeout_s=script.timeout_seconds, files={file_name: script.code}, env=env
    )


def script_error(script: Script, outcome: CommandResult) -> str | None:
    """Why `script` failed, as its result shows it; None when it passed."""
    if outcome.error is not None:
        return outcome.error
    if outcome.timed_out:
        return f"Timed out after {script.timeout_seconds} s"
    if outcome.exit_code != 0:
        return f"Exited with code {outcome.exit_code}"
    return None


async def run_in_page(page: Page, code: str, *, timeout_s: float) -> CommandResult:
    """Run `code` as the body of an async function in the page, like a browser console would.

    console.log/info/debug are its standard output and console.error/warn its error output;
    a returned value is printed last as JSON. A thrown error is exit code 1 with the error.
    """
    stdout: list[str] = []
    stderr: list[str] = []

    def collect(message: ConsoleMessage) -> None:
        (stderr if message.type in _ERROR_LEVELS else stdout).append(message.text)

    page.on("console", collect)
    started = time.monotonic()
    exit_code: int | None = 0
    timed_out = False
    try:
        value = await asyncio.wait_for(page.evaluate(f"async () => {{\n{code}\n}}"), timeout_s)
        if value is not None:
            stdout.append(json.dumps(value, default=str))
    except TimeoutError:
        exit_code, timed_out = None, True
    except PlaywrightError as error:
        exit_code = 1
        stderr.append(str(error).strip())
    finally:
        page.remove_listener("console", collect)
    return CommandResult(
        exit_code=exit_code,
        stdout="\n".join(stdout)[-OUTPUT_LIMIT:],
        stderr="\n".join(stderr)[-OUTPUT_LIMIT:],
        duration_ms=round((time.monotonic() - started) * 1000),
        timed_out=timed_out,
    )
