"""Flaky test cases from real runs of a page that fails on alternate executions."""

from __future__ import annotations

import http.server
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from xml.etree import ElementTree

import httpx
import pytest
import xmlschema
from playwright.async_api import expect

from models.enums import Role
from tests.execution.engine_harness import login_steps, serve_handler, step
from tests.factories import make_test_case
from tests.fixtures.browser import OfflinePage
from tests.live.harness import Api, Writer, graphql, sign_in

pytestmark = pytest.mark.slow

JUNIT_XSD = Path(__file__).parents[1] / "rest" / "junit.xsd"
CREATE = """
mutation Create($input: TestRunInput!) { createTestRun(input: $input) { run { id } } }
"""
START = "mutation Start($id: UUID!) { startTestRun(id: $id) { run { status } } }"
FLAKINESS = """
query Flaky($id: UUID!) {
  testCase(id: $id) { flakeRate isFlaky }
  flaky: testCases(filter: {flaky: true}, limit: 100) { items { id } }
  steady: testCases(filter: {flaky: false}, limit: 100) { items { id } }
}
"""


class Alternating(http.server.BaseHTTPRequestHandler):
    """`/pass-first` shows "Welcome" on its 1st, 3rd, ... request; `/fail-first` on its 2nd, 4th."""

    served: ClassVar[Counter[str]] = Counter()

    def do_GET(self) -> None:
        self.served[self.path] += 1
        odd = self.served[self.path] % 2 == 1
        welcome = odd if self.path == "/pass-first" else not odd
        body = f"<!doctype html><title>Flaky</title><h1>{'Welcome' if welcome else 'Oops'}</h1>"
        encoded = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def alternating_site() -> Iterator[str]:
    Alternating.served = Counter()
    with serve_handler(Alternating) as url:
        yield url


def welcome_steps(url: str) -> list[dict[str, Any]]:
    return [step(1, "navigate_to", url=url), step(2, "assert_text_present", text="Welcome")]


async def run_to_the_end(
    api: Api, writer: Writer, token: str, case_ids: list[uuid.UUID], **settings: Any
) -> str:
    run_input = {"runName": "flaky?", "testCaseIds": [str(i) for i in case_ids], **settings}
    created = await graphql(api, token, CREATE, input=run_input)
    run_id = created["createTestRun"]["run"]["id"]
    await graphql(api, token, START, id=run_id)
    await writer.team.wait_final(uuid.UUID(run_id), timeout_s=60)
    return str(run_id)


async def report(api: Api, token: str, run_id: str, format: str) -> bytes:
    async with httpx.AsyncClient(base_url=api.http_url, timeout=30) as client:
        response = await client.get(
            f"/api/v1/test-runs/{run_id}/report",
            params={"format": format},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    return response.content


def junit_case(document: bytes, name: str) -> ElementTree.Element:
    xmlschema.XMLSchema(JUNIT_XSD).validate(document)
    root = ElementTree.fromstring(document)
    found = [case for case in root.iter("testcase") if case.get("name") == name]
    assert len(found) == 1, document.decode()
    return found[0]


async def test_a_test_case_failing_on_alternate_runs_is_flaky_everywhere(
    api: Api,
    shared_worker: Path,
    writer: Writer,
    site: str,
    alternating_site: str,
    offline_page: OfflinePage,
    screenshots: Path,
) -> None:
    token = await writer.token(Role.EDITOR)
    flaky_name, steady_name = f"Alternating {uuid.uuid4().hex[:6]}", "Steady login"
    async with writer.team.sessions.begin() as session:
        flaky = await make_test_case(
            session,
            writer.team.project,
            name=flaky_name,
            proven_steps=welcome_steps(f"{alternating_site}/pass-first"),
        )
        steady = await make_test_case(
            session, writer.team.project, name=steady_name, proven_steps=login_steps(site)
        )
    flaky_id, steady_id = flaky.id, steady.id

    run_ids = [await run_to_the_end(api, writer, token, [flaky_id, steady_id]) for _ in range(4)]

    found = await graphql(api, token, FLAKINESS, id=str(flaky_id))
    assert found["testCase"] == {"flakeRate": 100.0, "isFlaky": True}
    assert [case["id"] for case in found["flaky"]["items"]] == [str(flaky_id)]
    assert str(steady_id) in [case["id"] for case in found["steady"]["items"]]
    steady_found = await graphql(api, token, FLAKINESS, id=str(steady_id))
    assert steady_found["testCase"] == {"flakeRate": 0.0, "isFlaky": False}
    async with httpx.AsyncClient(base_url=api.http_url, timeout=30) as client:
        history = await client.get(
            f"/api/v1/test-cases/{flaky_id}/history",
            headers={"Authorization": f"Bearer {token}"},
        )
    statistics = history.json()["statistics"]
    assert (statistics["passed"], statistics["failed"]) == (2, 2)
    assert (statistics["flake_rate"], statistics["is_flaky"]) == (100.0, True)
    junit = await report(api, token, run_ids[-1], "junit")
    properties = junit_case(junit, flaky_name).find("properties")
    assert properties is not None
    assert {p.get("name"): p.get("value") for p in properties} == {
        "flaky": "true",
        "flake_rate": "100.00",
    }
    assert junit_case(junit, steady_name).find("properties") is None
    html = (await report(api, token, run_ids[-1], "html")).decode()
    assert html.count('class="badge flaky"') == 2  # its row and its details, not the steady one

    page = offline_page.page
    await sign_in(page, api, token, "/ui/test-cases?flaky=1")
    listed = page.locator(f"#case-{flaky_id}")
    await expect(listed).to_contain_text("flaky")
    await expect(listed).to_contain_text("100.00%")
    await expect(page.locator(f"#case-{steady_id}")).to_have_count(0)
    await page.screenshot(path=screenshots / "dashboard-flaky.png", full_page=True)
    await listed.get_by_role("link").click()
    await expect(page.locator(".card", has_text="Flake rate")).to_contain_text("100.00%")
    await expect(page.get_by_role("heading", name=flaky_name)).to_contain_text("flaky")
    await expect(page.locator("tbody tr", has_text="flaky?")).to_have_count(4)


async def test_a_pass_on_a_retry_is_a_flaky_failure_in_junit(
    api: Api, shared_worker: Path, writer: Writer, alternating_site: str
) -> None:
    token = await writer.token(Role.EDITOR)
    name = f"Passes on retry {uuid.uuid4().hex[:6]}"
    async with writer.team.sessions.begin() as session:
        case = await make_test_case(
            session,
            writer.team.project,
            name=name,
            proven_steps=welcome_steps(f"{alternating_site}/fail-first"),
        )

    run_id = await run_to_the_end(api, writer, token, [case.id], retryOnFailure=True, retryCount=1)

    found = await graphql(api, token, FLAKINESS, id=str(case.id))
    assert found["testCase"] == {"flakeRate": 100.0, "isFlaky": True}
    testcase = junit_case(await report(api, token, run_id, "junit"), name)
    assert testcase.find("failure") is None
    flaky_failures = testcase.findall("flakyFailure")
    assert len(flaky_failures) == 1
    assert "Welcome" in (flaky_failures[0].get("message") or "")
    trace = flaky_failures[0].find("stackTrace")
    assert trace is not None and "Attempt 1" in (trace.text or "")
