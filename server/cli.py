"""The `testrun` command: dev stack, api, worker, scheduler, migrations, tokens, Chromium."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from server.logs import configure_logging
from server.settings import Settings, get_settings

if TYPE_CHECKING:
    from rich.console import Console

    from server.api_client import ApiClient


def _settings() -> Settings:
    try:
        return get_settings()
    except ValueError as error:  # pydantic's ValidationError names each bad variable
        raise click.ClickException(f"invalid configuration: {error}") from error


def _require(url_getter: str) -> str:
    try:
        url: str = getattr(_settings(), url_getter)()
    except RuntimeError as error:
        raise click.ClickException(str(error)) from error
    return url


@click.group()
@click.pass_context
def main(context: click.Context) -> None:
    """Replay recorded browser tests in sandboxes and stream their progress live."""
    settings = _settings()
    if context.invoked_subcommand == "dev" and "log_format" not in settings.model_fields_set:
        # A person reads `testrun dev`: readable lines unless TESTRUN_LOG_FORMAT says otherwise.
        settings = settings.model_copy(update={"log_format": "text"})
    configure_logging(settings)


@main.command()
def dev() -> None:
    """Run everything locally: embedded PostgreSQL and Redis unless configured."""
    from server.dev import run_dev

    sys.exit(run_dev(_settings()))


@main.command()
@click.option("--host", default=None, help="Listen address (default TESTRUN_HOST).")
@click.option("--port", type=int, default=None, help="Listen port (default TESTRUN_PORT).")
def api(host: str | None, port: int | None) -> None:
    """Serve GraphQL, REST and health over HTTP (DATABASE_URL; REDIS_URL unless TESTRUN_INLINE)."""
    import uvicorn

    from server.app import create_app

    settings = _settings()
    _require("require_database_url")
    if not settings.inline:
        _require("require_redis_url")
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
        # JSON: uvicorn's own lines go through our handler too, instead of its text config.
        log_config=None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
        ws_per_message_deflate=False,
    )


@main.command()
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Items executed at once (default: 50 with remote browsers, cdp or e2b; "
    "2 per core with local Chromium).",
)
@click.option("--threads", type=click.IntRange(min=1), default=None, hidden=True)
def worker(concurrency: int | None, threads: int | None) -> None:
    """Execute run items from the queue (needs REDIS_URL and DATABASE_URL)."""
    from execution.broker import create_broker
    from execution.claims import Liveness
    from execution.metrics import serve_process_metrics
    from execution.worker import CLIENT_NAME, broker_connections, default_concurrency, run_worker
    from server.sandboxes import sandbox_provider
    from server.services import artifact_storage

    settings = _settings()
    database_url = _require("require_database_url")
    redis_url = _require("require_redis_url")
    serve_process_metrics(settings.host, settings.metrics_port)
    # --threads is the old name of --concurrency, kept for existing scripts.
    items = concurrency or threads or default_concurrency(settings.sandbox)
    broker = create_broker(
        redis_url, max_connections=broker_connections(items), client_name=CLIENT_NAME
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: stop.set())
    run_worker(
        broker,
        database_url=database_url,
        redis_url=redis_url,
        provider=sandbox_provider(settings),
        artifacts=settings.artifacts_dir,
        step_timeout_ms=settings.step_timeout_ms,
        liveness=Liveness.of_seconds(settings.heartbeat_every_s, settings.reap_after_s),
        max_running_items=settings.max_running_items,
        concurrency=items,
        db_pool_size=settings.db_pool_size,
        storage=artifact_storage(settings),
        stop=stop,
    )


@main.command()
def scheduler() -> None:
    """Fire due schedules, follow their runs, notify, reap stuck items (DATABASE_URL, REDIS_URL)."""
    from execution.broker import create_broker
    from execution.metrics import serve_process_metrics
    from execution.scheduler import serve_scheduler
    from server.notifications import smtp_server
    from server.sandboxes import sandbox_jobs

    settings = _settings()
    database_url = _require("require_database_url")
    redis_url = _require("require_redis_url")
    serve_process_metrics(settings.host, settings.metrics_port)
    broker = create_broker(redis_url)
    serve_scheduler(
        broker,
        database_url=database_url,
        redis_url=redis_url,
        smtp=smtp_server(settings),
        base_url=settings.base_url,
        reap_after=timedelta(seconds=settings.reap_after_s),
        jobs=sandbox_jobs(settings),
        max_running_items=settings.max_running_items,
    )


@main.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def migrate(revision: str) -> None:
    """Bring the database schema up to date (safe to run on every deploy)."""
    from server.migrate import upgrade_database

    upgrade_database(_require("require_database_url"), revision)
    click.echo(f"database migrated to {revision}", err=True)


@main.group()
def project() -> None:
    """Manage projects."""


@project.command("create")
@click.option("--name", required=True, help="Project name, unique in its tenant.")
@click.option("--tenant", required=True, help="Tenant id (runs-execute.md's tenant_id).")
@click.option("--admin", "admin_email", required=True, help="Email of the project's admin.")
def project_create(name: str, tenant: str, admin_email: str) -> None:
    """Create a project with its admin and print only the project's id."""
    from resolvers.errors import Conflict
    from server.admin import create_project_with_admin

    database_url = _require("require_database_url")
    try:
        project_id = asyncio.run(
            create_project_with_admin(
                database_url, tenant_id=tenant, name=name, admin_email=admin_email
            )
        )
    except Conflict as error:
        raise click.ClickException(error.message) from error
    click.echo(project_id)


@project.command("webhook")
@click.option("--name", "project_name", required=True, help="Project name.")
@click.option("--tenant", default=None, help="Tenant, when several have a project of that name.")
@click.option("--url", default=None, help="http(s) URL that receives scheduled runs' ends.")
@click.option("--remove", is_flag=True, help="Remove the webhook instead.")
def project_webhook(project_name: str, tenant: str | None, url: str | None, remove: bool) -> None:
    """Set the project's webhook and print only its new signing secret (or remove it)."""
    from resolvers.errors import ValidationFailed
    from server.admin import set_webhook

    if remove == (url is not None):
        raise click.UsageError("give either --url URL or --remove")
    try:
        secret = asyncio.run(
            set_webhook(
                _require("require_database_url"), project=project_name, tenant=tenant, url=url
            )
        )
    except LookupError as error:
        raise click.ClickException(str(error)) from error
    except ValidationFailed as error:
        problems = "; ".join(f"--{field.field}: {field.message}" for field in error.fields)
        raise click.ClickException(problems) from error
    click.echo(secret if secret else "webhook removed", err=not secret)


@main.group()
def token() -> None:
    """Manage API tokens."""


@token.command("create")
@click.option("--project", "project_name", required=True, help="Project name.")
@click.option("--tenant", default=None, help="Tenant, when several have a project of that name.")
@click.option(
    "--role",
    type=click.Choice(["viewer", "editor", "admin"]),
    required=True,
    help="viewer reads; editor writes and runs; admin manages.",
)
@click.option("--user", "email", default=None, help="Owner's email (default: a project admin).")
@click.option("--name", default=None, help="A label to recognise the token by.")
@click.option("--expires-in-days", type=click.IntRange(min=1), default=None, help="Lifetime.")
def token_create(
    project_name: str,
    tenant: str | None,
    role: str,
    email: str | None,
    name: str | None,
    expires_in_days: int | None,
) -> None:
    """Create a token and print only the token, so scripts can capture it."""
    from server.admin import TokenRequest, create_token

    request = TokenRequest(
        project=project_name,
        tenant=tenant,
        role=role,
        email=email,
        name=name,
        expires_at=(
            datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
        ),
    )
    try:
        secret = asyncio.run(create_token(_require("require_database_url"), request))
    except LookupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(secret)


@main.group("dead-letters", invoke_without_command=True)
@click.pass_context
def dead_letters(context: click.Context) -> None:
    """List (the default) or replay messages the workers gave up on (needs REDIS_URL)."""
    if context.invoked_subcommand is None:
        context.invoke(dead_letters_list)


@dead_letters.command("list")
def dead_letters_list() -> None:
    """Print one line per dead letter, the latest first: id, when, queue, message, error."""
    from server.dead_letters import list_dead_letters

    for line in asyncio.run(list_dead_letters(_require("require_redis_url"))):
        click.echo(line)


@dead_letters.command("replay")
@click.argument("letter_id")
def dead_letters_replay(letter_id: str) -> None:
    """Send a dead letter again with fresh retries (its id from `dead-letters list`)."""
    from server.dead_letters import replay_dead_letter

    replayed = asyncio.run(replay_dead_letter(_require("require_redis_url"), letter_id))
    if replayed is None:
        raise click.ClickException(f"Dead letter not found: {letter_id}")
    click.echo(f"replayed {replayed}")


@main.command()
@click.option(
    "--install/--no-install",
    default=False,
    help="As root on Debian, install the chromium package when none is found.",
)
def chromium(install: bool) -> None:
    """Print the Chromium the local sandbox will use (TESTRUN_CHROMIUM, Playwright's, system)."""
    from execution.sandboxes.chromium import ChromiumNotFound, ensure_chromium

    try:
        click.echo(ensure_chromium(_settings().chromium, install=install))
    except ChromiumNotFound as error:
        raise click.ClickException(str(error)) from error


@main.command()
@click.option(
    "--install/--no-install",
    default=False,
    help="As root on Debian, install the bubblewrap package when bwrap is missing.",
)
def isolation(install: bool) -> None:
    """Check that the local sandbox can isolate scripts (TESTRUN_SCRIPT_ISOLATION)."""
    import shutil

    from execution.sandboxes.debian_packages import apt_install
    from execution.sandboxes.script_isolation import IsolationCheck
    from server.sandboxes import script_isolation

    chosen = script_isolation(_settings())
    if chosen.mode == "none":
        click.echo("Scripts run unisolated on the worker host (TESTRUN_SCRIPT_ISOLATION=none).")
        return
    if install and shutil.which("bwrap") is None:
        problem = apt_install("bubblewrap")
        if problem is not None:
            raise click.ClickException(f"bubblewrap is not installed: {problem}")
    problem = asyncio.run(IsolationCheck(chosen).problem())
    if problem is not None:
        raise click.ClickException(problem)
    click.echo("Scripts run isolated by bubblewrap.")


def _api_options(command: Callable[..., None]) -> Callable[..., None]:
    command = click.option(
        "--token", envvar="TESTRUN_TOKEN", help="API token (default TESTRUN_TOKEN)."
    )(command)
    return click.option(
        "--url", envvar="TESTRUN_URL", help="The api, e.g. http://localhost:8000 (TESTRUN_URL)."
    )(command)


def _call_api(
    url: str | None,
    token: str | None,
    as_json: bool,
    action: Callable[[ApiClient, Console], Coroutine[None, None, int]],
) -> None:
    """Run `action` against the api and exit with its code; 2 with a message on API errors."""
    from rich.console import Console

    from server.api_client import ApiClient, ApiError

    if not url:
        raise click.UsageError("give --url or set TESTRUN_URL (e.g. http://localhost:8000)")
    if not token:
        raise click.UsageError("give --token or set TESTRUN_TOKEN")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise here
    # With --json, stdout carries only the JSON; people's output goes to stderr.
    console = Console(stderr=as_json, highlight=False, soft_wrap=True)
    if not console.is_terminal:  # a CI log: wide enough that a run id never folds
        console.width = max(console.width, 160)
    try:
        code = asyncio.run(action(ApiClient(url, token), console))
    except ApiError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
    sys.exit(code)


def _ask_to_stop() -> bool:
    try:
        return click.confirm("\nStop the run?", default=False, err=True)
    except click.Abort:  # no terminal to answer on, or Ctrl-C again: leave the run alone
        return False


@main.command("run")
@click.argument("test_cases", nargs=-1, required=True)
@click.option("--name", default=None, help="The run's name (default: the test cases).")
@click.option("--parallel", type=click.IntRange(1, 100), default=1, show_default=True)
@click.option("--retries", type=click.IntRange(0, 10), default=0, show_default=True)
@click.option("--tag", "tags", multiple=True, help="A tag of the run (repeatable).")
@click.option("--follow", is_flag=True, help="Show progress live until the run ends.")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON on stdout.")
@click.option("--stop-on-interrupt", is_flag=True, help="Ctrl-C stops the run without asking.")
@_api_options
def run(
    test_cases: tuple[str, ...],
    name: str | None,
    parallel: int,
    retries: int,
    tags: tuple[str, ...],
    follow: bool,
    junit: Path | None,
    as_json: bool,
    stop_on_interrupt: bool,
    url: str | None,
    token: str | None,
) -> None:
    """Create and start a run of TEST_CASES (names or ids) through the api.

    With --follow or --junit it waits for the end, prints a summary and exits 0 when every
    item passed, 1 when any did not; 2 on usage or connection errors.
    """
    from server.run_command import Output, RunRequest, execute

    request = RunRequest(test_cases, name=name, parallel=parallel, retries=retries, tags=tags)
    output = Output(
        follow=follow, junit=junit, as_json=as_json, stop_on_interrupt=stop_on_interrupt
    )
    _call_api(
        url,
        token,
        as_json,
        lambda client, console: execute(client, request, output, console, _ask_to_stop),
    )


@main.group()
def runs() -> None:
    """Look at runs through the api (TESTRUN_URL, TESTRUN_TOKEN)."""


@runs.command("list")
@click.option("--status", default=None, help="Only runs in this status (e.g. running).")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
@_api_options
def runs_list(
    status: str | None, limit: int, as_json: bool, url: str | None, token: str | None
) -> None:
    """The newest runs of the token's project."""
    from server.run_command import list_runs

    _call_api(
        url,
        token,
        as_json,
        lambda client, console: list_runs(
            client, console, status=status, limit=limit, as_json=as_json
        ),
    )


@runs.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
@_api_options
def runs_show(run_id: str, as_json: bool, url: str | None, token: str | None) -> None:
    """One run and its items."""
    from server.run_command import show_run

    _call_api(
        url,
        token,
        as_json,
        lambda client, console: show_run(client, console, run_id=run_id, as_json=as_json),
    )


if __name__ == "__main__":
    main()
