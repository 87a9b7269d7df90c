"""`testrun migrate` and `testrun token create`, as a script would run them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.database import create_engine, transaction
from models.enums import Role
from resolvers.tenancy import ensure_member
from resolvers.tokens import authenticate_token, is_well_formed
from tests.factories import make_project, make_user
from tests.processes import cli_env, run_cli

pytestmark = pytest.mark.slow


async def test_migrate_creates_the_schema_and_is_idempotent(empty_database_url: str) -> None:
    env = cli_env(DATABASE_URL=empty_database_url)

    first = run_cli("migrate", env=env)
    again = run_cli("migrate", env=env)

    assert first.returncode == 0, first.stderr
    assert again.returncode == 0, again.stderr
    engine = create_engine(empty_database_url, pool_size=1)
    async with engine.connect() as connection:
        tables = set(
            (
                await connection.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
            ).scalars()
        )
    await engine.dispose()
    assert {"test_runs", "test_run_items", "api_tokens", "run_events", "schedules"} <= tables


async def test_token_create_prints_only_a_working_token(
    committing_session_factory: async_sessionmaker[AsyncSession], migrated_database_url: str
) -> None:
    async with transaction(committing_session_factory) as session:
        project = await make_project(session, name="Checkout")
        user = await make_user(session)
        await ensure_member(session, project_id=project.id, user_id=user.id, role=Role.ADMIN)

    done = run_cli(
        "token",
        "create",
        "--project",
        "Checkout",
        "--role",
        "viewer",
        env=cli_env(DATABASE_URL=migrated_database_url),
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1
    secret = done.stdout.strip()
    assert is_well_formed(secret)
    async with transaction(committing_session_factory) as session:
        principal = await authenticate_token(session, secret, now=datetime.now(UTC))
    assert principal.project_id == project.id
    assert principal.user_id == user.id
    assert principal.role is Role.VIEWER


async def test_token_create_for_a_new_user_makes_them_a_member(
    committing_session_factory: async_sessionmaker[AsyncSession], migrated_database_url: str
) -> None:
    async with transaction(committing_session_factory) as session:
        project = await make_project(session, name="Search")

    done = run_cli(
        "token",
        "create",
        "--project",
        "Search",
        "--role",
        "editor",
        "--user",
        "ci@example.com",
        env=cli_env(DATABASE_URL=migrated_database_url),
    )

    assert done.returncode == 0, done.stderr
    async with transaction(committing_session_factory) as session:
        principal = await authenticate_token(session, done.stdout.strip(), now=datetime.now(UTC))
        role = await session.scalar(
            text("SELECT role FROM project_members WHERE project_id = :p AND user_id = :u"),
            {"p": project.id, "u": principal.user_id},
        )
    assert role == "editor"


def test_token_create_for_an_unknown_project_fails_clearly(migrated_database_url: str) -> None:
    done = run_cli(
        "token",
        "create",
        "--project",
        "Nope",
        "--role",
        "viewer",
        env=cli_env(DATABASE_URL=migrated_database_url),
    )

    assert done.returncode == 1
    assert done.stdout == ""
    assert "Project not found: 'Nope'" in done.stderr


def test_token_create_refuses_an_unknown_role(migrated_database_url: str) -> None:
    done = run_cli(
        "token",
        "create",
        "--project",
        "X",
        "--role",
        "owner",
        env=cli_env(DATABASE_URL=migrated_database_url),
    )

    assert done.returncode == 2
    assert "owner" in done.stderr


async def test_project_create_then_token_create_is_the_production_bootstrap(
    committing_session_factory: async_sessionmaker[AsyncSession], migrated_database_url: str
) -> None:
    env = cli_env(DATABASE_URL=migrated_database_url)

    created = run_cli(
        "project",
        "create",
        "--name",
        "Shop",
        "--tenant",
        "t1",
        "--admin",
        "ops@example.com",
        env=env,
    )
    token = run_cli("token", "create", "--project", "Shop", "--role", "admin", env=env)
    again = run_cli(
        "project",
        "create",
        "--name",
        "Shop",
        "--tenant",
        "t1",
        "--admin",
        "ops@example.com",
        env=env,
    )

    assert created.returncode == 0, created.stderr
    assert token.returncode == 0, token.stderr
    async with transaction(committing_session_factory) as session:
        principal = await authenticate_token(session, token.stdout.strip(), now=datetime.now(UTC))
        email = await session.scalar(
            text("SELECT email FROM users WHERE id = :u"), {"u": principal.user_id}
        )
    assert str(principal.project_id) == created.stdout.strip()
    assert principal.tenant_id == "t1"
    assert principal.role is Role.ADMIN
    assert email == "ops@example.com"
    assert again.returncode == 1
    assert "Project already exists in tenant 't1': 'Shop'" in again.stderr


def test_isolation_says_whether_scripts_can_be_isolated(tmp_path: Path) -> None:
    isolated = run_cli("isolation", env=cli_env())
    unisolated = run_cli("isolation", env=cli_env(TESTRUN_SCRIPT_ISOLATION="none"))
    (tmp_path / "python3").symlink_to("/usr/bin/python3")
    missing = run_cli("isolation", env=cli_env(PATH=str(tmp_path)))

    assert (isolated.returncode, isolated.stdout) == (0, "Scripts run isolated by bubblewrap.\n")
    assert unisolated.returncode == 0
    assert "TESTRUN_SCRIPT_ISOLATION=none" in unisolated.stdout
    assert missing.returncode == 1
    assert "bubblewrap (bwrap) is not installed" in missing.stderr
