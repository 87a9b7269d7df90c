"""Every text column of every table takes what `fit_row` makes of any value, and clients' too.

The proof runs in PostgreSQL itself: for each table, a temporary copy of its text columns
(same types, no constraints) takes the fitted form of values far past every limit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import ARRAY, JSON, Column, MetaData, String, Table, select, text
from sqlalchemy.ext.asyncio import AsyncSession

import models  # noqa: F401  (registers every table on the metadata)
from models.base import Base
from models.results import NetworkLog, TestStepResult
from resolvers.fitting import TEXT_LIMIT, fit_row, fit_text, marker
from tests.factories import make_item, make_result, make_run, make_test_case
from tests.fixtures.http import Caller

HUGE = 3 * TEXT_LIMIT
# A value with everything PostgreSQL refuses or cuts: length, NUL, an unpaired surrogate.
HOSTILE = "é\x00\ud800" + "x" * HUGE


def _holds_text(column_type: Any) -> bool:
    if isinstance(column_type, ARRAY):
        return _holds_text(column_type.item_type)
    return isinstance(column_type, String | JSON)


def _text_columns(table: Table) -> list[str]:
    return [
        column.name
        for column in table.columns
        if _holds_text(column.type) and not column.primary_key
    ]


def _hostile(column_type: Any) -> Any:
    if isinstance(column_type, ARRAY):
        return [HOSTILE, HOSTILE]
    if isinstance(column_type, JSON):
        return {"a\x00": [HOSTILE, {"b": HOSTILE}], "n": 1}
    return HOSTILE


MODELS = sorted(
    (mapper.class_ for mapper in Base.registry.mappers), key=lambda model: model.__name__
)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
async def test_every_text_column_takes_the_fitted_form_of_any_value(
    session: AsyncSession, model: type[Base]
) -> None:
    table = cast("Table", model.__table__)
    names = _text_columns(table)
    if not names:
        return
    copy = f"fit_{table.name}"
    listed = ", ".join(f'"{name}"' for name in names)
    await session.execute(
        text(f"CREATE TEMP TABLE {copy} AS SELECT {listed} FROM {table.name} WITH NO DATA")
    )
    values = fit_row(model, {name: _hostile(table.c[name].type) for name in names})
    copied = Table(copy, MetaData(), *(Column(name, table.c[name].type) for name in names))
    await session.execute(copied.insert().values(values))

    stored = (await session.execute(select(copied))).one()._mapping
    for name in names:
        column_type = table.c[name].type
        if isinstance(column_type, String) and not isinstance(column_type, ARRAY | JSON):
            limit = column_type.length or TEXT_LIMIT
            assert len(stored[name]) == limit, name
            assert stored[name].startswith("é\ufffd\ufffdxxx"), name
            if limit >= 2 * len(marker(len(HOSTILE))):
                assert stored[name].endswith(marker(len(HOSTILE))), name


def test_short_values_are_kept_as_they_are() -> None:
    row = {"url": "https://example.com/", "method": "GET", "status_code": 200}
    assert fit_row(NetworkLog, row) == row
    assert fit_text("exactly ten", 11) == "exactly ten"
    cut = fit_text("y" * 2_001, 2_000)
    assert len(cut) == 2_000
    assert cut.endswith("…[truncated from 2,001 characters]")


async def _client_result(session: AsyncSession, caller: Caller):  # type: ignore[no-untyped-def]
    test_case = await make_test_case(session, caller.project)
    run = await make_run(
        session,
        caller.project,
        caller.user,
        status="running",
        executor="client",
        started_at=datetime(2026, 1, 17, 10, tzinfo=UTC),
    )
    item = await make_item(session, run, test_case, status="queued")
    return await make_result(session, item)


async def test_a_client_s_over_long_values_are_stored_cut_with_a_marker(
    client: httpx.AsyncClient, session: AsyncSession, editor: Caller
) -> None:
    result = await _client_result(session, editor)
    url = "https://example.com/beacon?" + "q" * 11_000
    logged = await client.post(
        f"/api/v1/test-run-results/{result.id}/network-logs/bulk",
        headers=editor.headers,
        json={"logs": [{"url": url, "method": "GET", "timestamp": "2026-01-17T10:00:01Z"}]},
    )
    assert logged.status_code == 201, logged.text
    stepped = await client.post(
        f"/api/v1/test-run-results/{result.id}/steps",
        headers=editor.headers,
        json={"step_number": 1, "action": "click_element", "status": "passed", "selector": url},
    )
    assert stepped.status_code == 201, stepped.text

    stored_url = await session.scalar(
        select(NetworkLog.url).where(NetworkLog.test_run_result_id == result.id)
    )
    stored_selector = await session.scalar(
        select(TestStepResult.selector).where(TestStepResult.test_run_result_id == result.id)
    )
    assert stored_url is not None and stored_selector is not None
    assert len(stored_url) == 2_000
    assert stored_url.startswith("https://example.com/beacon?qqq")
    assert stored_url.endswith(f"…[truncated from {len(url):,} characters]")
    assert len(stored_selector) == 1_000
    assert stored_selector.endswith(f"…[truncated from {len(url):,} characters]")
    assert stepped.json()["selector"] == stored_selector
