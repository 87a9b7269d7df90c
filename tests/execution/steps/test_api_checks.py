"""assert_api: a request from the page's context (its cookies apply), verified and stored."""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator

import pytest
from playwright.async_api import Page

from tests.execution.engine_harness import serve_handler
from tests.execution.steps.conftest import Run


class Api(http.server.BaseHTTPRequestHandler):
    """/start sets a session cookie; /api/me answers only with it; /api/echo echoes."""

    def _send(self, status: int, body: object, *headers: tuple[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/start":
            page = b"<!doctype html><title>Start</title><p>Signed in</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Set-Cookie", "session=ann-42; Path=/")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
        elif self.path == "/api/me":
            if "session=ann-42" in (self.headers.get("Cookie") or ""):
                self._send(200, {"user": {"name": "Ann", "roles": ["editor"]}, "count": 3})
            else:
                self._send(401, {"error": "no session"})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        sent = json.loads(self.rfile.read(length) or b"null")
        self._send(201, {"received": sent, "token": self.headers.get("Authorization")})

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    with serve_handler(Api) as url:
        yield url


async def test_a_get_with_the_pages_cookie_passes_and_stores_the_exchange(
    page: Page, api: str, run: Run
) -> None:
    await page.goto(f"{api}/start")

    outcome = await run(
        action="assert_api",
        url="/api/me",
        expect_status=200,
        expect_json={"user.name": "Ann", "user.roles.0": "editor", "count": 3},
    )

    assert outcome.status == "passed", outcome.error
    checkpoint = outcome.checkpoint
    assert checkpoint is not None
    assert checkpoint.checkpoint_type == "api"
    assert checkpoint.profile == "functional"
    assert checkpoint.actual["request"] == {
        "method": "GET",
        "url": f"{api}/api/me",
        "headers": {},
        "body": None,
    }
    assert checkpoint.actual["status"] == 200
    assert isinstance(checkpoint.actual["duration_ms"], int)
    assert json.loads(checkpoint.actual["body"])["user"]["name"] == "Ann"
    assert checkpoint.failed_properties == []
    assert [
        (v["property_name"], v["actual_value"], v["passed"])
        for v in checkpoint.property_verifications or []
    ] == [
        ("status", 200, True),
        ("json:user.name", "Ann", True),
        ("json:user.roles.0", "editor", True),
        ("json:count", 3, True),
    ]
    assert outcome.playwright_code.splitlines() == [
        f'response = await page.request.fetch("{api}/api/me", method="GET")',
        "assert response.status == 200",
        'assert (await response.json())["user"]["name"] == "Ann"',
        'assert (await response.json())["user"]["roles"][0] == "editor"',
        'assert (await response.json())["count"] == 3',
    ]


async def test_without_the_cookie_the_status_and_values_fail_by_name(
    page: Page, api: str, run: Run
) -> None:
    await page.goto(f"{api}/nothing")

    outcome = await run(
        action="assert_api", url="/api/me", expect_status=200, expect_json={"user.name": "Ann"}
    )

    assert outcome.status == "failed"
    assert outcome.error == (
        f"GET {api}/api/me answered 401: status should be 200, but it is 401; "
        "json:user.name should be 'Ann', but it is None"
    )
    assert outcome.checkpoint is not None
    assert outcome.checkpoint.failed_properties == ["status", "json:user.name"]


async def test_a_post_sends_headers_and_body_and_keeps_credentials_out(
    page: Page, api: str, run: Run
) -> None:
    await page.goto(f"{api}/start")

    outcome = await run(
        action="assert_api",
        method="post",
        url=f"{api}/api/items",
        headers={"Authorization": "Bearer s3cret"},
        body={"name": "Widget"},
        expect_status=201,
        expect_json={"received.name": "Widget", "token": "Bearer s3cret"},
    )

    assert outcome.status == "passed", outcome.error
    assert outcome.checkpoint is not None
    request = outcome.checkpoint.actual["request"]
    assert request["method"] == "POST"
    assert request["headers"] == {"Authorization": "********"}
    assert request["body"] == {"name": "Widget"}


async def test_wrong_arguments_and_unreachable_hosts_fail_the_step(
    page: Page, api: str, run: Run
) -> None:
    await page.goto(f"{api}/start")
    cases = {
        "`method` must be one of": {"method": "FETCH", "url": "/api/me"},
        "`expect_status` must be an HTTP status": {"url": "/api/me", "expect_status": 42},
        "`expect_json` must map paths to values": {"url": "/api/me", "expect_json": [1]},
        "`headers` must map header names to text": {"url": "/api/me", "headers": {"X": 1}},
        "assert_api needs `url`": {},
        "Could not call file:///etc/passwd: only http and https": {"url": "file:///etc/passwd"},
        "Could not call GET http://127.0.0.1:9/x:": {"url": "http://127.0.0.1:9/x"},
    }
    for message, arguments in cases.items():
        outcome = await run(action="assert_api", **arguments)

        assert outcome.status == "failed"
        assert outcome.error is not None
        assert outcome.error.startswith(message), outcome.error
