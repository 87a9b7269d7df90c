"""Who may do what, for every operation the api has: generated from the schema and routes.

Two projects, A and B, each with one of everything. For every GraphQL query, mutation
and subscription (read from the schema) and every REST operation (read from the route
table), callers of A with each role check:
- naming B's things (its ids) is NOT_FOUND / 404 with no data, and B's things stay;
- a list or a lookup without ids answers none of B's ids;
- a viewer gets FORBIDDEN / 403 on every write;
- only an admin manages tokens, webhooks and script variables (by name, whoever adds one).

An operation's access follows from where it is (Query: read, Mutation: write; REST GET:
read) and its name. `ARGUMENTS` / `BODIES` give the values an operation needs besides
ids and defaults; a new operation that needs some and has none fails here, by name.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    get_named_type,
)
from graphql.pyutils import Undefined
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from execution.events import RedisEventBus
from models.enums import Role
from models.results import CheckpointResult, TestRunResult, TestStepResult
from models.script_variables import ScriptVariable
from models.tenancy import ApiToken, Project
from resolvers.run_feeds import LiveRuns
from resolvers.tokens import Principal, hash_token
from schema import schema
from schema.context import Context
from server.rest.api import OPERATIONS
from server.rest.operations import AnyOperation, NoBody
from server.services import Services
from server.settings import Settings
from server.websocket_operations import (
    OperationFailed,
    OperationRequest,
    SharedResults,
    execute_operation,
)
from tests.factories import (
    make_item,
    make_result,
    make_run,
    make_schedule,
    make_script,
    make_test_case,
)
from tests.fixtures.http import Caller, MakeCaller

GRAPHQL = schema._schema
ADMIN_ONLY = re.compile(r"api.?token|webhook|variable|dead.?letter", re.IGNORECASE)
NOW = "2030-01-01T00:00:00Z"


@dataclass(frozen=True)
class Ref:
    """A thing of the project under test, by kind: replaced by its id."""

    kind: str


RUN, ITEM, RESULT, CASE = Ref("run"), Ref("item"), Ref("result"), Ref("test_case")
SCRIPT, SCHEDULE, TOKEN, PROJECT = Ref("script"), Ref("schedule"), Ref("token"), Ref("project")
TENANT, VARIABLE, CHECKPOINT = Ref("tenant"), Ref("variable"), Ref("checkpoint")
# Operations that create what they name in the caller's own project (a PUT by name): another
# project's name is simply a new name here, not a foreign thing.
UPSERTS = {"set_script_variable", "setScriptVariable"}

# Values of the arguments an operation needs besides those with defaults; ids are Refs.
ARGUMENTS: dict[str, dict[str, Any]] = {
    "testCase": {"id": CASE},
    "testRunItem": {"id": ITEM},
    "testRun": {"id": RUN},
    "schedule": {"id": SCHEDULE},
    "testScript": {"id": SCRIPT},
    "testRunResult": {"id": RESULT},
    "testRunSummary": {"id": RUN},
    "testCaseHistory": {"testCaseId": CASE},
    "createTestCase": {"input": {"name": "Matrix case"}},
    "updateTestCase": {"id": CASE, "input": {"name": "Renamed"}},
    "deleteTestCase": {"id": CASE},
    "addTestRunItems": {"runId": RUN, "testCaseIds": [CASE]},
    "removeTestRunItem": {"id": ITEM},
    "reorderTestRunItems": {"runId": RUN, "itemIds": [ITEM]},
    "createTestRun": {"input": {"runName": "Matrix run", "testCaseIds": [CASE]}},
    "updateTestRun": {"id": RUN, "input": {"notes": "changed"}},
    "deleteTestRun": {"id": RUN},
    "startTestRun": {"id": RUN},
    "stopTestRun": {"id": RUN},
    "cancelTestRun": {"id": RUN},
    "rerunFailedItems": {"id": RUN},
    "createSchedule": {
        "input": {
            "scheduleName": "Matrix schedule",
            "scheduledDatetime": NOW,
            "testCaseIds": [CASE],
        }
    },
    "updateSchedule": {"id": SCHEDULE, "input": {"scheduleName": "Renamed"}},
    "deleteSchedule": {"id": SCHEDULE},
    "pauseSchedule": {"id": SCHEDULE},
    "resumeSchedule": {"id": SCHEDULE},
    "runScheduleNow": {"id": SCHEDULE},
    "createTestScript": {
        "input": {
            "name": "Matrix script",
            "scriptType": "PRE_EXECUTION",
            "language": "PYTHON",
            "code": "print(1)",
        }
    },
    "updateTestScript": {"id": SCRIPT, "input": {"name": "Renamed"}},
    "deleteTestScript": {"id": SCRIPT},
    "submitTestRunResult": {
        "input": {
            "testRunId": RUN,
            "testRunItemId": ITEM,
            "testCaseId": CASE,
            "status": "PASSED",
            "passedSteps": 0,
            "failedSteps": 0,
            "skippedSteps": 0,
            "passedCheckpoints": 0,
            "failedCheckpoints": 0,
            "retryAttempt": 1,
            "totalAccessibilityViolations": 0,
        }
    },
    "addStepResults": {
        "resultId": RESULT,
        "steps": [{"stepNumber": 2, "action": "wait", "status": "PASSED"}],
    },
    "addCheckpointResults": {
        "resultId": RESULT,
        "checkpoints": [{"checkpointName": "c", "checkpointType": "ELEMENT", "status": "PASSED"}],
    },
    "addConsoleLogs": {
        "resultId": RESULT,
        "logs": [{"logLevel": "INFO", "message": "m", "timestamp": NOW}],
    },
    "addNetworkLogs": {
        "resultId": RESULT,
        "logs": [{"url": "https://example.com/", "method": "GET", "timestamp": NOW}],
    },
    "addScriptResult": {
        "resultId": RESULT,
        "input": {
            "scriptName": "s",
            "scriptType": "PRE_EXECUTION",
            "status": "PASSED",
            "durationMs": 1,
            "isCritical": False,
        },
    },
    "createApiToken": {"role": "VIEWER", "name": "matrix"},
    "revokeApiToken": {"id": TOKEN},
    "setWebhook": {"url": "https://hooks.example/matrix"},
    "setScriptVariable": {"name": "MATRIX_NEW", "value": "v"},
    "deleteScriptVariable": {"name": VARIABLE},
    "acceptScreenshotBaseline": {"checkpointId": CHECKPOINT},
    "replayDeadLetter": {"id": "1700000000000-0"},
    "testRunUpdates": {"runId": RUN},
    "testRunEvents": {"runId": RUN, "afterSeq": 0},
    "testRunsChanged": {"projectId": PROJECT},
}
# Request bodies of the REST operations that take one; ids are Refs.
BODIES: dict[str, dict[str, Any]] = {
    "create_test_run": {"run_name": "Matrix run", "test_case_ids": [CASE]},
    "update_test_run": {"notes": "changed"},
    "delete_test_run": {},
    "start_test_run": {},
    "stop_test_run": {},
    "cancel_test_run": {},
    "add_test_run_items": {"test_case_ids": [CASE]},
    "reorder_test_run_items": {"item_ids": [ITEM]},
    "add_test_run_item": {"test_case_id": CASE},
    "update_test_run_item": {"execution_order": 1},
    "remove_test_run_item": {},
    "submit_test_run_result": {
        "test_run_id": RUN,
        "test_run_item_id": ITEM,
        "test_case_id": CASE,
        "status": "passed",
        "retry_attempt": 1,
    },
    "add_step_results": {"steps": [{"step_number": 2, "action": "wait", "status": "passed"}]},
    "add_step_result": {"step_number": 2, "action": "wait", "status": "passed"},
    "add_checkpoint_result": {
        "checkpoint_name": "c",
        "checkpoint_type": "element",
        "status": "passed",
    },
    "add_console_logs": {"logs": [{"log_level": "info", "message": "m", "timestamp": NOW}]},
    "add_network_logs": {
        "logs": [{"url": "https://example.com/", "method": "GET", "timestamp": NOW}]
    },
    "add_script_result": {
        "script_name": "s",
        "script_type": "pre_execution",
        "status": "passed",
        "duration_ms": 1,
        "is_critical": False,
    },
    "create_schedule": {
        "schedule_name": "Matrix schedule",
        "scheduled_datetime": NOW,
        "test_case_ids": [CASE],
    },
    "update_schedule": {"schedule_name": "Renamed"},
    "delete_schedule": {},
    "pause_schedule": {},
    "resume_schedule": {},
    "execute_run": {"run_id": RUN, "tenant_id": TENANT},
    "create_api_token": {"role": "viewer", "name": "matrix"},
    "revoke_api_token": {},
    "set_webhook": {"url": "https://hooks.example/matrix"},
    "remove_webhook": {},
    "set_script_variable": {"value": "v"},
    "delete_script_variable": {},
    "accept_screenshot_baseline": {},
}
PATH_REFS = {
    "run_id": RUN,
    "item_id": ITEM,
    "result_id": RESULT,
    "test_case_id": CASE,
    "schedule_id": SCHEDULE,
    "token_id": TOKEN,
    "variable_name": VARIABLE,
    "checkpoint_id": CHECKPOINT,
}


@dataclass
class Side:
    """One project: a caller of each role and one of each thing."""

    callers: dict[Role, Caller]
    ids: dict[str, str]

    def fill(self, value: Any) -> Any:
        """`value` with every Ref replaced by this project's id of that kind."""
        if isinstance(value, Ref):
            return self.ids[value.kind]
        if isinstance(value, dict):
            return {key: self.fill(each) for key, each in value.items()}
        if isinstance(value, list):
            return [self.fill(each) for each in value]
        return value


async def make_side(session: AsyncSession, make_caller: MakeCaller) -> Side:
    admin = await make_caller(role=Role.ADMIN)
    project = admin.project
    callers = {
        Role.ADMIN: admin,
        Role.EDITOR: await make_caller(role=Role.EDITOR, project=project),
        Role.VIEWER: await make_caller(role=Role.VIEWER, project=project),
    }
    case = await make_test_case(session, project)
    run = await make_run(session, project, admin.user, status="running", executor="client")
    item = await make_item(session, run, case)
    result = await make_result(session, item)
    session.add(
        TestStepResult(test_run_result_id=result.id, step_number=1, action="wait", status="passed")
    )
    script = await make_script(session, project)
    schedule = await make_schedule(session, project, admin.user, test_case_ids=[case.id])
    token = await session.scalar(
        select(ApiToken.id).where(ApiToken.token_hash == hash_token(admin.token))
    )
    row = await session.get(Project, project.id)
    assert row is not None
    row.webhook_url, row.webhook_secret = "https://hooks.example/b", "s" * 32
    variable = ScriptVariable(project_id=project.id, name=f"MATRIX_{project.id.hex[:8].upper()}")
    variable.value = "secret of this project"
    session.add(variable)
    checkpoint = CheckpointResult(
        test_run_result_id=result.id,
        checkpoint_name="matrix screenshot",
        checkpoint_type="screenshot",
        status="failed",
    )
    session.add(checkpoint)
    await session.flush()
    ids = {
        "run": run.id,
        "item": item.id,
        "result": result.id,
        "test_case": case.id,
        "script": script.id,
        "schedule": schedule.id,
        "token": token,
        "project": project.id,
        "tenant": project.tenant_id,
        "variable": variable.name,
        "checkpoint": checkpoint.id,
    }
    return Side(callers, {kind: str(value) for kind, value in ids.items()})


@dataclass
class World:
    mine: Side
    theirs: Side


@pytest.fixture
async def world(session: AsyncSession, make_caller: MakeCaller) -> World:
    return World(await make_side(session, make_caller), await make_side(session, make_caller))


def _fields(root: GraphQLObjectType | None) -> dict[str, GraphQLField]:
    return dict(root.fields) if root is not None else {}


QUERIES = _fields(GRAPHQL.query_type)
MUTATIONS = _fields(GRAPHQL.mutation_type)
SUBSCRIPTIONS = _fields(GRAPHQL.subscription_type)


def access_of(name: str, *, reads: bool) -> str:
    """admin (by name), else read or write by where the operation is."""
    if ADMIN_ONLY.search(name):
        return "admin"
    return "read" if reads else "write"


def _selection(kind: GraphQLOutputType, depth: int = 2) -> str:
    """Every scalar field (and, `depth` deep, object fields without required arguments)."""
    named = get_named_type(kind)
    if not isinstance(named, GraphQLObjectType):
        return ""
    parts = ["__typename"]
    for name, field in named.fields.items():
        if any(isinstance(arg.type, GraphQLNonNull) for arg in field.args.values()):
            continue
        inner = get_named_type(field.type)
        if isinstance(inner, GraphQLObjectType):
            if depth > 0:
                parts.append(f"{name} {_selection(field.type, depth - 1)}")
        else:
            parts.append(name)
    return "{ " + " ".join(parts) + " }"


def document(kind: str, name: str, field: GraphQLField, given: dict[str, Any]) -> str:
    """`kind Op($a: T!) { name(a: $a) { ... } }` for the arguments given."""
    used = {arg: field.args[arg] for arg in given}
    declared = ", ".join(f"${arg}: {spec.type}" for arg, spec in used.items())
    passed = ", ".join(f"{arg}: ${arg}" for arg in used)
    head = f"{kind} Op({declared})" if declared else kind
    call = f"{name}({passed})" if passed else name
    return f"{head} {{ {call} {_selection(field.type)} }}"


def arguments_of(name: str, field: GraphQLField) -> dict[str, Any]:
    """The operation's `ARGUMENTS`, checked to cover every argument it requires."""
    given = ARGUMENTS.get(name, {})
    missing = {
        arg
        for arg, spec in field.args.items()
        if isinstance(spec.type, GraphQLNonNull)
        and spec.default_value is Undefined
        and arg not in given
    }
    if missing:
        pytest.fail(f"{name} needs {sorted(missing)}: give them in ARGUMENTS of this test")
    return given


def names_any(value: Any) -> bool:
    """Whether `value` holds a Ref (the operation names things)."""
    if isinstance(value, Ref):
        return True
    if isinstance(value, dict):
        return any(names_any(each) for each in value.values())
    if isinstance(value, list):
        return any(names_any(each) for each in value)
    return False


async def post(
    client: httpx.AsyncClient, caller: Caller, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=caller.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors") or []]


def leaks(body: object, side: Side) -> list[str]:
    """B's ids found in a response."""
    text = json.dumps(body)
    return [kind for kind, id_ in side.ids.items() if kind != "tenant" and id_ in text]


async def theirs_intact(client: httpx.AsyncClient, world: World) -> None:
    """B's run, test case, schedule and token are all still there, unchanged in name."""
    owner = world.theirs.callers[Role.ADMIN]
    body = await post(
        client,
        owner,
        "query($r: UUID!, $c: UUID!, $s: UUID!) { testRun(id: $r) { status } "
        "testCase(id: $c) { name } schedule(id: $s) { scheduleName status } "
        "apiTokens { items { id state } } }",
        world.theirs.fill({"r": RUN, "c": CASE, "s": SCHEDULE}),
    )
    assert not body.get("errors"), body
    data = body["data"]
    assert data["testRun"]["status"] == "RUNNING"
    assert data["schedule"]["status"] == "ACTIVE"
    assert not data["schedule"]["scheduleName"].startswith("Renamed")
    assert data["testCase"]["name"] != "Renamed"
    assert all(item["state"] == "active" for item in data["apiTokens"]["items"])


def test_every_operation_is_covered() -> None:
    """Each operation either needs nothing but ids and defaults, or has its ARGUMENTS/BODIES."""
    for name, field in {**QUERIES, **MUTATIONS, **SUBSCRIPTIONS}.items():
        arguments_of(name, field)
    for operation in OPERATIONS:
        if operation.body is not NoBody:
            assert operation.operation_id in BODIES, (
                f"{operation.method} {operation.path} takes a body: give one in BODIES"
            )
    stale = set(ARGUMENTS) - {*QUERIES, *MUTATIONS, *SUBSCRIPTIONS}
    assert not stale, f"ARGUMENTS of operations that no longer exist: {sorted(stale)}"
    stale_bodies = set(BODIES) - {operation.operation_id for operation in OPERATIONS}
    assert not stale_bodies, f"BODIES of operations that no longer exist: {sorted(stale_bodies)}"


@pytest.mark.parametrize("name", sorted({*QUERIES, *MUTATIONS}))
async def test_graphql_operation(client: httpx.AsyncClient, world: World, name: str) -> None:
    reads = name in QUERIES
    field = QUERIES[name] if reads else MUTATIONS[name]
    given = arguments_of(name, field)
    access = access_of(name, reads=reads)
    query = document("query" if reads else "mutation", name, field, given)
    mine, theirs = world.mine, world.theirs

    if names_any(given):
        # Another project's things: NOT_FOUND and no data, whatever the role may do.
        allowed = [Role.ADMIN] if access == "admin" else list(Role)
        for role in allowed:
            if access == "write" and role is Role.VIEWER:
                continue
            body = await post(client, mine.callers[role], query, theirs.fill(given))
            assert codes(body) == ["NOT_FOUND"], (role, body)
            assert body.get("data") is None, (role, body)
        await theirs_intact(client, world)
    if access in ("write", "admin"):
        body = await post(client, mine.callers[Role.VIEWER], query, mine.fill(given))
        assert codes(body) == ["FORBIDDEN"], body
        assert body.get("data") is None
    if access == "admin":
        body = await post(client, mine.callers[Role.EDITOR], query, mine.fill(given))
        assert codes(body) == ["FORBIDDEN"], body
    if access == "read":
        reader = mine.callers[Role.ADMIN if ADMIN_ONLY.search(name) else Role.VIEWER]
        body = await post(client, reader, query, mine.fill(given))
        assert not body.get("errors"), body
        assert leaks(body["data"], theirs) == [], body


def _rest_path(operation: AnyOperation, side: Side) -> str:
    path = operation.path
    for parameter, ref in PATH_REFS.items():
        path = path.replace("{" + parameter + "}", side.ids[ref.kind])
    return path.replace("{step_number}", "1")


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.operation_id)
async def test_rest_operation(
    client: httpx.AsyncClient, world: World, operation: AnyOperation
) -> None:
    mine, theirs = world.mine, world.theirs
    access = access_of(operation.path, reads=operation.method == "GET")
    body = BODIES.get(operation.operation_id)

    async def call(caller: Caller, side: Side) -> httpx.Response:
        return await client.request(
            operation.method,
            _rest_path(operation, side),
            json=None if body is None else side.fill(body),
            headers=caller.headers,
        )

    if ("{" in operation.path or names_any(body)) and operation.operation_id not in UPSERTS:
        allowed = [Role.ADMIN] if access == "admin" else list(Role)
        for role in allowed:
            if access == "write" and role is Role.VIEWER:
                continue
            response = await call(mine.callers[role], theirs)
            assert response.status_code == 404, (role, response.text)
            assert set(response.json()) == {"detail"}, response.text
        await theirs_intact(client, world)
    if access in ("write", "admin"):
        response = await call(mine.callers[Role.VIEWER], mine)
        assert response.status_code == 403, response.text
    if access == "admin":
        response = await call(mine.callers[Role.EDITOR], mine)
        assert response.status_code == 403, response.text
    if access == "read":
        admin_read = access_of(operation.path, reads=False) == "admin"
        reader = mine.callers[Role.ADMIN if admin_read else Role.VIEWER]
        response = await call(reader, mine)
        assert response.status_code == 200, response.text
        assert leaks(response.text, theirs) == [], response.text


@pytest.mark.parametrize("name", sorted(SUBSCRIPTIONS))
async def test_subscription(
    world: World,
    services: Services,
    session_factory: async_sessionmaker[AsyncSession],
    redis_url: str,
    name: str,
) -> None:
    field = SUBSCRIPTIONS[name]
    given = arguments_of(name, field)
    query = document("subscription", name, field, given)
    bus = RedisEventBus(redis_url)
    live = LiveRuns(session_factory, bus)

    def context_of(caller: Caller) -> Callable[[], Context]:
        principal = Principal(
            token_id=uuid.uuid4(),
            user_id=caller.user.id,
            project_id=caller.project.id,
            tenant_id=caller.project.tenant_id,
            role=caller.role,
        )
        return lambda: Context(
            session_factory=session_factory,
            caller=principal,
            dispatcher=services.dispatcher,
            live=live,
        )

    try:
        for role in Role:
            request = OperationRequest(query, world.theirs.fill(given), None)
            stream = execute_operation(
                request, new_context=context_of(world.mine.callers[role]), shared=SharedResults()
            )
            with pytest.raises(OperationFailed) as refused:
                # A subscription that started would wait for events: bound it.
                await asyncio.wait_for(anext(aiter(stream)), 10)
            assert [error["extensions"]["code"] for error in refused.value.errors] == [
                "NOT_FOUND"
            ], refused.value.errors
    finally:
        await bus.aclose()


# Every GraphQL field that answers a link; a new one must be signed and checked here.
URL_FIELDS = {
    ("StepResult", "screenshotUrl"),
    ("CheckpointResult", "baselineScreenshotUrl"),
    ("CheckpointResult", "actualScreenshotUrl"),
    ("CheckpointResult", "diffScreenshotUrl"),
    ("TestRunResult", "errorScreenshotUrl"),
    ("TestRunResult", "videoUrl"),
    ("TestRunResult", "traceUrl"),
    ("TestRunItem", "errorScreenshotUrl"),
    ("TestRunItem", "vncUrl"),
    ("CapturedDownload", "downloadUrl"),
}
# Fields named like links that are not ours to sign: addresses on the site under test.
PAGE_ADDRESSES = {
    ("TestRunResult", "initialUrl"),
    ("TestRunResult", "finalUrl"),
    ("CapturedDownload", "sourceUrl"),
}


def test_every_link_field_is_known() -> None:
    found = {
        (type_.name, name)
        for type_ in GRAPHQL.type_map.values()
        if isinstance(type_, GraphQLObjectType) and not type_.name.startswith("__")
        for name in type_.fields
        if name.endswith("Url")
    }
    assert found == URL_FIELDS | PAGE_ADDRESSES


async def test_a_link_opens_its_own_projects_file_only(
    client: httpx.AsyncClient, session: AsyncSession, world: World, settings: Settings
) -> None:
    paths = {}
    for side in (world.mine, world.theirs):
        folder = f"{side.ids['run']}/{side.ids['item']}/{side.ids['result']}"
        file = settings.artifacts_dir / folder / "video.webm"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(side.ids["project"].encode())
        result = await session.get(TestRunResult, uuid.UUID(side.ids["result"]))
        assert result is not None
        result.video_path = paths[side.ids["project"]] = f"{folder}/video.webm"
    await session.flush()
    query = "query($id: UUID!) { testRunResult(id: $id) { videoUrl } }"

    for role in Role:
        body = await post(client, world.mine.callers[role], query, world.mine.fill({"id": RESULT}))
        mine = body["data"]["testRunResult"]["videoUrl"]
        theirs_path = paths[world.theirs.ids["project"]]
        swapped = mine.replace(paths[world.mine.ids["project"]], theirs_path)

        assert (await client.get(mine)).content == world.mine.ids["project"].encode()
        assert (await client.get(swapped)).status_code == 403
