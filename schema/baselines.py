"""GraphQL type and root field of visual baselines."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from models import baselines as rows
from resolvers import baselines
from schema.context import Info
from schema.conversion import from_columns


@strawberry.type(description="The image a test case's named screenshot is compared with.")
class ScreenshotBaseline:
    """GraphQL view of a visual baseline."""

    id: uuid.UUID = strawberry.field(description="Baseline id.")
    test_case_id: uuid.UUID = strawberry.field(description="Test case whose screenshot it is.")
    name: str = strawberry.field(description="The screenshot's name (the step's `name`).")
    viewport_width: int = strawberry.field(description="Viewport width in pixels.")
    viewport_height: int = strawberry.field(description="Viewport height in pixels.")
    image_path: str = strawberry.field(
        description="The image, relative to the artifacts directory."
    )
    checkpoint_result_id: uuid.UUID | None = strawberry.field(
        description="The checkpoint whose actual image it is."
    )
    accepted_by: uuid.UUID | None = strawberry.field(
        description="Who accepted it; null for the first run's image."
    )
    created_at: datetime = strawberry.field(description="When the first baseline was stored.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_model(cls, row: rows.ScreenshotBaseline) -> ScreenshotBaseline:
        """Convert a baseline row."""
        return from_columns(cls, row)


@strawberry.type
class BaselineMutation:
    """Visual baseline fields of the Mutation root."""

    @strawberry.mutation(
        description="Make a screenshot checkpoint's actual image the baseline of its name and "
        "viewport: the test case's next runs compare with it (editor role)."
    )
    async def accept_screenshot_baseline(
        self, info: Info, checkpoint_id: uuid.UUID
    ) -> ScreenshotBaseline:
        """Accept a screenshot as the baseline."""
        async with info.context.transaction() as session:
            row = await baselines.accept_screenshot_baseline(
                session, principal=info.context.principal, checkpoint_id=checkpoint_id
            )
        return ScreenshotBaseline.from_model(row)
