"""The dashboard's run page: items with progress, each result's step timeline, checkpoints, logs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from execution.html_report import pixels_differ, visual_images
from models.enums import FINAL_RUN_STATUSES, RunStatus
from models.results import CheckpointResult, ConsoleLog, NetworkLog, TestStepResult
from resolvers.reports import ReportItem, ReportResult, RunReport
from server.dashboard.markup import badge, duration, progress, table, text, when

ArtifactUrl = Callable[[str], str | None]
# The signed URL of an item's live view, from its stored `vnc_url` and the item's id.
LiveViewUrl = Callable[[str, uuid.UUID], str | None]


@dataclass(frozen=True)
class ResultLogs:
    """A result's console messages and network requests."""

    console: list[ConsoleLog]
    network: list[NetworkLog]


def _thumbnail(path: str | None, artifact_url: ArtifactUrl, alt: str) -> str:
    url = artifact_url(path) if path else None
    if url is None:
        return ""
    return (
        f'<a href="{text(url)}" target="_blank" rel="noopener">'
        f'<img class="thumb" src="{text(url)}" alt="{text(alt)}" loading="lazy"></a>'
    )


def _step_row(step: TestStepResult, artifact_url: ArtifactUrl) -> str:
    shot = _thumbnail(step.screenshot_path, artifact_url, f"Screenshot of step {step.step_number}")
    return (
        f'<tr class="step {text(step.status)}"><td>{step.step_number}</td>'
        f"<td><code>{text(step.action)}</code></td><td>{text(step.description)}</td>"
        f"<td>{badge(step.status)}</td><td>{duration(step.duration_ms)}</td>"
        f'<td class="error">{text(step.error_message)}</td><td>{shot}</td></tr>'
    )


def _properties(values: object) -> str:
    if values is None:
        return ""
    return f"<code>{text(json.dumps(values, ensure_ascii=False, sort_keys=True))}</code>"


def _visual(checkpoint: CheckpointResult, artifact_url: ArtifactUrl) -> str:
    """A visual checkpoint's difference and thumbnails of its images."""
    figures = []
    for caption, path in visual_images(checkpoint):
        shot = _thumbnail(path, artifact_url, f"{caption} of {checkpoint.checkpoint_name}")
        if shot:
            figures.append(f"<figure>{shot}<figcaption>{caption}</figcaption></figure>")
    shown = f'<div class="shots">{"".join(figures)}</div>' if figures else ""
    differ = pixels_differ(checkpoint)
    return (f"<p>{text(differ)}</p>" if differ else "") + shown


def _checkpoint_row(checkpoint: CheckpointResult, artifact_url: ArtifactUrl) -> str:
    return (
        f"<tr><td>{text(checkpoint.checkpoint_name)}</td>"
        f"<td>{text(checkpoint.checkpoint_type)}</td><td>{badge(checkpoint.status)}</td>"
        f"<td>{_properties(checkpoint.expected_properties)}</td>"
        f"<td>{_properties(checkpoint.actual_properties)}</td>"
        f'<td class="images">{_visual(checkpoint, artifact_url)}</td></tr>'
    )


def _logs(logs: ResultLogs) -> str:
    parts = []
    if logs.console:
        rows = (
            f"<tr><td>{text(log.log_level)}</td><td>{text(log.step_index)}</td>"
            f"<td>{text(log.message)}</td></tr>"
            for log in logs.console
        )
        parts.append(table("Console", ("Level", "Step", "Message"), rows))
    if logs.network:
        rows = (
            f"<tr><td>{text(log.method)}</td><td>{text(log.status_code)}</td>"
            f"<td>{text(log.resource_type)}</td><td class='url'>{text(log.url)}</td></tr>"
            for log in logs.network
        )
        parts.append(table("Network", ("Method", "Status", "Type", "URL"), rows))
    return "".join(parts)


def _result(entry: ReportResult, logs: ResultLogs, artifact_url: ArtifactUrl) -> str:
    result = entry.result
    title = f"Attempt {result.retry_attempt + 1}"
    if result.iteration_number is not None:
        title += f", data row {result.iteration_number}"
    # A result is stored when its attempt starts, with a placeholder status until it ends.
    status = result.status if result.completed_at is not None else "running"
    parts = [
        f"<h3>{text(title)} {badge(status)} <span class='meta'>"
        f"{duration(result.duration_ms)}, {result.passed_steps}/{result.total_steps} steps passed"
        "</span></h3>"
    ]
    if result.error_message:
        where = f"Step {result.error_step_number}: " if result.error_step_number else ""
        parts.append(f'<p class="error">{text(where)}{text(result.error_message)}</p>')
    parts.append(
        _thumbnail(result.error_screenshot_path, artifact_url, f"Screenshot of {title} failing")
    )
    if entry.steps:
        headers = ("#", "Action", "Description", "Status", "Duration", "Error", "Screenshot")
        rows = (_step_row(step, artifact_url) for step in entry.steps)
        parts.append(table(f"Steps of {title}", headers, rows))
    if entry.checkpoints:
        rows = (_checkpoint_row(checkpoint, artifact_url) for checkpoint in entry.checkpoints)
        columns = ("Checkpoint", "Type", "Status", "Expected", "Actual", "Images")
        parts.append(table(f"Checkpoints of {title}", columns, rows))
    parts.append(_logs(logs))
    return "".join(parts)


def _live_view(url: str) -> str:
    """The item's live view.

    The api's own view is reached on this origin, whatever host the worker wrote in the URL.
    """
    parts = urlsplit(url)
    src = f"{parts.path}?{parts.query}" if parts.path.startswith("/live/") else url
    return (
        f'<iframe class="live" src="{text(src)}" title="Live view of the browser"></iframe>'
        f'<p><a href="{text(src)}" target="_blank" rel="noopener">Open the live view</a></p>'
    )


def _item_row(entry: ReportItem) -> str:
    item = entry.item
    name = text(entry.test_case_name)
    return (
        f'<tr id="row-{item.id}"><td>{item.execution_order}</td>'
        f'<td><a href="/ui/test-cases/{item.test_case_id}">{name}</a>'
        f"{' ' + badge('flaky') if entry.flakiness.is_flaky else ''}</td>"
        f"<td>{badge(item.status)}</td>"
        f"<td>{progress(item.current_step, item.total_steps, f'Steps of {entry.test_case_name}')}"
        f"</td><td>{duration(item.duration_ms)}</td>"
        f'<td class="error">{text(item.error_message)}</td></tr>'
    )


def _item(
    entry: ReportItem,
    logs: dict[object, ResultLogs],
    artifact_url: ArtifactUrl,
    live_view_url: LiveViewUrl,
) -> str:
    item = entry.item
    body = "".join(
        _result(result, logs[result.result.id], artifact_url) for result in entry.results
    )
    live = live_view_url(item.vnc_url, item.id) if item.vnc_url else None
    if item.status == "running" and live:
        body = _live_view(live) + body
    if not body:
        body = '<p class="meta">Nothing recorded yet.</p>'
    return (
        f'<details id="item-{item.id}"><summary>{item.execution_order}. '
        f"{text(entry.test_case_name)} {badge(item.status)} "
        f"<span class='meta'>step {item.current_step}/{item.total_steps}</span></summary>"
        f"{body}</details>"
    )


def _actions(report: RunReport) -> str:
    run = report.run
    status = RunStatus(run.status)
    buttons = []
    if status is RunStatus.PENDING:
        buttons.append(("startTestRun", "Start"))
    if status in (RunStatus.RUNNING, RunStatus.QUEUED):
        buttons.append(("stopTestRun", "Stop"))
    if status in (RunStatus.PENDING, RunStatus.RUNNING, RunStatus.QUEUED):
        buttons.append(("cancelTestRun", "Cancel"))
    if status in FINAL_RUN_STATUSES and any(e.item.status == "failed" for e in report.items):
        buttons.append(("rerunFailedItems", "Rerun failed"))
    shown = "".join(
        f'<button type="button" data-action="{action}" data-run-id="{run.id}">{label}</button>'
        for action, label in buttons
    )
    return f'<div class="actions">{shown}</div>' if shown else ""


def render_run(
    report: RunReport,
    logs: dict[object, ResultLogs],
    *,
    artifact_url: ArtifactUrl,
    live_view_url: LiveViewUrl,
    can_write: bool,
) -> str:
    """The run page's content; its `run-body` region is what live updates replace."""
    run = report.run
    finished = run.passed_tests + run.failed_tests + run.skipped_tests + run.no_run_tests
    cards = (
        ("Test cases", run.total_tests),
        ("Passed", run.passed_tests),
        ("Failed", run.failed_tests),
        ("Skipped", run.skipped_tests + run.no_run_tests),
        ("Pass rate", f"{run.pass_rate}%"),
        ("Duration", duration(run.duration_ms)),
    )
    shown = "".join(f'<div class="card">{text(k)}<b>{text(v)}</b></div>' for k, v in cards)
    rows = "".join(_item_row(entry) for entry in report.items)
    headers = ("#", "Test case", "Status", "Step", "Duration", "Error")
    items = "".join(_item(entry, logs, artifact_url, live_view_url) for entry in report.items)
    return (
        f'<div data-live="run" data-run-id="{run.id}"></div>'
        f"<h1>Run #{run.run_number}: {text(run.run_name)}</h1>"
        f'<div id="run-body" data-region>'
        f'<p class="meta">{badge(run.status)} '
        f"{progress(finished, run.total_tests, 'Finished test cases')} · created "
        f"{when(run.created_at)} · started {when(run.started_at) or 'not yet'} · tags "
        f"{text(', '.join(run.tags or [])) or '—'}</p>"
        f"{_actions(report) if can_write else ''}"
        f'<div class="cards">{shown}</div>'
        f"{table('Test cases of the run', headers, rows)}<h2>Results</h2>{items}</div>"
    )
