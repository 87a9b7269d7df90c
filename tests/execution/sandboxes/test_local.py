"""The local provider's browsers: one per sandbox, never used before, the next launched ahead.

Browser processes are counted for real among this test process's descendants, and a spare
is killed with SIGKILL to show a dead one is never handed out.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator, Callable

import psutil
import pytest

from execution.sandboxes.base import SandboxSpec
from execution.sandboxes.chromium import find_chromium
from execution.sandboxes.local import LocalSandbox, LocalSandboxProvider


def all_browser_processes() -> set[int]:
    """Pids of the Chromium browsers this process's Playwright drivers launched."""
    found = set()
    for process in psutil.Process().children(recursive=True):
        try:
            argv = process.cmdline()
        except psutil.Error:  # ended while we looked
            continue
        launched = "--remote-debugging-pipe" in argv
        if launched and not any(arg.startswith("--type=") for arg in argv):
            found.add(process.pid)
    return found


Pids = Callable[[], list[int]]


@pytest.fixture
def browser_processes() -> Pids:
    """Pids of the browsers launched since the test began (not other tests' spares)."""
    others = all_browser_processes()
    return lambda: sorted(all_browser_processes() - others)


async def until(condition: Callable[[], bool]) -> None:
    """Wait until `condition` holds (pytest-timeout fails a test where it never does)."""
    while not condition():
        await asyncio.sleep(0.05)


def spec() -> SandboxSpec:
    return SandboxSpec(run_id=uuid.uuid4(), item_id=uuid.uuid4())


@pytest.fixture
async def provider() -> AsyncIterator[LocalSandboxProvider]:
    provider = LocalSandboxProvider(find_chromium(None))
    yield provider
    await provider.aclose()


async def answers(sandbox: LocalSandbox) -> int:
    page = await sandbox.context.new_page()
    await page.set_content("<p>ready</p>")
    result: int = await page.evaluate("() => 6 * 7")
    return result


async def test_each_sandbox_takes_the_browser_launched_ahead_and_the_next_one_starts(
    provider: LocalSandboxProvider, browser_processes: Pids
) -> None:
    assert browser_processes() == []
    first = await provider.create(spec())
    await until(lambda: len(browser_processes()) == 2)  # its own, and the spare
    assert await answers(first) == 42
    await first.close()
    await until(lambda: len(browser_processes()) == 1)
    (spare,) = browser_processes()

    second = await provider.create(spec())
    assert await answers(second) == 42
    await until(lambda: len(browser_processes()) == 2)
    assert spare in browser_processes()
    await second.close()
    assert spare not in browser_processes()  # the second sandbox was the spare

    await provider.aclose()
    assert browser_processes() == []


async def test_a_spare_nobody_takes_is_closed(browser_processes: Pids) -> None:
    provider = LocalSandboxProvider(find_chromium(None), spare_idle_s=0.5)
    try:
        sandbox = await provider.create(spec())
        await sandbox.close()
        await until(lambda: browser_processes() == [])
    finally:
        await provider.aclose()


async def test_a_spare_whose_process_died_is_not_handed_out(
    provider: LocalSandboxProvider, browser_processes: Pids
) -> None:
    first = await provider.create(spec())
    await until(lambda: len(browser_processes()) == 2)
    await first.close()
    await until(lambda: len(browser_processes()) == 1)
    (spare,) = browser_processes()
    os.kill(spare, signal.SIGKILL)
    await until(lambda: browser_processes() == [])

    second = await provider.create(spec())
    assert await answers(second) == 42
    await second.close()


async def test_without_spares_only_the_sandboxes_browsers_run(browser_processes: Pids) -> None:
    provider = LocalSandboxProvider(find_chromium(None), spare_idle_s=None)
    try:
        sandbox = await provider.create(spec())
        await asyncio.sleep(1)  # time a spare would have had to launch
        assert len(browser_processes()) == 1
        await sandbox.close()
        assert browser_processes() == []
    finally:
        await provider.aclose()
