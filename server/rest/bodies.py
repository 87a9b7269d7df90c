"""The JSON bodies REST answers with, as pydantic models (so /openapi.json can describe them).

A row's body is derived from its table: the spec's data models are its tables' columns,
named the same, so deriving keeps every column and its snake_case name without a second
list to keep in step. Columns only the engine uses are left out.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator
from sqlalchemy import JSON, Numeric
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import TypeEngine

from models import enums
from models.base import Base, table_of
from models.baselines import ScreenshotBaseline
from models.results import (
    CheckpointResult,
    ConsoleLog,
    NetworkLog,
    ScriptResult,
    TestExecutionHistory,
    TestRunResult,
    TestStepResult,
)
from models.runs import TestRun, TestRunItem
from models.schedules import Schedule, ScheduleExecution
from resolvers.artifacts import ArtifactLinks
from resolvers.validation import PageInput

Body = type[BaseModel]
_ROWS = ConfigDict(from_attributes=True)


def _python_type(sql_type: TypeEngine[Any]) -> Any:
    if isinstance(sql_type, ARRAY):
        return list[_python_type(sql_type.item_type)]  # type: ignore[misc]  # built at runtime
    if isinstance(sql_type, JSON):
        return Any
    if isinstance(sql_type, Numeric):
        return float  # DECIMAL(5,2) percentages travel as JSON numbers: 66.67
    return sql_type.python_type


# The signer of the artifact and live view URLs of the response being built (set per request).
ARTIFACT_LINKS: ContextVar[ArtifactLinks | None] = ContextVar("artifact_links", default=None)


@dataclass(frozen=True, slots=True)
class Link:
    """A URL field of a body, computed from the body's other fields by the request's signer."""

    description: str
    url: Callable[[ArtifactLinks, Any], Any]
    kind: Any = str | None


def _signed(links: Mapping[str, Link]) -> Any:
    def sign(model: Any) -> Any:
        signer = ARTIFACT_LINKS.get()
        if signer is not None:
            for name, link in links.items():
                setattr(model, name, link.url(signer, model))
        return model

    return model_validator(mode="after")(sign)


def row_body(
    orm: type[Base],
    doc: str,
    *,
    exclude: frozenset[str] = frozenset(),
    kinds: Mapping[str, type[StrEnum]] | None = None,
    links: Mapping[str, Link] | None = None,
) -> Body:
    """A body with every column of `orm`'s table but `exclude`; `kinds` types enum columns.

    `links` are URL fields (new, or columns answered signed) filled from the other fields.
    """
    fields: dict[str, Any] = {}
    for column in table_of(orm).columns:
        if column.key in exclude:
            continue
        python = (kinds or {}).get(column.key) or _python_type(column.type)
        fields[column.key] = (python | None if column.nullable else python, ...)
    for name, link in (links or {}).items():
        fields[name] = (link.kind, Field(default=None, description=link.description))
    validators = {"sign_links": _signed(links)} if links else None
    return create_model(
        orm.__name__, __config__=_ROWS, __doc__=doc, __validators__=validators, **fields
    )


def _artifact(path: str, owner: str) -> Callable[[ArtifactLinks, Any], str | None]:
    return lambda signer, model: signer.artifact(getattr(model, path), owner=getattr(model, owner))


SIGNED = "A link that opens without a token and expires (`TESTRUN_ARTIFACT_URL_TTL_S`)."


def body(name: str, doc: str, **fields: Any) -> Body:
    """A composite body; each field is `(type, ...)` or `(type, Field(...))`."""
    return create_model(name, __doc__=doc, **fields)


@functools.cache
def page_of(row: Body) -> Body:
    """`{items, total, limit, offset}`: one page of a list and how many there are in all.

    One model per row body (cached), so the OpenAPI document names each once.
    """
    return body(
        f"{row.__name__}Page",
        f"One page of {row.__name__} rows.",
        items=(list[row], ...),  # type: ignore[valid-type]  # a model built at runtime
        total=(int, Field(description="How many match in all.")),
        limit=(int, Field(description="Page size asked for (default 20, at most 100).")),
        offset=(int, Field(description="Rows skipped before this page.")),
    )


def page_body(row: Body, rows: Sequence[object], total: int, page: PageInput) -> BaseModel:
    """The `page_of(row)` body of `rows` (ORM rows), `total` and the page asked for."""
    return page_of(row)(
        items=[row.model_validate(each) for each in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


TestRunBody = row_body(
    TestRun,
    "A batch execution of test cases: configuration, status and counts.",
    kinds={"status": enums.RunStatus, "executor": enums.Executor},
)
TestRunItemBody = row_body(
    TestRunItem,
    "One test case in a run: its place, status, live progress and statistics.",
    exclude=frozenset({"attempt", "claimed_by", "heartbeat_at"}),
    kinds={"status": enums.ItemStatus},
    links={
        "vnc_url": Link(
            "Live view of its browser while running, signed when read: " + SIGNED,
            lambda signer, item: signer.live_view(item.vnc_url, item_id=item.id),
        ),
        "error_screenshot_url": Link(
            "Screenshot at the failure. " + SIGNED, _artifact("error_screenshot_path", "id")
        ),
    },
)
TestRunResultBody = row_body(
    TestRunResult,
    "One executed attempt (or data row) of a run item.",
    kinds={"status": enums.ResultStatus},
    links={
        "error_screenshot_url": Link(
            "Screenshot at the failure. " + SIGNED, _artifact("error_screenshot_path", "id")
        ),
        "video_url": Link("Video (WebM). " + SIGNED, _artifact("video_path", "id")),
        "trace_url": Link("Playwright trace (zip). " + SIGNED, _artifact("trace_path", "id")),
        "download_urls": Link(
            "The saved file of each `captured_downloads` entry, in order (null: none). " + SIGNED,
            lambda signer, result: (
                [
                    signer.artifact(entry.get("path"), owner=result.id)
                    if isinstance(entry, dict) and isinstance(entry.get("path"), str)
                    else None
                    for entry in (result.captured_downloads or [])
                ]
                if isinstance(result.captured_downloads, list)
                else None
            ),
            list[str | None] | None,
        ),
    },
)
StepResultBody = row_body(
    TestStepResult,
    "How one step of a result went.",
    kinds={"status": enums.StepStatus},
    links={
        "screenshot_url": Link(
            "The executor's own screenshot URL when it gave one, else the stored file's. " + SIGNED,
            lambda signer, step: (
                step.screenshot_url
                or signer.artifact(step.screenshot_path, owner=step.test_run_result_id)
            ),
        )
    },
)
CheckpointResultBody = row_body(
    CheckpointResult,
    "One verification of a result.",
    kinds={"status": enums.CheckpointStatus, "checkpoint_type": enums.CheckpointType},
    links={
        f"{kind}_screenshot_url": Link(
            f"The {kind} image. " + SIGNED,
            _artifact(f"{kind}_screenshot_path", "test_run_result_id"),
        )
        for kind in ("baseline", "actual", "diff")
    },
)
ScreenshotBaselineBody = row_body(
    ScreenshotBaseline, "The image a test case's named screenshot is compared with."
)
ScriptResultBody = row_body(
    ScriptResult,
    "What a pre, post or on-demand script did.",
    kinds={"status": enums.ResultStatus, "script_type": enums.ScriptType},
)
ConsoleLogBody = row_body(
    ConsoleLog, "One browser console message.", kinds={"log_level": enums.LogLevel}
)
NetworkLogBody = row_body(NetworkLog, "One network request and its response.")
HistoryEntryBody = row_body(
    TestExecutionHistory,
    "One execution of a test case, as its history lists it.",
    kinds={"status": enums.ResultStatus},
)
ScheduleBody = row_body(
    Schedule,
    "A planned run of a suite or chosen test cases, once or recurring.",
    kinds={"status": enums.ScheduleStatus, "repeat_type": enums.RepeatType},
)
ScheduleExecutionBody = row_body(
    ScheduleExecution,
    "One occurrence of a schedule and the run it created.",
    kinds={"status": enums.ScheduleExecutionStatus},
)
