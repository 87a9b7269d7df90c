"""Replaying one proven step on a page: one handler per action, element indexing."""

from execution.steps.actions import ACTIONS, execute_step
from execution.steps.base import CheckpointOutcome, StepContext, StepOutcome
from execution.steps.element_index import IndexedElement, indexed_elements

__all__ = [
    "ACTIONS",
    "CheckpointOutcome",
    "IndexedElement",
    "StepContext",
    "StepOutcome",
    "execute_step",
    "indexed_elements",
]
