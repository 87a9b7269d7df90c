"""The Alembic revisions build exactly the schema of the models and of the spec."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, Connection, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

import models

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

# Every index test-run-api.md names, plus those DESIGN.md's extra tables add.
SPEC_INDEXES = {
    "idx_test_runs_project",
    "idx_test_runs_status",
    "idx_test_runs_created_at",
    "idx_test_runs_created_by",
    "idx_run_items_test_run",
    "idx_run_items_test_case",
    "idx_run_items_status",
    "idx_run_items_order",
    "idx_results_test_run",
    "idx_results_item",
    "idx_results_test_case",
    "idx_results_status",
    "idx_results_iteration",
    "idx_step_results_result",
    "idx_step_results_number",
    "idx_step_results_status",
    "idx_checkpoint_result",
    "idx_checkpoint_step",
    "idx_checkpoint_status",
    "idx_script_result_run",
    "idx_script_result_type",
    "idx_console_logs_result",
    "idx_console_logs_level",
    "idx_console_logs_timestamp",
    "idx_network_logs_result",
    "idx_network_logs_status",
    "idx_network_logs_timestamp",
    "idx_schedules_project",
    "idx_schedules_next_exec",
    "idx_schedules_status",
    "idx_schedule_exec_schedule",
    "idx_schedule_exec_status",
    "idx_schedule_exec_date",
    "idx_exec_history_test_case",
    "idx_exec_history_date",
    "idx_exec_history_status",
}
DESIGN_INDEXES = {"idx_test_cases_project", "idx_test_scripts_project"}


async def run_alembic(url: str, operation: Callable[..., None], *args: Any) -> None:
    """Run an Alembic command (upgrade, downgrade) on `url` through env.py, then commit."""

    def on(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        operation(config, *args)

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(on)
    finally:
        await engine.dispose()


async def drift(url: str) -> list[Any]:
    """What autogenerate would change to make the database match the models."""

    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, models.Base.metadata))

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(compare)
    finally:
        await engine.dispose()


async def table_names(url: str) -> set[str]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            )
            return {row.tablename for row in rows}
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_upgrade(empty_database_url: str) -> None:
    await run_alembic(empty_database_url, command.upgrade, "head")
    assert await table_names(empty_database_url) == {
        *models.Base.metadata.tables,
        "alembic_version",
    }

    await run_alembic(empty_database_url, command.downgrade, "base")
    assert await table_names(empty_database_url) <= {"alembic_version"}

    await run_alembic(empty_database_url, command.upgrade, "head")
    assert await drift(empty_database_url) == []


async def test_models_match_the_migrated_database(migrated_database_url: str) -> None:
    assert await drift(migrated_database_url) == []


async def test_every_spec_index_exists(session: AsyncSession) -> None:
    rows = await session.execute(
        text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
    )
    missing = (SPEC_INDEXES | DESIGN_INDEXES) - set(rows.scalars())
    assert missing == set()


async def test_every_check_constraint_of_the_models_exists(session: AsyncSession) -> None:
    # Autogenerate does not compare CHECK constraints, so their names are compared here.
    rows = await session.execute(
        text(
            "SELECT conname FROM pg_constraint "
            "WHERE contype = 'c' AND connamespace = current_schema()::regnamespace"
        )
    )
    expected = {
        str(constraint.name)
        for table in models.Base.metadata.tables.values()
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
    }
    assert expected == set(rows.scalars())


async def test_indexes_keep_their_order_and_predicate(session: AsyncSession) -> None:
    rows = await session.execute(
        text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND indexname IN ('idx_test_runs_created_at', 'idx_schedule_exec_date', "
            "'idx_exec_history_date', 'idx_schedules_next_exec')"
        )
    )
    definitions = {row.indexname: row.indexdef for row in rows}
    assert definitions["idx_test_runs_created_at"].endswith("(created_at DESC)")
    assert definitions["idx_schedule_exec_date"].endswith("(scheduled_for DESC)")
    assert definitions["idx_exec_history_date"].endswith("(executed_at DESC)")
    assert definitions["idx_schedules_next_exec"].endswith(
        "(next_execution_at) WHERE ((status)::text = 'active'::text)"
    )
