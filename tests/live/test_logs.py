"""Log lines of `testrun api` and `testrun worker`: JSON objects naming run, item and worker."""

from __future__ import annotations

import json
from typing import Any

import pytest

from models.enums import Role
from models.runs import TestRunItem
from tests.execution.engine_harness import login_steps, rows
from tests.live.harness import Api, Worker, Writer, start_and_follow


def json_lines(printed: str) -> list[dict[str, Any]]:
    lines = [line for line in printed.splitlines() if line.strip()]
    assert lines
    return [json.loads(line) for line in lines]  # every line, or the test fails here


@pytest.mark.slow
async def test_every_line_is_json_and_execution_lines_name_run_item_and_worker(
    api: Api, worker: Worker, writer: Writer, site: str
) -> None:
    run_id = await writer.team.run_of([{"proven_steps": login_steps(site)}])
    token = await writer.token(Role.EDITOR)

    await start_and_follow(api, token, run_id)

    (item,) = await rows(writer.team, TestRunItem, test_run_id=run_id)
    # The run completes inside the item's last transaction; the item's last line follows.
    worker.output.wait_for(f"item {item.id} attempt 1 ended", timeout=10)
    logged = json_lines(worker.output.drain())
    assert {"time", "level", "logger", "message"} <= set(logged[0])
    about_the_item = [line for line in logged if line.get("item_id") == str(item.id)]
    assert [line["message"] for line in about_the_item] == [
        f"item {item.id} attempt 1 executing",
        f"item {item.id} attempt 1 ended",
    ]
    for line in about_the_item:
        assert line["run_id"] == str(run_id)
        assert line["worker"].endswith(f":{worker.pid}")
    # uvicorn's own lines too.
    assert any(line["logger"].startswith("uvicorn") for line in json_lines(api.output.drain()))
