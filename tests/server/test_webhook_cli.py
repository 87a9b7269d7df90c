"""`testrun project webhook`: sets a project's webhook and prints its signing secret once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.database import transaction
from models.tenancy import Project
from tests.factories import make_project
from tests.processes import cli_env, run_cli

pytestmark = pytest.mark.slow


async def stored(sessions: async_sessionmaker[AsyncSession], project: Project) -> Project:
    async with sessions() as session:
        found = await session.get(Project, project.id)
        assert found is not None
        return found


async def test_setting_and_removing_a_webhook(
    committing_session_factory: async_sessionmaker[AsyncSession], migrated_database_url: str
) -> None:
    async with transaction(committing_session_factory) as session:
        project = await make_project(session, name="Hooked")
    env = cli_env(DATABASE_URL=migrated_database_url)
    url = "https://ci.example/hooks/testrun"

    first = run_cli("project", "webhook", "--name", "Hooked", "--url", url, env=env)
    second = run_cli("project", "webhook", "--name", "Hooked", "--url", url, env=env)

    assert first.returncode == 0, first.stderr
    secret = first.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", secret)
    assert second.stdout.strip() != secret  # setting it again replaces the secret
    found = await stored(committing_session_factory, project)
    assert (found.webhook_url, found.webhook_secret) == (url, second.stdout.strip())

    removed = run_cli("project", "webhook", "--name", "Hooked", "--remove", env=env)

    assert removed.returncode == 0, removed.stderr
    assert removed.stdout == ""
    found = await stored(committing_session_factory, project)
    assert (found.webhook_url, found.webhook_secret) == (None, None)


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--url", "ftp://ci.example/x"], 1, "--url: Must be an http:// or https:// URL"),
        (["--url", "https://"], 1, "--url: Must be an http:// or https:// URL with a host"),
        ([], 2, "give either --url URL or --remove"),
        (["--url", "https://ci.example", "--remove"], 2, "give either --url URL or --remove"),
    ],
)
async def test_bad_webhook_requests_say_what_is_wrong(
    committing_session_factory: async_sessionmaker[AsyncSession],
    migrated_database_url: str,
    args: list[str],
    code: int,
    says: str,
) -> None:
    async with transaction(committing_session_factory) as session:
        await make_project(session, name="Hooked")

    done = run_cli(
        "project",
        "webhook",
        "--name",
        "Hooked",
        *args,
        env=cli_env(DATABASE_URL=migrated_database_url),
    )

    assert done.returncode == code
    assert says in done.stderr


def test_an_unknown_project_is_named(migrated_database_url: str) -> None:
    done = run_cli(
        "project",
        "webhook",
        "--name",
        "Nowhere",
        "--url",
        "https://ci.example",
        env=cli_env(DATABASE_URL=migrated_database_url),
    )

    assert done.returncode == 1
    assert "Project not found: 'Nowhere'" in done.stderr
