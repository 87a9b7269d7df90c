"""What a log line is about: the run, item and worker of the execution in progress.

The engine binds them for the message it handles (each message runs in its own asyncio
task, so its context is its own); `LogContext` copies them onto every log record.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

_FIELDS: dict[str, ContextVar[str | None]] = {
    name: ContextVar(f"log_{name}", default=None) for name in ("run_id", "item_id", "worker")
}


def bind_log_context(
    *, run_id: object = None, item_id: object = None, worker: str | None = None
) -> None:
    """Name the run, item or worker of what this task logs from now on (None leaves one be)."""
    for name, value in (("run_id", run_id), ("item_id", item_id), ("worker", worker)):
        if value is not None:
            _FIELDS[name].set(str(value))


class LogContext(logging.Filter):
    """Adds `run_id`, `item_id` and `worker` to a record where the context has them."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Copy the bound fields onto `record`; never drops it."""
        for name, variable in _FIELDS.items():
            value = variable.get()
            if value is not None and not hasattr(record, name):
                setattr(record, name, value)
        return True
