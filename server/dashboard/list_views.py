"""The dashboard's run list and test case page."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from models.enums import RunStatus
from models.runs import TestRun
from models.test_cases import TestCase
from resolvers.flakiness import Flakiness
from resolvers.history import TestCaseHistory
from server.dashboard.markup import badge, duration, progress, table, text, when


def _run_row(run: TestRun) -> str:
    finished = run.passed_tests + run.failed_tests + run.skipped_tests + run.no_run_tests
    return (
        f'<tr id="run-{run.id}"><td>{run.run_number}</td>'
        f'<td><a href="/ui/runs/{run.id}">{text(run.run_name)}</a></td>'
        f"<td>{badge(run.status)}</td>"
        f"<td>{progress(finished, run.total_tests, f'Progress of run {run.run_number}')}</td>"
        f"<td>{run.passed_tests}</td><td>{run.failed_tests}</td>"
        f"<td>{when(run.created_at)}</td><td>{duration(run.duration_ms)}</td></tr>"
    )


def _filters(status: str | None, tag: str | None, name: str | None) -> str:
    options = "".join(
        f'<option value="{s.value}"{" selected" if s.value == status else ""}>{s.value}</option>'
        for s in RunStatus
    )
    return (
        '<form class="filters" action="/ui" method="get" role="search" aria-label="Filter runs">'
        '<label>Status <select name="status"><option value="">any</option>'
        f"{options}</select></label>"
        f'<label>Tag <input name="tag" value="{text(tag)}"></label>'
        f'<label>Name <input name="name" type="search" value="{text(name)}"></label>'
        '<button type="submit">Filter</button></form>'
    )


def render_runs(
    runs: Sequence[TestRun],
    total: int,
    *,
    project_id: uuid.UUID,
    status: str | None,
    tag: str | None,
    name: str | None,
) -> str:
    """The run list, newest first; its `runs-body` region is what live updates replace."""
    headers = ("#", "Run", "Status", "Progress", "Passed", "Failed", "Created", "Duration")
    rows = "".join(_run_row(run) for run in runs) or (
        '<tr><td colspan="8">No runs yet: start one with <code>testrun run</code>.</td></tr>'
    )
    return (
        f'<div data-live="runs" data-project-id="{project_id}"></div>'
        f"<h1>Runs</h1>{_filters(status, tag, name)}"
        f'<div id="runs-body" data-region><p class="meta">{len(runs)} of {total} runs</p>'
        f"{table('Runs, newest first', headers, rows)}</div>"
    )


def render_test_cases(
    cases: Sequence[tuple[TestCase, Flakiness]], total: int, *, flaky_only: bool
) -> str:
    """The project's test cases with their flake rates; `flaky_only` lists the flaky ones."""
    rows = (
        "".join(
            f'<tr id="case-{case.id}"><td><a href="/ui/test-cases/{case.id}">{text(case.name)}</a>'
            f"{' ' + badge('flaky') if flakiness.is_flaky else ''}</td>"
            f"<td>{text(' / '.join(case.suite_path or []))}</td>"
            f"<td>{text(', '.join(case.tags or []))}</td><td>{flakiness.flake_rate}%</td>"
            f"<td>{flakiness.executions}</td></tr>"
            for case, flakiness in cases
        )
        or '<tr><td colspan="5">None.</td></tr>'
    )
    checked = " checked" if flaky_only else ""
    headers = ("Test case", "Suite", "Tags", "Flake rate", "Recent executions")
    return (
        "<h1>Test cases</h1>"
        '<form class="filters" action="/ui/test-cases" method="get" aria-label="Filter test cases">'
        f'<label class="inline"><input type="checkbox" name="flaky" value="1"{checked}> '
        'Only flaky ones</label><button type="submit">Filter</button></form>'
        f'<p class="meta">{len(cases)} of {total} test cases, by name</p>'
        f"{table('Test cases', headers, rows)}"
    )


def _step_line(step: object) -> str:
    if not isinstance(step, dict):
        return f"<li><code>{text(json.dumps(step))}</code></li>"
    given = step.get("arguments")
    arguments = dict(given) if isinstance(given, dict) else {}
    action = arguments.pop("action", None)
    detail = ", ".join(f"{key}={json.dumps(value)}" for key, value in arguments.items())
    return f"<li><code>{text(action)}</code> {text(detail)}</li>"


def render_test_case(found: TestCaseHistory, *, can_write: bool) -> str:
    """A test case: statistics with the flake rate, its latest executions, its proven steps."""
    case, statistics = found.test_case, found.statistics
    flakiness = statistics.flakiness
    flaky = f" {badge('flaky')}" if flakiness.is_flaky else ""
    cards = (
        ("Executions", statistics.total_executions),
        ("Pass rate", f"{statistics.overall_pass_rate}%"),
        ("Average duration", duration(statistics.avg_duration_ms)),
        ("Flake rate", f"{flakiness.flake_rate}%"),
    )
    shown = "".join(f'<div class="card">{text(k)}<b>{text(v)}</b></div>' for k, v in cards)
    rows = "".join(
        f"<tr><td>{when(entry.executed_at)}</td><td>"
        + (
            f'<a href="/ui/runs/{entry.test_run_id}">{text(entry.run_name)}</a>'
            if entry.test_run_id
            else text(entry.run_name)
        )
        + f"</td><td>{badge(entry.status)}</td><td>{duration(entry.duration_ms)}</td>"
        f"<td>{entry.passed_steps}/{entry.total_steps}</td>"
        f'<td class="error">{text(entry.error_message)}</td></tr>'
        for entry in found.entries
    )
    headers = ("Executed", "Run", "Status", "Duration", "Steps passed", "Error")
    steps = "".join(_step_line(step) for step in case.proven_steps or [])
    action = (
        f'<div class="actions"><button type="button" data-action="runTestCase" '
        f'data-test-case-id="{case.id}">Run now</button></div>'
        if can_write
        else ""
    )
    return (
        f"<h1>{text(case.name)}{flaky}</h1>"
        f'<p class="meta">Suite {text(" / ".join(case.suite_path or [])) or "—"} · tags '
        f"{text(', '.join(case.tags or [])) or '—'}</p>{action}"
        f'<div class="cards">{shown}</div>'
        '<p class="meta">Flake rate: how often the outcome changed between consecutive '
        f"executions, over the {flakiness.executions} latest that passed or failed. Flaky: "
        "it changed at least twice there, or passed only on a retry.</p>"
        f"<h2>History</h2>{table('Latest executions, newest first', headers, rows)}"
        f"<h2>Proven steps</h2><ol class='steps'>{steps}</ol>"
    )
