"""`testrun run` and `testrun runs`: start a run through the api, follow it live, report it (CI).

Exit codes: 0 when every item passed, 1 when any did not, 2 on usage or connection errors.
"""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from server.api_client import ApiClient, ApiError
from server.run_display import RunDisplay, runs_table, summary_table, totals_line

PASSED, FAILED, USAGE = 0, 1, 2
FINAL_RUN_STATUSES = frozenset({"COMPLETED", "CANCELLED", "FAILED"})

ITEM_FIELDS = """
  id testCaseId executionOrder status currentStep totalSteps passedSteps failedSteps
  durationMs errorMessage retryAttempt testCase { name }
"""
RUN_FIELDS = f"""
  id runNumber runName status createdAt startedAt completedAt durationMs totalTests
  passedTests failedTests skippedTests noRunTests passRate items {{ {ITEM_FIELDS} }}
"""
TEST_CASE = "query Case($id: UUID!) { testCase(id: $id) { id name } }"
TEST_CASES = """
query Cases($search: String!) {
  testCases(search: $search, limit: 100) { items { id name } }
}
"""
CREATE = f"""
mutation Create($input: TestRunInput!) {{
  createTestRun(input: $input) {{ run {{ {RUN_FIELDS} }} }}
}}
"""
START = f"mutation Start($id: UUID!) {{ startTestRun(id: $id) {{ run {{ {RUN_FIELDS} }} }} }}"
STOP = "mutation Stop($id: UUID!) { stopTestRun(id: $id) { id status } }"
RUN = f"query Run($id: UUID!) {{ testRun(id: $id) {{ {RUN_FIELDS} }} }}"
RUNS = """
query Runs($filter: TestRunFilter, $limit: Int!) {
  testRuns(filter: $filter, limit: $limit) {
    total items { id runNumber runName status passedTests failedTests totalTests createdAt }
  }
}
"""
UPDATES = f"""
subscription Updates($runId: UUID!) {{ testRunUpdates(runId: $runId) {{ {RUN_FIELDS} }} }}
"""
EVENTS = """
subscription Events($runId: UUID!) {
  testRunEvents(runId: $runId, afterSeq: 0) { seq type payload }
}
"""


@dataclass(frozen=True)
class RunRequest:
    """What `testrun run` was asked for."""

    test_cases: tuple[str, ...]
    name: str | None = None
    parallel: int = 1
    retries: int = 0
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Output:
    """Where and how to report: `--follow`, `--junit FILE`, `--json`, `--stop-on-interrupt`."""

    follow: bool = False
    junit: Path | None = None
    as_json: bool = False
    stop_on_interrupt: bool = False


async def resolve_test_cases(client: ApiClient, names: tuple[str, ...]) -> list[str]:
    """The ids of test cases given by id or by exact name; ApiError naming any other."""
    ids: list[str] = []
    for name in names:
        try:
            uuid.UUID(name)
        except ValueError:
            found = await client.graphql(TEST_CASES, search=name)
            exact = [case for case in found["testCases"]["items"] if case["name"] == name]
            if not exact:
                raise ApiError(f"no test case named {name!r}") from None
            if len(exact) > 1:
                raise ApiError(f"{len(exact)} test cases are named {name!r}: give an id") from None
            ids.append(exact[0]["id"])
        else:
            ids.append((await client.graphql(TEST_CASE, id=name))["testCase"]["id"])
    return ids


async def create_and_start(client: ApiClient, request: RunRequest) -> dict[str, Any]:
    """The new run, started (RUNNING or QUEUED)."""
    test_case_ids = await resolve_test_cases(client, request.test_cases)
    run_input: dict[str, Any] = {
        "runName": request.name or f"testrun run: {', '.join(request.test_cases)}"[:255],
        "testCaseIds": test_case_ids,
        "parallelEnabled": request.parallel > 1,
        "parallelCount": request.parallel,
        "retryOnFailure": request.retries > 0,
        "retryCount": request.retries,
        "tags": list(request.tags) or None,
    }
    created = (await client.graphql(CREATE, input=run_input))["createTestRun"]["run"]
    started: dict[str, Any] = (await client.graphql(START, id=created["id"]))["startTestRun"]["run"]
    return started


async def follow(client: ApiClient, run_id: str, display: RunDisplay | None) -> dict[str, Any]:
    """The run once final, read from its subscriptions; `display` (if any) shows it on the way.

    Ends when the run's last event has come and a final snapshot has too.
    """
    final: dict[str, Any] | None = None
    events_done = False
    subscriptions = {
        "updates": (UPDATES, {"runId": run_id}),
        "events": (EVENTS, {"runId": run_id}),
    }
    async for name, data in client.subscribe(subscriptions):
        if name == "events" and data is None:
            events_done = True
        elif name == "updates" and data is not None:
            run = data["testRunUpdates"]
            if display is not None:
                display.update(run)
            if run["status"] in FINAL_RUN_STATUSES:
                final = run
        elif name == "events" and data is not None and display is not None:
            display.event(data["testRunEvents"])
        if final is not None and events_done:
            return final
    raise ApiError(f"the subscription to run {run_id} ended before the run did")


def outcome(run: dict[str, Any]) -> int:
    """0 when the run completed with every item passed, 1 otherwise."""
    items = run["items"]
    every_item_passed = bool(items) and all(item["status"] == "PASSED" for item in items)
    return PASSED if run["status"] == "COMPLETED" and every_item_passed else FAILED


async def execute(
    client: ApiClient,
    request: RunRequest,
    output: Output,
    console: Console,
    ask_to_stop: Callable[[], bool],
) -> int:
    """Create and start the run; with --follow or --junit wait for its end; the exit code."""
    run = await create_and_start(client, request)
    console.print(
        f"Run #{run['runNumber']} {run['runName']} ({run['id']}): {run['status']}", highlight=False
    )
    if not (output.follow or output.junit):
        if output.as_json:
            print(json.dumps(run))  # noqa: T201 - the machine-readable answer goes to stdout
        return PASSED
    interrupted = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, interrupted.set)
    try:
        with RunDisplay(console) as display:
            watching = asyncio.create_task(
                follow(client, run["id"], display if output.follow else None)
            )
            while not watching.done():
                waiting = asyncio.create_task(interrupted.wait())
                await asyncio.wait({watching, waiting}, return_when=asyncio.FIRST_COMPLETED)
                waiting.cancel()
                if interrupted.is_set() and not watching.done():
                    interrupted.clear()
                    display.pause()
                    stop = output.stop_on_interrupt or await asyncio.to_thread(ask_to_stop)
                    display.resume()
                    if stop:
                        await client.graphql(STOP, id=run["id"])
                        console.print("Stopping the run...", highlight=False)
            final = watching.result()
    finally:
        loop.remove_signal_handler(signal.SIGINT)
    console.print(summary_table(final))
    console.print(totals_line(final), highlight=False)
    if output.junit:
        output.junit.write_bytes(await client.junit_report(final["id"]))
        console.print(f"JUnit report written to {output.junit}", highlight=False)
    if output.as_json:
        print(json.dumps(final))  # noqa: T201 - the machine-readable answer goes to stdout
    return outcome(final)


async def list_runs(
    client: ApiClient, console: Console, *, status: str | None, limit: int, as_json: bool
) -> int:
    """`testrun runs list`: the newest runs."""
    filter_ = {"status": [status.upper()]} if status else None
    page = (await client.graphql(RUNS, filter=filter_, limit=limit))["testRuns"]
    if as_json:
        print(json.dumps(page))  # noqa: T201 - the machine-readable answer goes to stdout
    else:
        console.print(runs_table(page["items"], page["total"]))
    return PASSED


async def show_run(client: ApiClient, console: Console, *, run_id: str, as_json: bool) -> int:
    """`testrun runs show ID`: one run with its items."""
    try:
        uuid.UUID(run_id)
    except ValueError:
        raise ApiError(f"not a run id: {run_id!r}") from None
    run = (await client.graphql(RUN, id=run_id))["testRun"]
    if as_json:
        print(json.dumps(run))  # noqa: T201 - the machine-readable answer goes to stdout
    else:
        console.print(summary_table(run))
        console.print(totals_line(run), highlight=False)
    return PASSED
