"""GraphiQL at /graphql in real Chromium with the internet cut off: a query, a subscription."""

from __future__ import annotations

import json

import httpx
import pytest

from models.enums import Role
from tests.fixtures.browser import OfflinePage
from tests.live.harness import Api, Writer

pytestmark = pytest.mark.slow

RESPONSE = ".graphiql-response"


async def open_graphiql(offline: OfflinePage, api: Api, *, token: str, query: str) -> None:
    """Load GraphiQL as a returning user: their headers and last query in its storage."""
    headers = json.dumps({"Authorization": f"Bearer {token}"})
    await offline.page.context.add_init_script(
        "localStorage.setItem('graphiql:headers', "
        + json.dumps(headers)
        + "); localStorage.setItem('graphiql:query', "
        + json.dumps(query)
        + ");"
    )
    await offline.page.goto(f"{api.http_url}/graphql")
    await offline.page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()


async def test_graphiql_runs_a_query_with_no_internet(
    api: Api, writer: Writer, offline_page: OfflinePage
) -> None:
    token = await writer.token(Role.VIEWER)

    await open_graphiql(offline_page, api, token=token, query="{ me { email role } }")

    response = offline_page.page.locator(RESPONSE)
    await response.get_by_text(writer.team.user.email).wait_for(timeout=20_000)
    assert '"role": "VIEWER"' in await response.inner_text()
    assert offline_page.blocked == []
    assert any(url.endswith("/static/graphiql/graphiql.min.js") for url in offline_page.requested)


async def test_graphiql_subscribes_with_the_token_in_connection_init(
    api: Api, writer: Writer, offline_page: OfflinePage
) -> None:
    run_id = await writer.team.run_of([{}])
    await writer.event(run_id, "step.completed", step_number=1)
    token = await writer.token(Role.VIEWER)
    query = f'subscription {{ testRunEvents(runId: "{run_id}", afterSeq: 0) {{ seq type }} }}'

    await open_graphiql(offline_page, api, token=token, query=query)

    response = offline_page.page.locator(RESPONSE)
    await response.get_by_text('"step.completed"').wait_for(timeout=20_000)
    await writer.event(run_id, "step.started", step_number=2)
    await response.get_by_text('"step.started"').wait_for(timeout=20_000)
    assert offline_page.blocked == []


def test_the_page_and_its_assets_need_no_token_and_no_cdn(api: Api) -> None:
    page = httpx.get(f"{api.http_url}/graphql", headers={"Accept": "text/html"})
    script = httpx.get(f"{api.http_url}/static/graphiql/graphql-ws.min.js")

    assert page.status_code == 200
    assert "https://" not in page.text
    assert "/static/graphiql/graphiql.min.js" in page.text
    assert script.status_code == 200
    assert "graphql-transport-ws" in script.text
