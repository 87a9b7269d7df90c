"""What executing a test case produced: results, steps, checkpoints, scripts, logs, history."""

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
    Numeric,
    String,
    Text,
    desc,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, big_counter, counter, created_at, flag, one_of, rate, uuid_pk
from models.enums import (
    CheckpointStatus,
    CheckpointType,
    LogLevel,
    ResultStatus,
    ScriptLanguage,
    ScriptType,
    StepStatus,
)

if TYPE_CHECKING:
    from models.runs import TestRunItem


# A result owns these rows: PostgreSQL deletes them with it (ON DELETE CASCADE, so the ORM
# need not load them first), and async code must load them explicitly, never lazily.
_CHILDREN: dict[str, Any] = {
    "cascade": "all, delete-orphan",
    "passive_deletes": True,
    "lazy": "raise",
}


class TestRunResult(Base):
    """One execution of a run item: one per attempt and, when data-driven, per data row.

    `test_run_id` duplicates the item's run so run-wide reports need no join.
    """

    __test__ = False  # a model, not a pytest test class, despite its name
    __tablename__ = "test_run_results"
    __table_args__ = (
        CheckConstraint(one_of("status", ResultStatus), name="status"),
        Index("idx_results_test_run", "test_run_id"),
        Index("idx_results_item", "test_run_item_id"),
        Index("idx_results_test_case", "test_case_id"),
        Index("idx_results_status", "status"),
        Index("idx_results_iteration", "test_run_item_id", "iteration_number"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    test_run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("test_runs.id", ondelete="CASCADE"))
    test_run_item_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("test_run_items.id", ondelete="CASCADE")
    )
    test_case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("test_cases.id"))
    iteration_number: Mapped[int | None]
    data_row_index: Mapped[int | None]
    data_row_values: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(50))
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    duration_ms: Mapped[int] = big_counter()
    total_steps: Mapped[int] = counter()
    passed_steps: Mapped[int] = counter()
    failed_steps: Mapped[int] = counter()
    skipped_steps: Mapped[int] = counter()
    pass_rate: Mapped[Decimal] = rate()
    total_checkpoints: Mapped[int] = counter()
    passed_checkpoints: Mapped[int] = counter()
    failed_checkpoints: Mapped[int] = counter()
    checkpoint_pass_rate: Mapped[Decimal] = rate()
    total_pre_scripts: Mapped[int] = counter()
    passed_pre_scripts: Mapped[int] = counter()
    failed_pre_scripts: Mapped[int] = counter()
    total_post_scripts: Mapped[int] = counter()
    passed_post_scripts: Mapped[int] = counter()
    failed_post_scripts: Mapped[int] = counter()
    total_on_demand_scripts: Mapped[int] = counter()
    passed_on_demand_scripts: Mapped[int] = counter()
    failed_on_demand_scripts: Mapped[int] = counter()
    pre_script_aborted: Mapped[bool] = flag(False)
    total_accessibility_violations: Mapped[int] = counter()
    accessibility_results: Mapped[Any] = mapped_column(JSONB, nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text)
    error_step_number: Mapped[int | None]
    error_screenshot_path: Mapped[str | None] = mapped_column(String(500))
    # Run settings `record_video` / `keep_trace_on_failure`: artifact paths of this result.
    video_path: Mapped[str | None] = mapped_column(String(500))
    trace_path: Mapped[str | None] = mapped_column(String(500))
    initial_url: Mapped[str | None] = mapped_column(String(2000))
    final_url: Mapped[str | None] = mapped_column(String(2000))
    results_folder: Mapped[str | None] = mapped_column(String(500))
    report_path: Mapped[str | None] = mapped_column(String(500))
    retry_attempt: Mapped[int] = counter()
    racing_stats: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    environment_info: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    captured_downloads: Mapped[Any] = mapped_column(JSONB, nullable=True)
    downloads_folder: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = created_at()

    test_run_item: Mapped[TestRunItem] = relationship(back_populates="results", lazy="raise")
    steps: Mapped[list[TestStepResult]] = relationship(
        back_populates="test_run_result", order_by="TestStepResult.step_number", **_CHILDREN
    )
    checkpoints: Mapped[list[CheckpointResult]] = relationship(
        back_populates="test_run_result", **_CHILDREN
    )
    script_results: Mapped[list[ScriptResult]] = relationship(
        back_populates="test_run_result", **_CHILDREN
    )
    console_logs: Mapped[list[ConsoleLog]] = relationship(
        back_populates="test_run_result", **_CHILDREN
    )
    network_logs: Mapped[list[NetworkLog]] = relationship(
        back_populates="test_run_result", **_CHILDREN
    )


class TestStepResult(Base):
    """How one proven step went, with what is needed to reproduce or debug it."""

    __test__ = False  # a model, not a pytest test class, despite its name
    __tablename__ = "test_step_results"
    __table_args__ = (
        CheckConstraint(one_of("status", StepStatus), name="status"),
        Index("idx_step_results_result", "test_run_result_id"),
        Index("idx_step_results_number", "test_run_result_id", "step_number"),
        Index("idx_step_results_status", "status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    test_run_result_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("test_run_results.id", ondelete="CASCADE")
    )
    step_number: Mapped[int]
    action: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(50))
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    duration_ms: Mapped[int] = big_counter()
    selector: Mapped[str | None] = mapped_column(String(1000))
    element_html: Mapped[str | None] = mapped_column(Text)
    input_value: Mapped[str | None] = mapped_column(Text)
    screenshot_path: Mapped[str | None] = mapped_column(String(500))
    screenshot_url: Mapped[str | None] = mapped_column(String(500))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_stack_trace: Mapped[str | None] = mapped_column(Text)
    playwright_code: Mapped[str | None] = mapped_column(Text)
    window_id: Mapped[str | None] = mapped_column(String(100))
    window_title: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = created_at()

    test_run_result: Mapped[TestRunResult] = relationship(back_populates="steps", lazy="raise")


class CheckpointResult(Base):
    """The outcome of one verification (element, screenshot, api, download) of a result."""

    __tablename__ = "checkpoint_results"
    __table_args__ = (
        CheckConstraint(one_of("checkpoint_type", CheckpointType), name="checkpoint_type"),
        CheckConstraint(one_of("status", CheckpointStatus), name="status"),
        Index("idx_checkpoint_result", "test_run_result_id"),
        Index("idx_checkpoint_step", "test_step_result_id"),
        Index("idx_checkpoint_status", "status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    test_run_result_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("test_run_results.id", ondelete="CASCADE")
    )
    test_step_result_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("test_step_results.id", ondelete="CASCADE")
    )
    checkpoint_name: Mapped[str] = mapped_column(String(255))
    checkpoint_type: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(50))
    selector: Mapped[str | None] = mapped_column(String(1000))
    profile: Mapped[str | None] = mapped_column(String(50))
    expected_properties: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    actual_properties: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    failed_properties: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    property_verifications: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    screenshot_index: Mapped[int | None]
    baseline_screenshot_path: Mapped[str | None] = mapped_column(String(500))
    actual_screenshot_path: Mapped[str | None] = mapped_column(String(500))
    diff_screenshot_path: Mapped[str | None] = mapped_column(String(500))
    diff_percentage: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()

    test_run_result: Mapped[TestRunResult] = relationship(
        back_populates="checkpoints", lazy="raise"
    )


class ScriptResult(Base):
    """What a pre, post or on-demand script did: exit code and captured output."""

    __tablename__ = "script_results"
    __table_args__ = (
        CheckConstraint(one_of("script_type", ScriptType), name="script_type"),
        CheckConstraint(one_of("script_language", ScriptLanguage), name="script_language"),
        CheckConstraint(one_of("status", ResultStatus), name="status"),
        Index("idx_script_result_run", "test_run_result_id"),
        Index("idx_script_result_type", "script_type"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    test_run_result_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("test_run_results.id", ondelete="CASCADE")
    )
    test_script_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("test_scripts.id", ondelete="SET NULL")
    )
    script_name: Mapped[str] = mapped_column(String(255))
    script_type: Mapped[str] = mapped_column(String(50))
    script_language: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(50))
    exit_code: Mapped[int | None]
    duration_ms: Mapped[int] = big_counter()
    stdout: Mapped[str | None] = mapped_column(Text)
    stderr: Mapped[str | None] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    is_critical: Mapped[bool] = flag(False)
    attached_to_step: Mapped[int | None]
    executed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()

    test_run_result: Mapped[TestRunResult] = relationship(
        back_populates="script_results", lazy="raise"
    )


class ConsoleLog(Base):
    """A browser console message captured during a result, with the step it happened in."""

    __tablename__ = "console_logs"
    __table_args__ = (
        CheckConstraint(one_of("log_level", LogLevel), name="log_level"),
        Index("idx_console_logs_result", "test_run_result_id"),
        Index("idx_console_logs_level", "log_level"),
        Index("idx_console_logs_timestamp", "timestamp"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    test_run_result_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("test_run_results.id", ondelete="CASCADE")
    )
    log_level: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(500))
    line_number: Mapped[int | None]
    column_number: Mapped[int | None]
    stack_trace: Mapped[str | None] = mapped_column(Text)
    step_index: Mapped[int | None]
    timestamp: Mapped[datetime]
    created_at: Mapped[datetime] = created_at()

    test_run_result: Mapped[TestRunResult] = relationship(
        back_populates="console_logs", lazy="raise"
    )


class NetworkLog(Base):
    """A network request the page made during a result, with previews of its bodies."""

    __tablename__ = "network_logs"
    __table_args__ = (
        Index("idx_network_logs_result", "test_run_result_id"),
        Index("idx_network_logs_status", "status_code"),
        Index("idx_network_logs_timestamp", "timestamp"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    test_run_result_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("test_run_results.id", ondelete="CASCADE")
    )
    url: Mapped[str] = mapped_column(String(2000))
    method: Mapped[str] = mapped_column(String(10))
    status_code: Mapped[int | None]
    status_text: Mapped[str | None] = mapped_column(String(100))
    request_headers: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    response_headers: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    request_body_preview: Mapped[str | None] = mapped_column(Text)
    response_body_preview: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(200))
    content_length: Mapped[int | None] = mapped_column(BigInteger)
    resource_type: Mapped[str | None] = mapped_column(String(50))
    timestamp: Mapped[datetime]
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    ttfb_ms: Mapped[int | None] = mapped_column(BigInteger)
    error_message: Mapped[str | None] = mapped_column(Text)
    step_index: Mapped[int | None]
    created_at: Mapped[datetime] = created_at()

    test_run_result: Mapped[TestRunResult] = relationship(
        back_populates="network_logs", lazy="raise"
    )


class TestExecutionHistory(Base):
    """A denormalized line per execution of a test case, for its history page.

    It outlives the run and the result it came from (their ids become NULL), and goes
    only when the test case itself is deleted.
    """

    __test__ = False  # a model, not a pytest test class, despite its name
    __tablename__ = "test_execution_history"
    __table_args__ = (
        CheckConstraint(one_of("status", ResultStatus), name="status"),
        Index("idx_exec_history_test_case", "test_case_id"),
        Index("idx_exec_history_date", desc("executed_at")),
        Index("idx_exec_history_status", "status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    test_case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("test_cases.id", ondelete="CASCADE"))
    test_run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("test_runs.id", ondelete="SET NULL")
    )
    test_run_result_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("test_run_results.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(50))
    executed_at: Mapped[datetime]
    duration_ms: Mapped[int] = big_counter()
    total_steps: Mapped[int] = counter()
    passed_steps: Mapped[int] = counter()
    failed_steps: Mapped[int] = counter()
    pass_rate: Mapped[Decimal] = rate()
    error_message: Mapped[str | None] = mapped_column(Text)
    run_name: Mapped[str | None] = mapped_column(String(255))
    is_scheduled: Mapped[bool] = flag(False)
    created_at: Mapped[datetime] = created_at()
