"""Schedules that create runs at set times, and the record of each occurrence they fired."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    desc,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, big_counter, counter, created_at, flag, one_of, updated_at, uuid_pk
from models.enums import RepeatType, RepeatUnit, ScheduleExecutionStatus, ScheduleStatus


class Schedule(Base):
    """A planned run of a suite or of chosen test cases, once or recurring in `timezone`.

    `custom` repeats every `repeat_interval` `repeat_unit`s; `next_execution_at` is what
    the scheduler polls, through a partial index over active schedules only.
    """

    __tablename__ = "schedules"
    __table_args__ = (
        CheckConstraint(one_of("status", ScheduleStatus), name="status"),
        CheckConstraint(one_of("repeat_type", RepeatType), name="repeat_type"),
        CheckConstraint(one_of("repeat_unit", RepeatUnit), name="repeat_unit"),
        CheckConstraint("parallel_count BETWEEN 1 AND 10", name="parallel_count"),
        CheckConstraint("retry_count >= 0", name="retry_count"),
        CheckConstraint("priority BETWEEN -1000 AND 1000", name="priority"),
        Index("idx_schedules_project", "project_id"),
        Index(
            "idx_schedules_next_exec",
            "next_execution_at",
            postgresql_where=text("status = 'active'"),
        ),
        Index("idx_schedules_status", "status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    schedule_name: Mapped[str] = mapped_column(String(255))
    suite_path: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    suite_name: Mapped[str | None] = mapped_column(String(255))
    test_case_ids: Mapped[list[uuid.UUID] | None] = mapped_column(ARRAY(UUID(as_uuid=True)))
    scheduled_datetime: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(50), default="UTC", server_default="UTC")
    repeat_type: Mapped[str] = mapped_column(
        String(50), default=RepeatType.NONE.value, server_default=RepeatType.NONE.value
    )
    repeat_interval: Mapped[int | None]
    repeat_unit: Mapped[str | None] = mapped_column(String(20))
    repeat_days_of_week: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    repeat_day_of_month: Mapped[int | None]
    repeat_end_date: Mapped[datetime | None]
    max_occurrences: Mapped[int | None]
    status: Mapped[str] = mapped_column(
        String(50),
        default=ScheduleStatus.ACTIVE.value,
        server_default=ScheduleStatus.ACTIVE.value,
    )
    is_enabled: Mapped[bool] = flag(True)
    parallel_enabled: Mapped[bool] = flag(False)
    parallel_count: Mapped[int] = counter(1)
    retry_on_failure: Mapped[bool] = flag(False)
    retry_count: Mapped[int] = counter(0)
    # The priority of the runs it fires.
    priority: Mapped[int] = counter(0)
    notify_on_completion: Mapped[bool] = flag(True)
    notify_on_failure: Mapped[bool] = flag(True)
    notification_emails: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    execution_count: Mapped[int] = counter(0)
    last_executed_at: Mapped[datetime | None]
    last_execution_status: Mapped[str | None] = mapped_column(String(50))
    next_execution_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    executions: Mapped[list[ScheduleExecution]] = relationship(
        back_populates="schedule",
        order_by="desc(ScheduleExecution.scheduled_for)",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",
    )


class ScheduleExecution(Base):
    """One occurrence of a schedule: when it was due, the run it created, how that went.

    Unique per `(schedule_id, scheduled_for)`, so two schedulers cannot both fire it.
    """

    __tablename__ = "schedule_executions"
    __table_args__ = (
        UniqueConstraint("schedule_id", "scheduled_for"),
        CheckConstraint(one_of("status", ScheduleExecutionStatus), name="status"),
        Index("idx_schedule_exec_schedule", "schedule_id"),
        Index("idx_schedule_exec_status", "status"),
        Index("idx_schedule_exec_date", desc("scheduled_for")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    schedule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    test_run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("test_runs.id", ondelete="SET NULL")
    )
    scheduled_for: Mapped[datetime]
    executed_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(50))
    total_tests: Mapped[int] = counter()
    passed_tests: Mapped[int] = counter()
    failed_tests: Mapped[int] = counter()
    duration_ms: Mapped[int] = big_counter()
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()

    schedule: Mapped[Schedule] = relationship(back_populates="executions", lazy="raise")
