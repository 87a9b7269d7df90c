"""The dashboard's routes: data-free page shells, and the parts the script loads with its token.

A shell (`/ui`, `/ui/runs/{id}`, `/ui/test-cases/{id}`) holds no data, so it opens without a
token; the script then loads `/ui/parts/...` with the token kept in the browser (never in a
URL) and replaces that HTML whenever a subscription says something changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from resolvers import history, runs, test_cases
from resolvers.errors import NotFound, ResolverError, ValidationFailed
from resolvers.flakiness import load_flakiness
from resolvers.logs import load_console_logs_by_result, load_network_logs_by_result
from resolvers.reports import read_test_run_report
from resolvers.run_inputs import TestRunFilter
from resolvers.tokens import Principal
from resolvers.validation import parse
from server.artifacts import artifact_links
from server.auth import request_reads
from server.dashboard import DASHBOARD, PARTS
from server.dashboard.list_views import render_runs, render_test_case, render_test_cases
from server.dashboard.markup import page, text
from server.dashboard.run_view import ResultLogs, render_run
from server.services import Services

HISTORY_SHOWN = 20


async def home(request: Request) -> Response:
    """`/` opens the dashboard."""
    return RedirectResponse(DASHBOARD, status_code=307)


async def runs_page(request: Request) -> Response:
    """The run list's shell."""
    return HTMLResponse(page("Runs", f"{PARTS}runs"))


async def run_page(request: Request) -> Response:
    """A run's shell."""
    return HTMLResponse(page("Run", f"{PARTS}runs/{request.path_params['run_id']}"))


async def test_cases_page(request: Request) -> Response:
    """The test case list's shell."""
    return HTMLResponse(page("Test cases", f"{PARTS}test-cases"))


async def test_case_page(request: Request) -> Response:
    """A test case's shell."""
    return HTMLResponse(page("Test case", f"{PARTS}test-cases/{request.path_params['id']}"))


Part = Callable[[Request, AsyncSession, Principal], Awaitable[str]]


def _reading(request: Request) -> AbstractAsyncContextManager[AsyncSession]:
    reads = request_reads(request.scope)
    services: Services = request.app.state.services
    return nullcontext(reads) if reads is not None else services.read_sessions()


def _id(request: Request, name: str, what: str) -> uuid.UUID:
    value = request.path_params[name]
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound.of(what, value) from None


def part(render: Part) -> Callable[[Request], Awaitable[Response]]:
    """A part's endpoint: the caller's principal and a read session in; HTML or an error out."""

    async def endpoint(request: Request) -> Response:
        principal = request.scope["state"]["principal"]
        try:
            async with _reading(request) as session:
                body = await render(request, session, principal)
        except ResolverError as error:
            status = 404 if isinstance(error, NotFound) else 400
            if isinstance(error, ValidationFailed):
                details = "; ".join(f"{f.field}: {f.message}" for f in error.fields)
                error.message = f"{error.message}: {details}"
            heading = "Not found" if status == 404 else "Cannot show this"
            body = f'<h1>{heading}</h1><p class="error">{text(error.message)}</p>'
            return HTMLResponse(body, status_code=status)
        return HTMLResponse(body, headers={"Cache-Control": "no-store"})

    return endpoint


async def runs_part(request: Request, session: AsyncSession, principal: Principal) -> str:
    """The run list, filtered by `?status=&tag=&name=`."""
    status = request.query_params.get("status") or None
    tag = request.query_params.get("tag") or None
    name = request.query_params.get("name") or None
    query = parse(
        TestRunFilter,
        {
            "status": [status] if status else None,
            "tags": [tag] if tag else None,
            "search": name,
            "limit": 50,
        },
    )
    found, total = await runs.read_test_runs(session, principal=principal, query=query)
    return render_runs(
        found, total, project_id=principal.project_id, status=status, tag=tag, name=name
    )


async def run_part(request: Request, session: AsyncSession, principal: Principal) -> str:
    """One run with everything its items recorded."""
    services: Services = request.app.state.services
    report = await read_test_run_report(
        session,
        principal=principal,
        run_id=_id(request, "run_id", "Test run"),
        flaky_window=services.settings.flaky_window,
    )
    result_ids = [result.result.id for entry in report.items for result in entry.results]
    console = await load_console_logs_by_result(session, result_ids)
    network = await load_network_logs_by_result(session, result_ids)
    logs: dict[object, ResultLogs] = {
        result_id: ResultLogs(console=c, network=n)
        for result_id, c, n in zip(result_ids, console, network, strict=True)
    }
    base_url = services.settings.public_url or str(request.base_url)
    links = artifact_links(services.settings, base_url, stable=True)
    return render_run(
        report,
        logs,
        # Only files in the run's own folders are signed, as in its report.
        artifact_url=lambda stored: links.artifact(stored, owner=report.run.id),
        live_view_url=lambda stored, item_id: links.live_view(stored, item_id=item_id),
        can_write=principal.role.can_write,
    )


async def test_cases_part(request: Request, session: AsyncSession, principal: Principal) -> str:
    """The project's test cases with their flake rates, `?flaky=1`: only the flaky ones."""
    services: Services = request.app.state.services
    window = services.settings.flaky_window
    flaky_only = request.query_params.get("flaky") == "1"
    query = test_cases.TestCaseFilter(limit=100, flaky=True if flaky_only else None)
    found, total = await test_cases.read_test_cases(
        session, principal=principal, query=query, flaky_window=window
    )
    rates = await load_flakiness(session, [case.id for case in found], window=window)
    return render_test_cases(list(zip(found, rates, strict=True)), total, flaky_only=flaky_only)


async def test_case_part(request: Request, session: AsyncSession, principal: Principal) -> str:
    """A test case with its history, flakiness and proven steps."""
    services: Services = request.app.state.services
    found = await history.read_test_case_history(
        session,
        principal=principal,
        test_case_id=_id(request, "id", "Test case"),
        limit=HISTORY_SHOWN,
        flaky_window=services.settings.flaky_window,
    )
    return render_test_case(found, can_write=principal.role.can_write)


def dashboard_routes() -> list[Route]:
    """`/`, the page shells under /ui and their parts under /ui/parts."""
    return [
        Route("/", home, methods=["GET"]),
        Route(DASHBOARD, runs_page, methods=["GET"]),
        Route(f"{DASHBOARD}/runs/{{run_id}}", run_page, methods=["GET"]),
        Route(f"{DASHBOARD}/test-cases", test_cases_page, methods=["GET"]),
        Route(f"{DASHBOARD}/test-cases/{{id}}", test_case_page, methods=["GET"]),
        Route(f"{PARTS}runs", part(runs_part), methods=["GET"]),
        Route(f"{PARTS}runs/{{run_id}}", part(run_part), methods=["GET"]),
        Route(f"{PARTS}test-cases", part(test_cases_part), methods=["GET"]),
        Route(f"{PARTS}test-cases/{{id}}", part(test_case_part), methods=["GET"]),
    ]
