"""API checkpoints: a request sent from the page's browser context, its answer verified."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

from playwright.async_api import Error

from execution.steps import arguments
from execution.steps.assertions import checkpoint_name
from execution.steps.base import CheckpointOutcome
from execution.steps.element_properties import Check, compare, verification
from execution.steps.playwright_code import literal, number_code
from execution.steps.step import StepFailed, StepRun, explain

API_CHECKPOINT = "api"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# What of the response body the checkpoint keeps.
BODY_LIMIT = 2000
# Request headers whose values are never stored: they are credentials.
_SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-api-key"})
_MASKED = "********"
_MISSING = object()


def _headers(step: StepRun) -> dict[str, str]:
    given = step.arguments.get("headers")
    if given is None:
        return {}
    if not isinstance(given, Mapping) or not all(isinstance(v, str) for v in given.values()):
        raise StepFailed(f"`headers` must map header names to text, not {given!r}")
    return {str(name): value for name, value in given.items()}


def _expected_status(step: StepRun) -> int | None:
    status = arguments.optional_number(step.arguments, "expect_status")
    if status is not None and not (status.is_integer() and 100 <= status <= 599):
        raise StepFailed(f"`expect_status` must be an HTTP status from 100 to 599, not {status!r}")
    return None if status is None else int(status)


def _expected_json(step: StepRun) -> dict[str, Any]:
    given = step.arguments.get("expect_json")
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise StepFailed(
            f'`expect_json` must map paths to values, e.g. {{"user.name": "Ann"}}, not {given!r}'
        )
    return {str(path): value for path, value in given.items()}


def json_at(document: Any, path: str) -> Any:
    """The value at a dotted `path` ("user.name", "items.0.id"; "$." optional), or _MISSING."""
    value = document
    for part in path.removeprefix("$").removeprefix(".").split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _url(step: StepRun) -> str:
    given = arguments.text(step.arguments, "url").strip()
    url = urljoin(step.page.url, given)
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise StepFailed(
            f"Could not call {given}: only http and https URLs are called "
            f"(a relative URL needs a page at an http address, the page is at {step.page.url})"
        )
    return url


async def assert_api(step: StepRun) -> None:
    """Send `method` `url` with the page's cookies; check `expect_status` and `expect_json`."""
    method = (arguments.optional_text(step.arguments, "method") or "GET").strip().upper()
    if method not in METHODS:
        raise StepFailed(f"`method` must be one of {', '.join(METHODS)}, not '{method}'")
    url = _url(step)
    headers = _headers(step)
    body = step.arguments.get("body")
    status = _expected_status(step)
    paths = _expected_json(step)
    name = checkpoint_name(step, f"Check the API {method} {url}")
    step.playwright_code = _code(method, url, headers, body, status, paths)
    request = {
        "method": method,
        "url": url,
        "headers": {k: _MASKED if k.lower() in _SECRET_HEADERS else v for k, v in headers.items()},
        "body": body,
    }
    started = time.monotonic()
    try:
        response = await step.page.request.fetch(
            url,
            method=method,
            headers=headers or None,
            data=body,
            timeout=step.timeout_ms(),
            fail_on_status_code=False,
        )
        raw = await response.body()
    except Error as error:
        step.checkpoint = CheckpointOutcome(
            name=name,
            checkpoint_type=API_CHECKPOINT,
            passed=False,
            expected={"status": status, "json": paths},
            actual={"request": request, "error": explain(error, step.timeout_ms())},
        )
        raise StepFailed(f"Could not call {method} {url}: {explain(error)}") from None
    duration_ms = round((time.monotonic() - started) * 1000)
    text = raw.decode("utf-8", errors="replace")
    try:
        document: Any = json.loads(text) if text else _MISSING
    except ValueError:
        document = _MISSING
    verifications = []
    if status is not None:
        verifications.append(_verified(Check("status", "equals", status), response.status))
    for path, expected in paths.items():
        found = _MISSING if document is _MISSING else json_at(document, path)
        verifications.append(
            _verified(
                Check(f"json:{path}", "equals", expected), None if found is _MISSING else found
            )
        )
    failed = [v["property_name"] for v in verifications if not v["passed"]]
    step.checkpoint = CheckpointOutcome(
        name=name,
        checkpoint_type=API_CHECKPOINT,
        passed=not failed,
        expected={"status": status, "json": paths},
        actual={
            "request": request,
            "status": response.status,
            "status_text": response.status_text,
            "duration_ms": duration_ms,
            "content_type": response.headers.get("content-type"),
            "body": text if len(text) <= BODY_LIMIT else f"{text[: BODY_LIMIT - 1]}…",
        },
        property_verifications=verifications,
        failed_properties=failed,
    )
    if failed:
        listed = "; ".join(
            f"{v['property_name']} should be {v['expected_value']!r}, but it is "
            f"{v['actual_value']!r}"
            for v in verifications
            if not v["passed"]
        )
        raise StepFailed(f"{method} {url} answered {response.status}: {listed}")


def _verified(check: Check, actual: Any) -> dict[str, Any]:
    if isinstance(actual, Mapping | list):  # a whole object or array: equal as JSON
        passed = actual == check.expected
    else:
        passed = compare(check, actual)
    return verification(check, actual, passed=passed)


def _code(
    method: str,
    url: str,
    headers: dict[str, str],
    body: Any,
    status: int | None,
    paths: dict[str, Any],
) -> str:
    options = [f"method={literal(method)}"]
    if headers:
        options.append(f"headers={_python(headers)}")
    if body is not None:
        options.append(f"data={_python(body)}")
    lines = [f"response = await page.request.fetch({literal(url)}, {', '.join(options)})"]
    if status is not None:
        lines.append(f"assert response.status == {number_code(float(status))}")
    for path, expected in paths.items():
        keys = "".join(
            f"[{part}]" if part.isdigit() else f"[{literal(part)}]"
            for part in path.removeprefix("$").removeprefix(".").split(".")
        )
        lines.append(f"assert (await response.json()){keys} == {_python(expected)}")
    return "\n".join(lines)


def _python(value: Any) -> str:
    """`value` (a JSON value) as a Python literal."""
    return literal(value) if isinstance(value, str) else repr(value)
