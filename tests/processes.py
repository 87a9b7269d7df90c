"""Running `testrun` subcommands as real processes and reading what they print."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


def cli_env(**overrides: str | None) -> dict[str, str]:
    """Our environment without testrun's settings, plus `overrides` (None removes)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TESTRUN_") and key not in ("DATABASE_URL", "REDIS_URL")
    }
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `testrun ARGS...` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Output:
    """Lines a process prints, collected on a thread so the process never blocks on a pipe."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        assert process.stdout is not None
        stream = process.stdout
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self._queue.put(line)

    def wait_for(self, text: str, timeout: float) -> str:
        """The first line containing `text`; AssertionError with everything printed if none."""
        for line in self.lines:
            if text in line:
                return line
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            self.lines.append(line)
            if text in line:
                return line
        raise AssertionError(
            f"no line with {text!r} in {timeout}s; printed:\n{''.join(self.lines)}"
        )

    def drain(self) -> str:
        """Everything printed so far."""
        while not self._queue.empty():
            self.lines.append(self._queue.get())
        return "".join(self.lines)


@contextmanager
def started(
    *args: str, env: dict[str, str], stdin: int | None = None
) -> Iterator[tuple[subprocess.Popen[str], Output]]:
    """Start `testrun ARGS...` with stdout and stderr merged; killed if still running after.

    `stdin=subprocess.PIPE` lets the test answer the command's questions.
    """
    with subprocess.Popen(
        [sys.executable, "-m", "server.cli", *args],
        env=env,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        try:
            yield process, Output(process)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
