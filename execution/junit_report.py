"""A run's report as JUnit XML (the Ant format), which CI servers read as test results.

One `<testsuite>` per run, one `<testcase>` per item: a failed item carries `<failure>`
with its error and failing steps; skipped, no-run and unfinished items `<skipped>`.
Retries and flakiness are marked as Maven Surefire and pytest-rerunfailures do: an item that
passed on a retry carries a `<flakyFailure>` per failed attempt, a failed item a
`<rerunFailure>` per failed retry; a test case flaky in its history (resolvers/flakiness.py)
has the properties `flaky` and `flake_rate`.
"""

from __future__ import annotations

import re
from datetime import UTC
from xml.etree import ElementTree

from resolvers.reports import ReportItem, ReportResult, RunReport

# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(value: object) -> str:
    return _NOT_XML.sub("\ufffd", "" if value is None else str(value))


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.3f}"


def _attempt_text(result: ReportResult) -> list[str]:
    return [
        f"Attempt {result.result.retry_attempt + 1}: {result.result.error_message}",
        *(
            f"  step {step.step_number} {step.action}: {step.error_message or step.status}"
            for step in result.steps
            if step.status == "failed"
        ),
    ]


def _failure_text(entry: ReportItem) -> str:
    return "\n".join(
        line
        for result in entry.results
        if result.result.status == "failed"
        for line in _attempt_text(result)
    )


def _reruns(case: ElementTree.Element, tag: str, attempts: list[ReportResult]) -> None:
    for result in attempts:
        rerun = ElementTree.SubElement(
            case,
            tag,
            message=_clean(result.result.error_message or "Attempt failed"),
            type="TestCaseFailed",
        )
        trace = ElementTree.SubElement(rerun, "stackTrace")
        trace.text = _clean("\n".join(_attempt_text(result)))


def _testcase(parent: ElementTree.Element, entry: ReportItem, classname: str) -> None:
    item = entry.item
    case = ElementTree.SubElement(
        parent,
        "testcase",
        name=_clean(entry.test_case_name),
        classname=_clean(".".join(entry.suite_path) or classname),
        time=_seconds(item.duration_ms),
    )
    flakiness = entry.flakiness
    if flakiness.is_flaky:
        properties = ElementTree.SubElement(case, "properties")
        ElementTree.SubElement(properties, "property", name="flaky", value="true")
        ElementTree.SubElement(
            properties, "property", name="flake_rate", value=str(flakiness.flake_rate)
        )
    failed = [result for result in entry.results if result.result.status == "failed"]
    if item.status == "failed":
        failure = ElementTree.SubElement(
            case,
            "failure",
            message=_clean(item.error_message or "Test case failed"),
            type="TestCaseFailed",
        )
        failure.text = _clean(_failure_text(entry))
        _reruns(case, "rerunFailure", [r for r in failed if r.result.retry_attempt > 0])
    elif item.status == "passed":
        _reruns(case, "flakyFailure", failed)
    else:
        reason = "no proven steps" if item.status == "no_run" else item.status
        ElementTree.SubElement(case, "skipped", message=_clean(reason))


def render_junit_report(report: RunReport, *, hostname: str) -> bytes:
    """The report as a UTF-8 JUnit XML document."""
    run = report.run
    at = (run.started_at or run.created_at).astimezone(UTC)
    failures = sum(entry.item.status == "failed" for entry in report.items)
    skipped = sum(entry.item.status not in ("passed", "failed") for entry in report.items)
    root = ElementTree.Element("testsuites")
    name = _clean(run.run_name)
    suite = ElementTree.SubElement(
        root,
        "testsuite",
        package=_clean(".".join(run.suite_path or []) or "testrun"),
        id="0",
        name=name,
        timestamp=at.strftime("%Y-%m-%dT%H:%M:%S"),
        hostname=_clean(hostname),
        tests=str(len(report.items)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=_seconds(run.duration_ms),
    )
    properties = ElementTree.SubElement(suite, "properties")
    for key, value in (
        ("run_id", run.id),
        ("run_number", run.run_number),
        ("status", run.status),
        ("pass_rate", run.pass_rate),
        ("browser_name", run.browser_name),
    ):
        if value is not None:
            ElementTree.SubElement(properties, "property", name=key, value=_clean(value))
    for entry in report.items:
        _testcase(suite, entry, classname=name or "testrun")
    out = ElementTree.SubElement(suite, "system-out")
    out.text = _clean(
        f"Run #{run.run_number} {run.run_name}: {run.status}, {run.passed_tests} passed, "
        f"{run.failed_tests} failed of {run.total_tests}, pass rate {run.pass_rate}%"
    )
    ElementTree.SubElement(suite, "system-err")
    document: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
