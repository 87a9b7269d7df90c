"""Initial schema: tenancy, test cases and scripts, runs, results, logs, schedules.

Revision ID: 5b1f0c2a9d47
Revises:
Create Date: 2026-11-21 17:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5b1f0c2a9d47"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_projects_tenant_id_name")),
    )
    op.create_index(op.f("ix_projects_tenant_id"), "projects", ["tenant_id"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "role IN ('viewer', 'editor', 'admin')", name=op.f("ck_api_tokens_role")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_api_tokens_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index("ix_api_tokens_project_id", "api_tokens", ["project_id"], unique=False)
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"], unique=False)
    op.create_table(
        "project_members",
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "role IN ('viewer', 'editor', 'admin')", name=op.f("ck_project_members_role")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_members_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_project_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "user_id", name=op.f("pk_project_members")),
    )
    op.create_index(
        op.f("ix_project_members_user_id"), "project_members", ["user_id"], unique=False
    )
    op.create_table(
        "schedules",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column("schedule_name", sa.String(length=255), nullable=False),
        sa.Column("suite_path", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("suite_name", sa.String(length=255), nullable=True),
        sa.Column("test_case_ids", postgresql.ARRAY(sa.UUID()), nullable=True),
        sa.Column("scheduled_datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(length=50), server_default="UTC", nullable=False),
        sa.Column("repeat_type", sa.String(length=50), server_default="none", nullable=False),
        sa.Column("repeat_interval", sa.Integer(), nullable=True),
        sa.Column("repeat_unit", sa.String(length=20), nullable=True),
        sa.Column("repeat_days_of_week", postgresql.ARRAY(sa.Integer()), nullable=True),
        sa.Column("repeat_day_of_month", sa.Integer(), nullable=True),
        sa.Column("repeat_end_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_occurrences", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=50), server_default="active", nullable=False),
        sa.Column("is_enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "parallel_enabled", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("parallel_count", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column(
            "retry_on_failure", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("retry_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "notify_on_completion", sa.Boolean(), server_default=sa.text("true"), nullable=False
        ),
        sa.Column(
            "notify_on_failure", sa.Boolean(), server_default=sa.text("true"), nullable=False
        ),
        sa.Column("notification_emails", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("execution_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_execution_status", sa.String(length=50), nullable=True),
        sa.Column("next_execution_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "repeat_type IN ('none', 'hourly', 'daily', 'weekly', 'monthly', 'custom')",
            name=op.f("ck_schedules_repeat_type"),
        ),
        sa.CheckConstraint(
            "repeat_unit IN ('minutes', 'hours', 'days')", name=op.f("ck_schedules_repeat_unit")
        ),
        sa.CheckConstraint(
            "status IN ('active', 'paused', 'completed', 'cancelled')",
            name=op.f("ck_schedules_status"),
        ),
        sa.CheckConstraint(
            "parallel_count BETWEEN 1 AND 10", name=op.f("ck_schedules_parallel_count")
        ),
        sa.CheckConstraint("retry_count >= 0", name=op.f("ck_schedules_retry_count")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_schedules_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_schedules_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
    )
    op.create_index(
        "idx_schedules_next_exec",
        "schedules",
        ["next_execution_at"],
        unique=False,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index("idx_schedules_project", "schedules", ["project_id"], unique=False)
    op.create_index("idx_schedules_status", "schedules", ["status"], unique=False)
    op.create_table(
        "test_cases",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("suite_path", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("suite_name", sa.String(length=255), nullable=True),
        sa.Column(
            "proven_steps",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("data_rows", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("pre_script_ids", postgresql.ARRAY(sa.UUID()), nullable=True),
        sa.Column("post_script_ids", postgresql.ARRAY(sa.UUID()), nullable=True),
        sa.Column("on_demand_script_ids", postgresql.ARRAY(sa.UUID()), nullable=True),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_test_cases_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_test_cases_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_cases")),
    )
    op.create_index("idx_test_cases_project", "test_cases", ["project_id"], unique=False)
    op.create_table(
        "test_scripts",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("script_type", sa.String(length=50), nullable=False),
        sa.Column("language", sa.String(length=50), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("is_critical", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("timeout_seconds", sa.Integer(), server_default=sa.text("60"), nullable=False),
        sa.Column("attached_to_step", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "language IN ('python', 'shell', 'javascript')", name=op.f("ck_test_scripts_language")
        ),
        sa.CheckConstraint(
            "script_type IN ('pre_execution', 'post_execution', 'on_demand')",
            name=op.f("ck_test_scripts_script_type"),
        ),
        sa.CheckConstraint("timeout_seconds > 0", name=op.f("ck_test_scripts_timeout_seconds")),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_test_scripts_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_scripts")),
    )
    op.create_index("idx_test_scripts_project", "test_scripts", ["project_id"], unique=False)
    op.create_table(
        "test_runs",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("run_name", sa.String(length=255), nullable=False),
        sa.Column("run_number", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.UUID(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column("schedule_id", sa.UUID(), nullable=True),
        sa.Column("suite_path", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("suite_name", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=50), server_default="pending", nullable=False),
        sa.Column("executor", sa.String(length=20), server_default="server", nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("total_tests", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("passed_tests", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("failed_tests", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("skipped_tests", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("no_run_tests", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "pass_rate",
            sa.Numeric(precision=5, scale=2),
            server_default=sa.text("0.00"),
            nullable=False,
        ),
        sa.Column(
            "parallel_enabled", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("parallel_count", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("retry_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "retry_on_failure", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("browser_name", sa.String(length=50), nullable=True),
        sa.Column("browser_version", sa.String(length=50), nullable=True),
        sa.Column("os_name", sa.String(length=100), nullable=True),
        sa.Column("os_version", sa.String(length=50), nullable=True),
        sa.Column("viewport_width", sa.Integer(), nullable=True),
        sa.Column("viewport_height", sa.Integer(), nullable=True),
        sa.Column("results_folder", sa.String(length=500), nullable=True),
        sa.Column("report_path", sa.String(length=500), nullable=True),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("event_seq", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("current_item_index", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint("executor IN ('server', 'client')", name=op.f("ck_test_runs_executor")),
        sa.CheckConstraint(
            "status IN ('pending', 'queued', 'running', 'completed', 'cancelled', 'failed')",
            name=op.f("ck_test_runs_status"),
        ),
        sa.CheckConstraint(
            "parallel_count BETWEEN 1 AND 10", name=op.f("ck_test_runs_parallel_count")
        ),
        sa.CheckConstraint("retry_count >= 0", name=op.f("ck_test_runs_retry_count")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_test_runs_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_test_runs_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_test_runs_schedule_id_schedules"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_runs")),
        sa.UniqueConstraint(
            "project_id", "idempotency_key", name=op.f("uq_test_runs_project_id_idempotency_key")
        ),
        sa.UniqueConstraint(
            "project_id", "run_number", name=op.f("uq_test_runs_project_id_run_number")
        ),
    )
    op.create_index(
        "idx_test_runs_created_at", "test_runs", [sa.text("created_at DESC")], unique=False
    )
    op.create_index("idx_test_runs_created_by", "test_runs", ["created_by"], unique=False)
    op.create_index("idx_test_runs_project", "test_runs", ["project_id"], unique=False)
    op.create_index("idx_test_runs_schedule", "test_runs", ["schedule_id"], unique=False)
    op.create_index("idx_test_runs_status", "test_runs", ["status"], unique=False)
    op.create_table(
        "run_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("test_run_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column(
            "payload",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["test_run_id"],
            ["test_runs.id"],
            name=op.f("fk_run_events_test_run_id_test_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_events")),
        sa.UniqueConstraint("test_run_id", "seq", name=op.f("uq_run_events_test_run_id_seq")),
    )
    op.create_table(
        "schedule_executions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("schedule_id", sa.UUID(), nullable=False),
        sa.Column("test_run_id", sa.UUID(), nullable=True),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=False),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=50), nullable=False),
        sa.Column("total_tests", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("passed_tests", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("failed_tests", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'completed', 'failed', 'missed', 'cancelled')",
            name=op.f("ck_schedule_executions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_schedule_executions_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["test_run_id"],
            ["test_runs.id"],
            name=op.f("fk_schedule_executions_test_run_id_test_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_executions")),
        sa.UniqueConstraint(
            "schedule_id",
            "scheduled_for",
            name=op.f("uq_schedule_executions_schedule_id_scheduled_for"),
        ),
    )
    op.create_index(
        "idx_schedule_exec_date",
        "schedule_executions",
        [sa.text("scheduled_for DESC")],
        unique=False,
    )
    op.create_index(
        "idx_schedule_exec_schedule", "schedule_executions", ["schedule_id"], unique=False
    )
    op.create_index("idx_schedule_exec_status", "schedule_executions", ["status"], unique=False)
    op.create_table(
        "test_run_items",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("test_run_id", sa.UUID(), nullable=False),
        sa.Column("test_case_id", sa.UUID(), nullable=False),
        sa.Column("execution_order", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=50), server_default="pending", nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("total_steps", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("passed_steps", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("failed_steps", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("skipped_steps", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("total_checkpoints", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("passed_checkpoints", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("failed_checkpoints", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("is_data_driven", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("total_iterations", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("passed_iterations", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("failed_iterations", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("retry_attempt", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "max_retries_exhausted", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_screenshot_path", sa.String(length=500), nullable=True),
        sa.Column("results_folder", sa.String(length=500), nullable=True),
        sa.Column("current_step", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("vnc_url", sa.String(length=2000), nullable=True),
        sa.Column("attempt", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("claimed_by", sa.String(length=255), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'queued', 'running', 'passed', 'failed', 'skipped', 'no_run')",
            name=op.f("ck_test_run_items_status"),
        ),
        sa.ForeignKeyConstraint(
            ["test_case_id"],
            ["test_cases.id"],
            name=op.f("fk_test_run_items_test_case_id_test_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["test_run_id"],
            ["test_runs.id"],
            name=op.f("fk_test_run_items_test_run_id_test_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_run_items")),
        sa.UniqueConstraint(
            "test_run_id", "test_case_id", name=op.f("uq_test_run_items_test_run_id_test_case_id")
        ),
    )
    op.create_index(
        "idx_run_items_order", "test_run_items", ["test_run_id", "execution_order"], unique=False
    )
    op.create_index("idx_run_items_status", "test_run_items", ["status"], unique=False)
    op.create_index("idx_run_items_test_case", "test_run_items", ["test_case_id"], unique=False)
    op.create_index("idx_run_items_test_run", "test_run_items", ["test_run_id"], unique=False)
    op.create_table(
        "test_run_results",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("test_run_id", sa.UUID(), nullable=False),
        sa.Column("test_run_item_id", sa.UUID(), nullable=False),
        sa.Column("test_case_id", sa.UUID(), nullable=False),
        sa.Column("iteration_number", sa.Integer(), nullable=True),
        sa.Column("data_row_index", sa.Integer(), nullable=True),
        sa.Column("data_row_values", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("status", sa.String(length=50), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("total_steps", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("passed_steps", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("failed_steps", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("skipped_steps", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "pass_rate",
            sa.Numeric(precision=5, scale=2),
            server_default=sa.text("0.00"),
            nullable=False,
        ),
        sa.Column("total_checkpoints", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("passed_checkpoints", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("failed_checkpoints", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "checkpoint_pass_rate",
            sa.Numeric(precision=5, scale=2),
            server_default=sa.text("0.00"),
            nullable=False,
        ),
        sa.Column("total_pre_scripts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("passed_pre_scripts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("failed_pre_scripts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("total_post_scripts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("passed_post_scripts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("failed_post_scripts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "total_on_demand_scripts", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column(
            "passed_on_demand_scripts", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column(
            "failed_on_demand_scripts", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column(
            "pre_script_aborted", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column(
            "total_accessibility_violations",
            sa.Integer(),
            server_default=sa.text("0"),
            nullable=False,
        ),
        sa.Column("accessibility_results", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_step_number", sa.Integer(), nullable=True),
        sa.Column("error_screenshot_path", sa.String(length=500), nullable=True),
        sa.Column("initial_url", sa.String(length=2000), nullable=True),
        sa.Column("final_url", sa.String(length=2000), nullable=True),
        sa.Column("results_folder", sa.String(length=500), nullable=True),
        sa.Column("report_path", sa.String(length=500), nullable=True),
        sa.Column("retry_attempt", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("racing_stats", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("environment_info", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("captured_downloads", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("downloads_folder", sa.String(length=500), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('passed', 'failed', 'skipped')", name=op.f("ck_test_run_results_status")
        ),
        sa.ForeignKeyConstraint(
            ["test_case_id"],
            ["test_cases.id"],
            name=op.f("fk_test_run_results_test_case_id_test_cases"),
        ),
        sa.ForeignKeyConstraint(
            ["test_run_id"],
            ["test_runs.id"],
            name=op.f("fk_test_run_results_test_run_id_test_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["test_run_item_id"],
            ["test_run_items.id"],
            name=op.f("fk_test_run_results_test_run_item_id_test_run_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_run_results")),
    )
    op.create_index("idx_results_item", "test_run_results", ["test_run_item_id"], unique=False)
    op.create_index(
        "idx_results_iteration",
        "test_run_results",
        ["test_run_item_id", "iteration_number"],
        unique=False,
    )
    op.create_index("idx_results_status", "test_run_results", ["status"], unique=False)
    op.create_index("idx_results_test_case", "test_run_results", ["test_case_id"], unique=False)
    op.create_index("idx_results_test_run", "test_run_results", ["test_run_id"], unique=False)
    op.create_table(
        "console_logs",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("test_run_result_id", sa.UUID(), nullable=False),
        sa.Column("log_level", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=True),
        sa.Column("line_number", sa.Integer(), nullable=True),
        sa.Column("column_number", sa.Integer(), nullable=True),
        sa.Column("stack_trace", sa.Text(), nullable=True),
        sa.Column("step_index", sa.Integer(), nullable=True),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "log_level IN ('log', 'info', 'warn', 'error', 'debug')",
            name=op.f("ck_console_logs_log_level"),
        ),
        sa.ForeignKeyConstraint(
            ["test_run_result_id"],
            ["test_run_results.id"],
            name=op.f("fk_console_logs_test_run_result_id_test_run_results"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_logs")),
    )
    op.create_index("idx_console_logs_level", "console_logs", ["log_level"], unique=False)
    op.create_index("idx_console_logs_result", "console_logs", ["test_run_result_id"], unique=False)
    op.create_index("idx_console_logs_timestamp", "console_logs", ["timestamp"], unique=False)
    op.create_table(
        "network_logs",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("test_run_result_id", sa.UUID(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("status_text", sa.String(length=100), nullable=True),
        sa.Column("request_headers", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("response_headers", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("request_body_preview", sa.Text(), nullable=True),
        sa.Column("response_body_preview", sa.Text(), nullable=True),
        sa.Column("content_type", sa.String(length=200), nullable=True),
        sa.Column("content_length", sa.BigInteger(), nullable=True),
        sa.Column("resource_type", sa.String(length=50), nullable=True),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("ttfb_ms", sa.BigInteger(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("step_index", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["test_run_result_id"],
            ["test_run_results.id"],
            name=op.f("fk_network_logs_test_run_result_id_test_run_results"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_logs")),
    )
    op.create_index("idx_network_logs_result", "network_logs", ["test_run_result_id"], unique=False)
    op.create_index("idx_network_logs_status", "network_logs", ["status_code"], unique=False)
    op.create_index("idx_network_logs_timestamp", "network_logs", ["timestamp"], unique=False)
    op.create_table(
        "script_results",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("test_run_result_id", sa.UUID(), nullable=False),
        sa.Column("test_script_id", sa.UUID(), nullable=True),
        sa.Column("script_name", sa.String(length=255), nullable=False),
        sa.Column("script_type", sa.String(length=50), nullable=False),
        sa.Column("script_language", sa.String(length=50), nullable=True),
        sa.Column("status", sa.String(length=50), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("stdout", sa.Text(), nullable=True),
        sa.Column("stderr", sa.Text(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("is_critical", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("attached_to_step", sa.Integer(), nullable=True),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "script_language IN ('python', 'shell', 'javascript')",
            name=op.f("ck_script_results_script_language"),
        ),
        sa.CheckConstraint(
            "script_type IN ('pre_execution', 'post_execution', 'on_demand')",
            name=op.f("ck_script_results_script_type"),
        ),
        sa.CheckConstraint(
            "status IN ('passed', 'failed', 'skipped')", name=op.f("ck_script_results_status")
        ),
        sa.ForeignKeyConstraint(
            ["test_run_result_id"],
            ["test_run_results.id"],
            name=op.f("fk_script_results_test_run_result_id_test_run_results"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["test_script_id"],
            ["test_scripts.id"],
            name=op.f("fk_script_results_test_script_id_test_scripts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_script_results")),
    )
    op.create_index("idx_script_result_run", "script_results", ["test_run_result_id"], unique=False)
    op.create_index("idx_script_result_type", "script_results", ["script_type"], unique=False)
    op.create_table(
        "test_execution_history",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("test_case_id", sa.UUID(), nullable=False),
        sa.Column("test_run_id", sa.UUID(), nullable=True),
        sa.Column("test_run_result_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=50), nullable=False),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("total_steps", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("passed_steps", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("failed_steps", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "pass_rate",
            sa.Numeric(precision=5, scale=2),
            server_default=sa.text("0.00"),
            nullable=False,
        ),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("run_name", sa.String(length=255), nullable=True),
        sa.Column("is_scheduled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('passed', 'failed', 'skipped')",
            name=op.f("ck_test_execution_history_status"),
        ),
        sa.ForeignKeyConstraint(
            ["test_case_id"],
            ["test_cases.id"],
            name=op.f("fk_test_execution_history_test_case_id_test_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["test_run_id"],
            ["test_runs.id"],
            name=op.f("fk_test_execution_history_test_run_id_test_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["test_run_result_id"],
            ["test_run_results.id"],
            name=op.f("fk_test_execution_history_test_run_result_id_test_run_results"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_execution_history")),
    )
    op.create_index(
        "idx_exec_history_date",
        "test_execution_history",
        [sa.text("executed_at DESC")],
        unique=False,
    )
    op.create_index("idx_exec_history_status", "test_execution_history", ["status"], unique=False)
    op.create_index(
        "idx_exec_history_test_case", "test_execution_history", ["test_case_id"], unique=False
    )
    op.create_table(
        "test_step_results",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("test_run_result_id", sa.UUID(), nullable=False),
        sa.Column("step_number", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=50), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("selector", sa.String(length=1000), nullable=True),
        sa.Column("element_html", sa.Text(), nullable=True),
        sa.Column("input_value", sa.Text(), nullable=True),
        sa.Column("screenshot_path", sa.String(length=500), nullable=True),
        sa.Column("screenshot_url", sa.String(length=500), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_stack_trace", sa.Text(), nullable=True),
        sa.Column("playwright_code", sa.Text(), nullable=True),
        sa.Column("window_id", sa.String(length=100), nullable=True),
        sa.Column("window_title", sa.String(length=500), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('passed', 'failed', 'skipped')", name=op.f("ck_test_step_results_status")
        ),
        sa.ForeignKeyConstraint(
            ["test_run_result_id"],
            ["test_run_results.id"],
            name=op.f("fk_test_step_results_test_run_result_id_test_run_results"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_step_results")),
    )
    op.create_index(
        "idx_step_results_number",
        "test_step_results",
        ["test_run_result_id", "step_number"],
        unique=False,
    )
    op.create_index(
        "idx_step_results_result", "test_step_results", ["test_run_result_id"], unique=False
    )
    op.create_index("idx_step_results_status", "test_step_results", ["status"], unique=False)
    op.create_table(
        "checkpoint_results",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("test_run_result_id", sa.UUID(), nullable=False),
        sa.Column("test_step_result_id", sa.UUID(), nullable=True),
        sa.Column("checkpoint_name", sa.String(length=255), nullable=False),
        sa.Column("checkpoint_type", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=50), nullable=False),
        sa.Column("selector", sa.String(length=1000), nullable=True),
        sa.Column("profile", sa.String(length=50), nullable=True),
        sa.Column("expected_properties", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("actual_properties", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("failed_properties", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("property_verifications", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("screenshot_index", sa.Integer(), nullable=True),
        sa.Column("baseline_screenshot_path", sa.String(length=500), nullable=True),
        sa.Column("actual_screenshot_path", sa.String(length=500), nullable=True),
        sa.Column("diff_screenshot_path", sa.String(length=500), nullable=True),
        sa.Column("diff_percentage", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "checkpoint_type IN ('element', 'screenshot', 'api', 'download')",
            name=op.f("ck_checkpoint_results_checkpoint_type"),
        ),
        sa.CheckConstraint(
            "status IN ('passed', 'failed')", name=op.f("ck_checkpoint_results_status")
        ),
        sa.ForeignKeyConstraint(
            ["test_run_result_id"],
            ["test_run_results.id"],
            name=op.f("fk_checkpoint_results_test_run_result_id_test_run_results"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["test_step_result_id"],
            ["test_step_results.id"],
            name=op.f("fk_checkpoint_results_test_step_result_id_test_step_results"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoint_results")),
    )
    op.create_index(
        "idx_checkpoint_result", "checkpoint_results", ["test_run_result_id"], unique=False
    )
    op.create_index("idx_checkpoint_status", "checkpoint_results", ["status"], unique=False)
    op.create_index(
        "idx_checkpoint_step", "checkpoint_results", ["test_step_result_id"], unique=False
    )


def downgrade() -> None:
    # Children before parents; dropping a table drops its indexes and constraints.
    op.drop_table("checkpoint_results")
    op.drop_table("test_step_results")
    op.drop_table("test_execution_history")
    op.drop_table("script_results")
    op.drop_table("network_logs")
    op.drop_table("console_logs")
    op.drop_table("test_run_results")
    op.drop_table("test_run_items")
    op.drop_table("schedule_executions")
    op.drop_table("run_events")
    op.drop_table("test_runs")
    op.drop_table("test_scripts")
    op.drop_table("test_cases")
    op.drop_table("schedules")
    op.drop_table("project_members")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("projects")
