"""Test runs, the test cases they hold (items), and each run's append-only event log."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    desc,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import (
    Base,
    big_counter,
    counter,
    created_at,
    flag,
    one_of,
    rate,
    updated_at,
    uuid_pk,
)
from models.enums import Executor, ItemStatus, RunStatus

if TYPE_CHECKING:
    from models.results import TestRunResult
    from models.test_cases import TestCase


class TestRun(Base):
    """A batch execution of test cases, with its configuration and summary statistics.

    `executor` says who replays the steps (the workers, or an outside client submitting
    results); `event_seq` is the last `seq` given to a `run_events` row of this run.
    """

    __test__ = False  # a model, not a pytest test class, despite its name
    __tablename__ = "test_runs"
    __table_args__ = (
        UniqueConstraint("project_id", "run_number"),
        # Postgres treats NULLs as distinct, so runs created without a key never collide.
        UniqueConstraint("project_id", "idempotency_key"),
        CheckConstraint(one_of("status", RunStatus), name="status"),
        CheckConstraint(one_of("executor", Executor), name="executor"),
        CheckConstraint("parallel_count BETWEEN 1 AND 10", name="parallel_count"),
        CheckConstraint("retry_count >= 0", name="retry_count"),
        CheckConstraint("step_delay_ms BETWEEN 0 AND 60000", name="step_delay_ms"),
        CheckConstraint("priority BETWEEN -1000 AND 1000", name="priority"),
        Index("idx_test_runs_project", "project_id"),
        Index("idx_test_runs_status", "status"),
        Index("idx_test_runs_created_at", desc("created_at")),
        Index("idx_test_runs_created_by", "created_by"),
        # Deleting a schedule sets its runs' schedule_id NULL; this keeps that a lookup.
        Index("idx_test_runs_schedule", "schedule_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    run_name: Mapped[str] = mapped_column(String(255))
    run_number: Mapped[int]
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    schedule_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("schedules.id", ondelete="SET NULL")
    )
    suite_path: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    suite_name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(
        String(50), default=RunStatus.PENDING.value, server_default=RunStatus.PENDING.value
    )
    executor: Mapped[str] = mapped_column(
        String(20), default=Executor.SERVER.value, server_default=Executor.SERVER.value
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    scheduled_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    duration_ms: Mapped[int] = big_counter()
    total_tests: Mapped[int] = counter()
    passed_tests: Mapped[int] = counter()
    failed_tests: Mapped[int] = counter()
    skipped_tests: Mapped[int] = counter()
    no_run_tests: Mapped[int] = counter()
    pass_rate: Mapped[Decimal] = rate()
    parallel_enabled: Mapped[bool] = flag(False)
    parallel_count: Mapped[int] = counter(1)
    retry_count: Mapped[int] = counter(0)
    retry_on_failure: Mapped[bool] = flag(False)
    browser_name: Mapped[str | None] = mapped_column(String(50))
    browser_version: Mapped[str | None] = mapped_column(String(50))
    os_name: Mapped[str | None] = mapped_column(String(100))
    os_version: Mapped[str | None] = mapped_column(String(50))
    viewport_width: Mapped[int | None]
    viewport_height: Mapped[int | None]
    results_folder: Mapped[str | None] = mapped_column(String(500))
    report_path: Mapped[str | None] = mapped_column(String(500))
    tags: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    notes: Mapped[str | None] = mapped_column(Text)
    # Artifacts and pacing of server execution (DESIGN "Execution" 4: run settings).
    screenshot_every_step: Mapped[bool] = flag(False)
    record_video: Mapped[bool] = flag(False)
    keep_trace_on_failure: Mapped[bool] = flag(False)
    step_delay_ms: Mapped[int] = counter(0)
    # Higher first when items wait for a slot under TESTRUN_MAX_RUNNING_ITEMS.
    priority: Mapped[int] = counter(0)
    event_seq: Mapped[int] = counter(0)
    current_item_index: Mapped[int | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    items: Mapped[list[TestRunItem]] = relationship(
        back_populates="test_run",
        order_by="TestRunItem.execution_order",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",
    )


class TestRunItem(Base):
    """One test case inside a run: its place in the order, status, live progress and stats.

    `claimed_by`, `heartbeat_at` and `attempt` let the reaper find items whose worker died.
    """

    __test__ = False  # a model, not a pytest test class, despite its name
    __tablename__ = "test_run_items"
    __table_args__ = (
        UniqueConstraint("test_run_id", "test_case_id"),
        CheckConstraint(one_of("status", ItemStatus), name="status"),
        Index("idx_run_items_test_run", "test_run_id"),
        Index("idx_run_items_test_case", "test_case_id"),
        Index("idx_run_items_status", "status"),
        Index("idx_run_items_order", "test_run_id", "execution_order"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    test_run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("test_runs.id", ondelete="CASCADE"))
    test_case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("test_cases.id", ondelete="CASCADE"))
    execution_order: Mapped[int]
    status: Mapped[str] = mapped_column(
        String(50), default=ItemStatus.PENDING.value, server_default=ItemStatus.PENDING.value
    )
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    duration_ms: Mapped[int] = big_counter()
    total_steps: Mapped[int] = counter()
    passed_steps: Mapped[int] = counter()
    failed_steps: Mapped[int] = counter()
    skipped_steps: Mapped[int] = counter()
    total_checkpoints: Mapped[int] = counter()
    passed_checkpoints: Mapped[int] = counter()
    failed_checkpoints: Mapped[int] = counter()
    is_data_driven: Mapped[bool] = flag(False)
    total_iterations: Mapped[int] = counter()
    passed_iterations: Mapped[int] = counter()
    failed_iterations: Mapped[int] = counter()
    retry_attempt: Mapped[int] = counter()
    max_retries_exhausted: Mapped[bool] = flag(False)
    error_message: Mapped[str | None] = mapped_column(Text)
    error_screenshot_path: Mapped[str | None] = mapped_column(String(500))
    results_folder: Mapped[str | None] = mapped_column(String(500))
    current_step: Mapped[int] = counter(0)
    vnc_url: Mapped[str | None] = mapped_column(String(2000))
    attempt: Mapped[int] = counter(0)
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    test_run: Mapped[TestRun] = relationship(back_populates="items", lazy="raise")
    test_case: Mapped[TestCase] = relationship(lazy="raise")
    results: Mapped[list[TestRunResult]] = relationship(
        back_populates="test_run_item",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",
    )


class RunEvent(Base):
    """One entry of a run's event log, numbered by `seq` without gaps within the run.

    Subscribers replay events after the last `seq` they saw, so `(test_run_id, seq)` is
    unique and `id` only orders rows across runs.
    """

    __tablename__ = "run_events"
    __table_args__ = (UniqueConstraint("test_run_id", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    test_run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("test_runs.id", ondelete="CASCADE"))
    seq: Mapped[int]
    type: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    created_at: Mapped[datetime] = created_at()
