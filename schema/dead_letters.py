"""GraphQL view of dead letters: messages the workers gave up on, for admins to replay."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from resolvers import dead_letters
from schema.context import Info
from schema.scalars import JSON


@strawberry.type(description="A message whose retries ran out; replaying it sends it again.")
class DeadLetter:
    """GraphQL view of a dead letter."""

    id: str = strawberry.field(description="The broker's id of the message.")
    queue_name: str = strawberry.field(description="Queue it was on (runs, notifications).")
    actor_name: str = strawberry.field(description="What it asked for (start_run, ...).")
    args: JSON = strawberry.field(description="Its arguments, as sent.")
    failed_at: datetime = strawberry.field(description="When it was given up on.")
    retries: int = strawberry.field(description="Retries it went through.")
    error: str | None = strawberry.field(description="The last error it failed with.")
    run_id: uuid.UUID | None = strawberry.field(description="The run it was about.")
    item_id: uuid.UUID | None = strawberry.field(description="The run item it was about.")

    @classmethod
    def of(cls, letter: dead_letters.DeadLetter) -> DeadLetter:
        """Build from the resolver's value."""
        return cls(
            id=letter.id,
            queue_name=letter.queue_name,
            actor_name=letter.actor_name,
            args=JSON(letter.args),
            failed_at=letter.failed_at,
            retries=letter.retries,
            error=letter.error,
            run_id=letter.run_id,
            item_id=letter.item_id,
        )


@strawberry.type
class DeadLetterQuery:
    """Dead letter fields of the Query root."""

    @strawberry.field(
        description="Messages about the project's runs that exhausted their retries, the "
        "latest first (admin tokens only; at most 100)."
    )
    async def dead_letters(self, info: Info, limit: int = 100) -> list[DeadLetter]:
        """List dead letters."""
        async with info.context.session() as session:
            found = await dead_letters.read_dead_letters(
                session, info.context.dead_letters, principal=info.context.principal, limit=limit
            )
        return [DeadLetter.of(letter) for letter in found]


@strawberry.type
class DeadLetterMutation:
    """Dead letter mutations of the Mutation root."""

    @strawberry.mutation(
        description="Send a dead letter again with fresh retries (admin tokens only)."
    )
    async def replay_dead_letter(self, info: Info, id: str) -> DeadLetter:
        """Replay a dead letter."""
        async with info.context.session() as session:
            letter = await dead_letters.replay_dead_letter(
                session, info.context.dead_letters, principal=info.context.principal, letter_id=id
            )
        return DeadLetter.of(letter)
