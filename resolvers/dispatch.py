"""The one door from resolvers to execution: hand a started run over."""

from __future__ import annotations

import uuid
from typing import Protocol


class RunDispatcher(Protocol):
    """What the execution engine offers the application layer; called after commit."""

    async def run_started(self, run_id: uuid.UUID) -> None:
        """The run is `running` with its items `queued`: start executing them."""
