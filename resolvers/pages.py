"""One page of a list and how many rows the whole list has: what every list answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.validation import PageInput

Row = TypeVar("Row")


async def read_page(
    session: AsyncSession, statement: Select[Row], page: PageInput, *order: Any
) -> tuple[Sequence[Row], int]:
    """The rows of `statement` in `order` within `page`, and how many there are in all.

    `order` must end in a unique column so that pages neither repeat nor skip rows.
    """
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = await session.scalars(statement.order_by(*order).limit(page.limit).offset(page.offset))
    return rows.all(), int(total or 0)
