"""A run's report as JUnit XML (the Ant format), which CI servers read as test results.

One `<testsuite>` per run, one `<testcase>` per item: a failed item carries `<failure>`
with its error and failing steps; skipped, no-run and unfinished items `<skipped>`.
"""

from __future__ import annotations

import re
from datetime import UTC
from xml.etree import ElementTree

from resolvers.reports import ReportItem, RunReport

# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(value: object) -> str:
    return _NOT_XML.sub("\ufffd", "" if value is None else str(value))


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.3f}"


def _failure_text(entry: ReportItem) -> str:
    lines = []
    for result in entry.results:
        if result.result.status != "failed":
            continue
        lines.append(f"Attempt {result.result.retry_attempt + 1}: {result.result.error_message}")
        lines += [
            f"  step {step.step_number} {step.action}: {step.error_message or step.status}"
            for step in result.steps
            if step.status == "failed"
        ]
    return "\n".join(lines)


def _testcase(parent: ElementTree.Element, entry: ReportItem, classname: str) -> None:
    item = entry.item
    case = ElementTree.SubElement(
        parent,
        "testcase",
        name=_clean(entry.test_case_name),
        classname=_clean(".".join(entry.suite_path) or classname),
        time=_seconds(item.duration_ms),
    )
    if item.status == "failed":
        failure = ElementTree.SubElement(
            case,
            "failure",
            message=_clean(item.error_message or "Test case failed"),
            type="TestCaseFailed",
        )
        failure.text = _clean(_failure_text(entry))
    elif item.status != "passed":
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
