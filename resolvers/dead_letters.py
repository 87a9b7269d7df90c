"""Messages the workers gave up on (dead letters): what admins see of them, and replays."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.runs import TestRun, TestRunItem
from resolvers.access import require_admin
from resolvers.errors import InvalidState, NotFound, ValidationFailed
from resolvers.tokens import Principal

MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message whose retries ran out, as the broker keeps it."""

    id: str
    queue_name: str
    actor_name: str
    args: list[Any]
    failed_at: datetime
    retries: int
    error: str | None
    # What it was about, when the engine can tell from its arguments.
    run_id: uuid.UUID | None = None
    item_id: uuid.UUID | None = None


class DeadLetterBox(Protocol):
    """Where the broker keeps dead letters (the execution engine provides it)."""

    async def read(self) -> list[DeadLetter]:
        """Every dead letter, the latest first."""

    async def replay(self, letter_id: str) -> DeadLetter | None:
        """Send the message again with fresh retries and forget the letter; None if unknown."""

    async def count(self) -> int:
        """How many dead letters there are."""


def _kept(box: DeadLetterBox | None) -> DeadLetterBox:
    if box is None:
        raise InvalidState("Dead letters are kept by the broker, and this api has none")
    return box


async def read_dead_letters(
    session: AsyncSession, box: DeadLetterBox | None, *, principal: Principal, limit: int = 100
) -> list[DeadLetter]:
    """The dead letters about the caller's project's runs, the latest first (admins only)."""
    require_admin(principal, "dead letters")
    box = _kept(box)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed.of("limit", f"must be between 1 and {MAX_LIMIT}")
    return (await _of_project(session, await box.read(), principal.project_id))[:limit]


async def replay_dead_letter(
    session: AsyncSession, box: DeadLetterBox | None, *, principal: Principal, letter_id: str
) -> DeadLetter:
    """Send a dead letter of the caller's project again (admins only); NotFound otherwise.

    Every message is idempotent, so replaying one whose work got done since is harmless.
    """
    require_admin(principal, "dead letters")
    box = _kept(box)
    mine = {
        letter.id for letter in await _of_project(session, await box.read(), principal.project_id)
    }
    replayed = await box.replay(letter_id) if letter_id in mine else None
    if replayed is None:
        raise NotFound.of("Dead letter", letter_id)
    (found,) = await _of_project(session, [replayed], principal.project_id)
    return found


async def _of_project(
    session: AsyncSession, letters: Sequence[DeadLetter], project_id: uuid.UUID
) -> list[DeadLetter]:
    """The letters about runs of the project, each with its run id."""
    item_ids = {letter.item_id for letter in letters if letter.item_id is not None}
    run_of_item = dict(
        (
            await session.execute(
                select(TestRunItem.id, TestRunItem.test_run_id).where(TestRunItem.id.in_(item_ids))
            )
        ).all()
    )
    run_ids = {letter.run_id for letter in letters if letter.run_id is not None}
    mine = set(
        await session.scalars(
            select(TestRun.id).where(
                TestRun.id.in_(run_ids | set(run_of_item.values())),
                TestRun.project_id == project_id,
            )
        )
    )
    found = []
    for letter in letters:
        run_id = letter.run_id
        if run_id is None and letter.item_id is not None:
            run_id = run_of_item.get(letter.item_id)
        if run_id in mine:
            found.append(dataclasses.replace(letter, run_id=run_id))
    return found
