"""`GET /api/v1/test-runs/{run_id}/report`: the run's report as HTML, or JUnit XML for CI."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

from starlette.responses import HTMLResponse, Response

from execution.html_report import render_html_report
from execution.junit_report import render_junit_report
from resolvers.reports import read_test_run_report
from resolvers.validation import Input
from server.artifacts import artifact_links, request_base_url
from server.rest.operations import AnyOperation, Call, NoBody, Operation, Reply


class ReportQuery(Input):
    """Which form of the report."""

    format: Literal["html", "junit"] = "html"


async def get_test_run_report(call: Call[NoBody, ReportQuery]) -> Reply:
    """The run's report: summary, items, steps, errors and screenshot links (HTML).

    `?format=junit` answers JUnit XML (one testcase per item) for CI servers. Screenshot
    links are signed and expire (`TESTRUN_ARTIFACT_URL_TTL_S`); reload for fresh ones.
    """
    async with call.reading() as session:
        report = await read_test_run_report(
            session,
            principal=call.principal,
            run_id=call.id("run_id"),
            flaky_window=call.services.settings.flaky_window,
        )
    settings = call.services.settings
    base_url = request_base_url(settings, call.request)
    if call.query.format == "junit":
        hostname = urlsplit(base_url).hostname or "localhost"
        document = render_junit_report(report, hostname=hostname)
        return Response(document, media_type="application/xml")
    page = render_html_report(
        report,
        artifact_url=functools.partial(
            artifact_links(settings, base_url).artifact, owner=call.id("run_id")
        ),
        generated_at=datetime.now(UTC),
    )
    return HTMLResponse(page)


OPERATIONS: list[AnyOperation] = [
    Operation(
        "GET",
        "/api/v1/test-runs/{run_id}/report",
        get_test_run_report,
        "Get a test run's report",
        "Test runs",
        NoBody,
        ReportQuery,
        None,
        errors=(400, 404),
        content={"text/html": "HTML report", "application/xml": "JUnit XML"},
    )
]
