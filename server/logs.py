"""How every process logs: JSON lines for operators, or readable text for `testrun dev`."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from execution.log_context import LogContext
from server.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(settings: Settings) -> None:
    """Log to stderr at the settings' level, one JSON object a line unless told `text`.

    A JSON line carries `time`, `level`, `logger`, `message`, and `run_id`, `item_id`,
    `worker` where the line is about an execution.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(LogContext())
    if settings.log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler], force=True)
