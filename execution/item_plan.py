"""What the replay of one item needs, read once when it starts, and its data rows' placeholders."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from execution.claims import Claim
from execution.scripts import Script

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


def fill_placeholders(value: Any, row: Mapping[str, Any]) -> Any:
    """`value` with every `{{column}}` in its strings replaced by the data row's value."""
    if isinstance(value, str):
        return PLACEHOLDER.sub(
            lambda match: str(row[match.group(1)]) if match.group(1) in row else match.group(0),
            value,
        )
    if isinstance(value, list):
        return [fill_placeholders(item, row) for item in value]
    if isinstance(value, dict):
        return {key: fill_placeholders(item, row) for key, item in value.items()}
    return value


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a result failed: the step (0 when a pre-script aborted), message and screenshot."""

    step_number: int
    message: str
    screenshot: str | None = None


@dataclass(frozen=True, slots=True)
class ItemPlan:
    """Everything the replay of one item needs, read once when it starts."""

    claim: Claim
    run_id: uuid.UUID
    test_case_id: uuid.UUID
    steps: list[dict[str, Any]]  # proven steps in order: {step_number, arguments}
    data_rows: list[dict[str, Any]]
    pre_scripts: list[Script]
    post_scripts: list[Script]
    max_attempt: int
    viewport: tuple[int, int] | None
    step_timeout_ms: int
    screenshot_every_step: bool = False
    record_video: bool = False
    keep_trace_on_failure: bool = False
    step_delay_ms: int = 0
    # On-demand scripts by the step number they run right after.
    on_demand_scripts: dict[int, list[Script]] = field(default_factory=dict)
    # The environment of python and shell scripts: the project's script variables and context.
    script_env: dict[str, str] = field(default_factory=dict)
