"""The `testrun` command: dev stack, api, worker, scheduler, migrations, tokens, Chromium."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta

import click

from server.logs import configure_logging
from server.settings import Settings, get_settings


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


if __name__ == "__main__":
    main()
