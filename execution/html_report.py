"""A run's report as one self-contained HTML page: summary, items, steps, errors, screenshots.

The page has no scripts and loads nothing but the screenshots it links (`artifact_url`
turns a stored path into a URL), so it can be saved, mailed or attached to a CI job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from html import escape
from urllib.parse import urlsplit

from models.results import CheckpointResult, TestStepResult
from resolvers.reports import ReportItem, ReportResult, RunReport

ArtifactUrl = Callable[[str], str | None]

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2328;
background:#f6f8fa}main{max-width:1200px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}
.meta{color:#59636e}.cards{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0}
.card{background:#fff;border:1px solid #d1d9e0;border-radius:8px;padding:10px 16px;min-width:96px}
.card b{display:block;font-size:22px}table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #d1d9e0;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600}td.num{text-align:right;white-space:nowrap}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;
color:#fff;background:#6e7781}.passed,.completed{background:#1a7f37}.failed{background:#cf222e}
.running,.queued{background:#0969da}.cancelled,.skipped,.no_run{background:#9a6700}
.flaky{background:#8250df}
details{background:#fff;border:1px solid #d1d9e0;border-radius:8px;margin:10px 0;padding:8px 12px}
summary{cursor:pointer;font-weight:600}.error{color:#cf222e;white-space:pre-wrap;margin:6px 0}
pre{white-space:pre-wrap;background:#f6f8fa;padding:6px;margin:4px 0;font-size:12px}
img.shot{max-width:360px;border:1px solid #d1d9e0;display:block;margin:6px 0}
.shots{display:flex;flex-wrap:wrap;gap:8px}.shots figure{margin:0}
.shots img.shot{max-width:240px}figcaption{font-size:12px;color:#59636e}
"""


def _text(value: object) -> str:
    return "" if value is None else escape(str(value))


def _badge(status: str) -> str:
    return f'<span class="badge {escape(status)}">{escape(status)}</span>'


def duration(ms: int) -> str:
    """`850 ms`, `12.3 s`, `4 min 05 s`: a duration as people read it."""
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(ms // 1000, 60)
    return f"{minutes} min {seconds:02d} s"


def _when(value: datetime | None) -> str:
    return "" if value is None else escape(value.isoformat(timespec="seconds"))


def _link(url: str | None, label: str, *, image: bool = False) -> str:
    if url is None:
        return ""
    shown = f'<img class="shot" src="{escape(url)}" alt="{escape(label)}" loading="lazy">'
    return f'<a href="{escape(url)}">{shown if image else escape(label)}</a>'


def _screenshot_url(path: str | None, url: str | None, artifact_url: ArtifactUrl) -> str | None:
    """A stored file under the artifacts directory, else a client's own http(s) URL."""
    if path:
        signed = artifact_url(path)
        if signed:
            return signed
    if url and urlsplit(url).scheme in ("http", "https"):
        return url
    return None


def _table(headers: Iterable[str], rows: Iterable[str]) -> str:
    head = "".join(f"<th>{escape(header)}</th>" for header in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _step_row(step: TestStepResult, artifact_url: ArtifactUrl) -> str:
    shot = _screenshot_url(step.screenshot_path, step.screenshot_url, artifact_url)
    error = ""
    if step.error_message:
        error = f'<div class="error">{_text(step.error_message)}</div>'
    if step.element_html:
        error += f"<pre>{_text(step.element_html)}</pre>"
    return (
        f'<tr><td class="num">{step.step_number}</td><td>{_text(step.action)}</td>'
        f"<td>{_text(step.description)}<br><code>{_text(step.selector)}</code></td>"
        f"<td>{_badge(step.status)}</td>"
        f'<td class="num">{duration(step.duration_ms)}</td>'
        f"<td>{error}{_link(shot, 'screenshot', image=step.status == 'failed')}</td></tr>"
    )


def visual_images(checkpoint: CheckpointResult) -> list[tuple[str, str]]:
    """A visual checkpoint's stored images by caption (Baseline, Actual, Diff), those it has."""
    images = (
        ("Baseline", checkpoint.baseline_screenshot_path),
        ("Actual", checkpoint.actual_screenshot_path),
        ("Diff", checkpoint.diff_screenshot_path),
    )
    return [(caption, path) for caption, path in images if path]


def pixels_differ(checkpoint: CheckpointResult) -> str:
    """`0.33% of the pixels differ`, or '' for a checkpoint that compared no images."""
    if checkpoint.diff_percentage is None:
        return ""
    return f"{checkpoint.diff_percentage}% of the pixels differ"


def _visual(checkpoint: CheckpointResult, artifact_url: ArtifactUrl) -> str:
    """A visual checkpoint's difference and its images, each a link to the full size."""
    figures = []
    for caption, path in visual_images(checkpoint):
        url = artifact_url(path)
        if url is not None:
            alt = f"{caption} of {checkpoint.checkpoint_name}"
            figures.append(
                f'<figure><a href="{escape(url)}"><img class="shot" src="{escape(url)}" '
                f'alt="{escape(alt)}" loading="lazy"></a>'
                f"<figcaption>{escape(caption)}</figcaption></figure>"
            )
    shown = f'<div class="shots">{"".join(figures)}</div>' if figures else ""
    differ = pixels_differ(checkpoint)
    return (f"<div>{escape(differ)}</div>" if differ else "") + shown


def _checkpoint_row(checkpoint: CheckpointResult, artifact_url: ArtifactUrl) -> str:
    failed = ", ".join(checkpoint.failed_properties or [])
    return (
        f"<tr><td>{_text(checkpoint.checkpoint_name)}</td>"
        f"<td>{_text(checkpoint.checkpoint_type)}</td><td>{_badge(checkpoint.status)}</td>"
        f"<td>{_text(failed)}<div class='error'>{_text(checkpoint.error_message)}</div></td>"
        f"<td>{_visual(checkpoint, artifact_url)}</td></tr>"
    )


def _result(entry: ReportResult, artifact_url: ArtifactUrl) -> str:
    result = entry.result
    title = f"Attempt {result.retry_attempt + 1}"
    if result.iteration_number is not None:
        title += f", data row {result.iteration_number}"
    parts = [
        f"<h3>{escape(title)} {_badge(result.status)} "
        f'<span class="meta">{duration(result.duration_ms)}, '
        f"{result.passed_steps}/{result.total_steps} steps passed</span></h3>"
    ]
    if result.error_message:
        where = f"Step {result.error_step_number}: " if result.error_step_number else ""
        parts.append(f'<div class="error">{escape(where)}{_text(result.error_message)}</div>')
    shot = _screenshot_url(result.error_screenshot_path, None, artifact_url)
    parts.append(_link(shot, "error screenshot", image=True))
    if entry.steps:
        headers = ("#", "Action", "Description / selector", "Status", "Duration", "Error")
        parts.append(_table(headers, (_step_row(step, artifact_url) for step in entry.steps)))
    if entry.checkpoints:
        rows = (_checkpoint_row(checkpoint, artifact_url) for checkpoint in entry.checkpoints)
        parts.append(_table(("Checkpoint", "Type", "Status", "Failed", "Images"), rows))
    return "".join(parts)


def _flaky_badge(entry: ReportItem) -> str:
    """`flaky` with the flake rate, for a test case flaky in its history or on this run."""
    retried = entry.item.status == "passed" and any(
        result.result.status == "failed" for result in entry.results
    )
    if not (entry.flakiness.is_flaky or retried):
        return ""
    title = f"flake rate {entry.flakiness.flake_rate}% over its recent executions"
    if retried:
        title += "; passed on a retry here"
    return f' <span class="badge flaky" title="{escape(title)}">flaky</span>'


def _item(entry: ReportItem, artifact_url: ArtifactUrl) -> str:
    item = entry.item
    opened = " open" if item.status == "failed" else ""
    body = "".join(_result(result, artifact_url) for result in entry.results)
    if not entry.results:
        body = '<p class="meta">No results recorded.</p>'
    if item.error_message:
        body = f'<div class="error">{_text(item.error_message)}</div>' + body
    return (
        f'<details id="item-{item.id}"{opened}><summary>{item.execution_order}. '
        f"{_text(entry.test_case_name)} {_badge(item.status)}{_flaky_badge(entry)} "
        f'<span class="meta">{duration(item.duration_ms)}</span></summary>{body}</details>'
    )


def _item_row(entry: ReportItem) -> str:
    item = entry.item
    return (
        f'<tr><td class="num">{item.execution_order}</td>'
        f'<td><a href="#item-{item.id}">{_text(entry.test_case_name)}</a>{_flaky_badge(entry)}</td>'
        f"<td>{_badge(item.status)}</td><td class='num'>{duration(item.duration_ms)}</td>"
        f'<td class="num">{item.passed_steps}/{item.total_steps}</td>'
        f'<td><div class="error">{_text(item.error_message)}</div></td></tr>'
    )


def _cards(report: RunReport) -> str:
    run = report.run
    steps = sum(entry.item.total_steps for entry in report.items)
    passed_steps = sum(entry.item.passed_steps for entry in report.items)
    cards = [
        ("Tests", run.total_tests),
        ("Passed", run.passed_tests),
        ("Failed", run.failed_tests),
        ("Skipped", run.skipped_tests),
        ("No run", run.no_run_tests),
        ("Pass rate", f"{run.pass_rate}%"),
        ("Steps passed", f"{passed_steps}/{steps}"),
        ("Duration", duration(run.duration_ms)),
    ]
    shown = "".join(f'<div class="card">{escape(k)}<b>{_text(v)}</b></div>' for k, v in cards)
    return f'<div class="cards">{shown}</div>'


def render_html_report(
    report: RunReport, *, artifact_url: ArtifactUrl, generated_at: datetime
) -> str:
    """The report page; `artifact_url` gives a stored artifact path's URL (None: no link)."""
    run = report.run
    environment = " ".join(
        _text(value)
        for value in (run.browser_name, run.browser_version, run.os_name, run.os_version)
        if value
    )
    if run.viewport_width and run.viewport_height:
        environment += f" {run.viewport_width}x{run.viewport_height}"
    suite = " / ".join(run.suite_path or [])
    headers = ("#", "Test case", "Status", "Duration", "Steps passed", "Error")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Run #{run.run_number}: {_text(run.run_name)}</title><style>{_STYLE}</style>"
        f"</head><body><main><h1>Run #{run.run_number}: {_text(run.run_name)} "
        f'{_badge(run.status)}</h1><div class="meta">'
        f"Started {_when(run.started_at) or 'not yet'} · completed "
        f"{_when(run.completed_at) or 'not yet'} · suite {_text(suite) or '—'} · "
        f"environment {environment or '—'} · tags {_text(', '.join(run.tags or [])) or '—'}"
        f"</div>{_cards(report)}<h2>Test cases</h2>"
        f"{_table(headers, (_item_row(entry) for entry in report.items))}"
        f"<h2>Details</h2>{''.join(_item(entry, artifact_url) for entry in report.items)}"
        f'<p class="meta">Generated {_when(generated_at)} by testrun. '
        "Image links expire; reload the report for fresh ones.</p></main></body></html>"
    )
