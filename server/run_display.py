"""How `testrun run` and `testrun runs` show runs: progress per item, step lines, summary tables.

Everything goes through rich. On a terminal, items get live progress bars; anywhere else (a CI
log) the same facts come as plain lines, with no colours or cursor movements.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

FINAL_ITEM_STATUSES = frozenset({"PASSED", "FAILED", "SKIPPED", "NO_RUN"})
STATUS_STYLES = {
    "PASSED": "green",
    "COMPLETED": "green",
    "FAILED": "red",
    "CANCELLED": "yellow",
    "SKIPPED": "yellow",
    "NO_RUN": "yellow",
    "RUNNING": "cyan",
}


def item_name(item: dict[str, Any]) -> str:
    """The item's test case name, or its id when the test case is gone."""
    case = item.get("testCase")
    return str(case["name"]) if isinstance(case, dict) else str(item["testCaseId"])


def seconds(duration_ms: int | None) -> str:
    """A duration as people read it in a log: 1.2 s."""
    return f"{(duration_ms or 0) / 1000:.1f} s"


def styled(status: str) -> str:
    """The status in its colour (dropped when the console has none)."""
    style = STATUS_STYLES.get(status)
    return f"[{style}]{status}[/]" if style else status


class RunDisplay:
    """The live view of one run: call `update` with each snapshot and `event` with each event."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.names: dict[str, str] = {}
        self.totals: dict[str, int] = {}
        self._ended: set[str] = set()
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        if console.is_terminal:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("steps {task.fields[status]}"),
                console=console,
            )

    def __enter__(self) -> RunDisplay:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.pause()

    def pause(self) -> None:
        """Stop redrawing the bars (before a question, and at the end)."""
        if self._progress is not None:
            self._progress.stop()

    def resume(self) -> None:
        """Redraw the bars after `pause`."""
        if self._progress is not None:
            self._progress.start()

    def line(self, text: str) -> None:
        """A line of the log, above the bars on a terminal."""
        self.console.print(text, highlight=False)

    def update(self, run: dict[str, Any]) -> None:
        """A new snapshot of the run: move the bars and announce items that ended."""
        for item in run["items"]:
            item_id = item["id"]
            self.names[item_id] = item_name(item)
            self.totals[item_id] = item["totalSteps"]
            if self._progress is not None:
                if item_id not in self._tasks:
                    self._tasks[item_id] = self._progress.add_task(
                        self.names[item_id], total=None, status=item["status"]
                    )
                self._progress.update(
                    self._tasks[item_id],
                    completed=item["currentStep"],
                    total=item["totalSteps"] or None,
                    status=item["status"],
                )
            if item["status"] in FINAL_ITEM_STATUSES and item_id not in self._ended:
                self._ended.add(item_id)
                error = f": {item['errorMessage']}" if item.get("errorMessage") else ""
                self.line(
                    f"{self.names[item_id]} {styled(item['status'])} "
                    f"in {seconds(item['durationMs'])}{error}"
                )

    def event(self, event: dict[str, Any]) -> None:
        """One run event: step lines and failures with their messages."""
        payload = event.get("payload") or {}
        item_id = str(payload.get("item_id"))
        name = self.names.get(item_id, "item")
        if event["type"] == "result.started":
            attempt = payload.get("retry_attempt") or 0
            retry = f" (retry {attempt})" if attempt else ""
            self.line(f"{name}: started{retry}")
        elif event["type"] == "step.completed":
            total = self.totals.get(item_id) or payload.get("total_steps") or "?"
            status = str(payload.get("status", "")).upper()
            error = payload.get("error_message")
            text = (
                f"{name}: step {payload.get('step_number')}/{total} "
                f"{payload.get('action')} {styled(status)} ({payload.get('duration_ms', 0)} ms)"
            )
            self.line(f"{text}\n    {error}" if error else text)


def summary_table(run: dict[str, Any]) -> Table:
    """One row per item: test case, status, steps passed of total, duration, error."""
    table = Table(title=f"Run #{run['runNumber']} {run['runName']}: {styled(run['status'])}")
    for column in ("#", "Test case", "Status", "Steps", "Duration", "Error"):
        table.add_column(column, overflow="fold")
    for item in run["items"]:
        table.add_row(
            str(item["executionOrder"]),
            item_name(item),
            styled(item["status"]),
            f"{item['passedSteps']}/{item['totalSteps']}",
            seconds(item["durationMs"]),
            item.get("errorMessage") or "",
        )
    return table


def totals_line(run: dict[str, Any]) -> str:
    """`2 passed, 1 failed, 0 skipped of 3 (pass rate 66.7%) in 4.2 s`."""
    skipped = run["skippedTests"] + run["noRunTests"]
    return (
        f"{run['passedTests']} passed, {run['failedTests']} failed, {skipped} skipped "
        f"of {run['totalTests']} (pass rate {run['passRate']:.1f}%) in {seconds(run['durationMs'])}"
    )


def runs_table(runs: list[dict[str, Any]], total: int) -> Table:
    """The run list: newest first, with outcome counts."""
    table = Table(title=f"{len(runs)} of {total} runs")
    for column in ("#", "Id", "Name", "Status", "Passed", "Failed", "Created"):
        table.add_column(column, no_wrap=column in ("Id", "Created"), overflow="fold")
    for run in runs:
        table.add_row(
            str(run["runNumber"]),
            run["id"],
            run["runName"],
            styled(run["status"]),
            f"{run['passedTests']}/{run['totalTests']}",
            str(run["failedTests"]),
            run["createdAt"][:19].replace("T", " "),
        )
    return table
