"""Subscriptions over a real socket against `testrun api`: replay, live events, snapshots."""

from __future__ import annotations

import uuid

import pytest
import websockets
from gql import Client, GraphQLRequest, gql
from gql.transport.exceptions import TransportQueryError
from sqlalchemy import update

from models.database import transaction
from models.runs import TestRun
from tests.execution.engine_harness import Team
from tests.factories import make_item, make_run, make_test_case
from tests.live.conftest import ALLOWED_ORIGIN, MAX_SUBSCRIPTIONS
from tests.live.harness import (
    CHANGES,
    EVENTS,
    UPDATES,
    Api,
    Writer,
    raw_socket,
    receive,
    send,
    subscribed,
    transport,
)


async def new_run(writer: Writer, items: int = 0) -> uuid.UUID:
    async with transaction(writer.team.sessions) as session:
        run = await make_run(session, writer.team.project, writer.team.user, status="running")
        for _ in range(items):
            await make_item(session, run, await make_test_case(session, writer.team.project))
    return run.id


def seqs(results: list[dict]) -> list[int]:
    return [result["testRunEvents"]["seq"] for result in results]


async def test_events_replay_the_log_then_follow_live_and_end_with_the_run(
    api: Api, writer: Writer
) -> None:
    run_id = await new_run(writer)
    for n in range(3):
        await writer.event(run_id, step=n)
    token = await writer.token()

    async with subscribed(api, token, EVENTS, runId=str(run_id), afterSeq=0) as received:
        await received.wait_for(lambda results: len(results) == 3)
        for n in range(3, 6):
            await writer.event(run_id, step=n)
        await writer.event(run_id, "run.completed", status="completed")
        await received.done.wait()

    assert received.error is None
    assert seqs(received.results) == [1, 2, 3, 4, 5, 6, 7]
    first, last = received.results[0]["testRunEvents"], received.results[-1]["testRunEvents"]
    assert first == {
        "runId": str(run_id),
        "seq": 1,
        "type": "step.completed",
        "payload": {"step": 0},
    }
    assert last["type"] == "run.completed"


async def test_a_client_reconnecting_with_after_seq_gets_exactly_what_it_missed(
    api: Api, writer: Writer
) -> None:
    run_id = await new_run(writer)
    token = await writer.token()
    async with subscribed(api, token, EVENTS, runId=str(run_id), afterSeq=0) as first:
        for n in range(4):
            await writer.event(run_id, step=n)
        await first.wait_for(lambda results: len(results) == 4)
    last_seen = seqs(first.results)[-1]

    for n in range(4, 9):  # while the client is away
        await writer.event(run_id, step=n)
    async with subscribed(api, token, EVENTS, runId=str(run_id), afterSeq=last_seen) as second:
        await second.wait_for(lambda results: len(results) == 5)
        await writer.event(run_id, step=9)
        await writer.event(run_id, "run.cancelled", status="cancelled")
        await second.done.wait()

    assert seqs(first.results) == [1, 2, 3, 4]
    assert seqs(second.results) == [5, 6, 7, 8, 9, 10, 11]


async def test_events_of_a_finished_run_are_replayed_and_the_subscription_completes(
    api: Api, writer: Writer
) -> None:
    run_id = await new_run(writer)
    await writer.event(run_id, step=1)
    await writer.event(run_id, "run.completed", status="completed")
    async with transaction(writer.team.sessions) as session:
        await session.execute(
            update(TestRun).where(TestRun.id == run_id).values(status="completed")
        )
    token = await writer.token()

    async with subscribed(api, token, EVENTS, runId=str(run_id), afterSeq=1) as received:
        await received.done.wait()

    assert seqs(received.results) == [2]


async def test_updates_send_the_whole_run_now_and_after_each_change(
    api: Api, writer: Writer
) -> None:
    run_id = await new_run(writer, items=2)
    token = await writer.token()

    async with subscribed(api, token, UPDATES, runId=str(run_id)) as received:
        await received.wait_for(lambda results: len(results) == 1)
        seq = await writer.event(run_id, "item.updated", status="running")
        await received.wait_for(lambda results: results[-1]["testRunUpdates"]["eventSeq"] == seq)

    first = received.results[0]["testRunUpdates"]
    assert first["id"] == str(run_id) and first["status"] == "RUNNING"
    assert len(first["items"]) == 2
    assert set(first["items"][0]) == {"id", "status", "currentStep", "totalSteps", "vncUrl"}
    assert [result["testRunUpdates"]["eventSeq"] for result in received.results] == [0, seq]


async def test_runs_changed_reports_each_change_of_the_projects_runs(
    api: Api, writer: Writer
) -> None:
    first_run, second_run = await new_run(writer), await new_run(writer)
    token = await writer.token()
    project_id = str(writer.team.project.id)

    async with subscribed(api, token, CHANGES, projectId=project_id) as received:
        # Subscribed once a change arrives: a probe event tells us when that is.
        while not received.results:
            await writer.event(first_run, "run.updated")
            try:
                await received.wait_for(lambda results: len(results) > 0, timeout=1)
            except TimeoutError:
                continue
        probes = len(received.results)
        await writer.event(second_run, "run.started", status="running")
        await received.wait_for(lambda results: len(results) == probes + 1)

    change = received.results[-1]["testRunsChanged"]
    assert change == {
        "runId": str(second_run),
        "seq": 1,
        "type": "run.started",
        "run": {"id": str(second_run), "status": "RUNNING"},
    }


async def test_another_projects_run_gives_an_error_and_no_data(api: Api, writer: Writer) -> None:
    run_id = await new_run(writer)
    other = await Team.create(writer.team.sessions)
    other_token = await Writer(other, writer.redis).token()

    async with Client(transport=transport(api, other_token)) as session:
        with pytest.raises(TransportQueryError) as raised:
            async for _ in session.subscribe(
                GraphQLRequest(EVENTS, variable_values={"runId": str(run_id), "afterSeq": 0})
            ):
                pytest.fail("received data of another project's run")
        with pytest.raises(TransportQueryError) as changes:
            async for _ in session.subscribe(
                GraphQLRequest(CHANGES, variable_values={"projectId": str(writer.team.project.id)})
            ):
                pytest.fail("received changes of another project")

    assert raised.value.errors[0]["extensions"]["code"] == "NOT_FOUND"
    assert str(run_id) in raised.value.errors[0]["message"]
    assert changes.value.errors[0]["extensions"]["code"] == "NOT_FOUND"
    assert raised.value.data is None


async def test_invalid_arguments_are_validation_errors(api: Api, writer: Writer) -> None:
    run_id = await new_run(writer)
    token = await writer.token()

    async with Client(transport=transport(api, token)) as session:
        with pytest.raises(TransportQueryError) as negative:
            async for _ in session.subscribe(
                GraphQLRequest(EVENTS, variable_values={"runId": str(run_id), "afterSeq": -1})
            ):
                pass
        with pytest.raises(TransportQueryError) as unknown:
            async for _ in session.subscribe(gql("subscription { testRunEvents { seq } }")):
                pass

    assert negative.value.errors[0]["extensions"]["code"] == "VALIDATION_ERROR"
    assert negative.value.errors[0]["extensions"]["fields"][0]["field"] == "afterSeq"
    assert unknown.value.errors[0]["extensions"]["code"] == "VALIDATION_ERROR"
    assert "runId" in unknown.value.errors[0]["message"]


async def test_queries_work_over_the_socket_too(api: Api, writer: Writer) -> None:
    token = await writer.token()

    async with Client(transport=transport(api, token)) as session:
        result = await session.execute(gql("{ me { project { id } } }"))

    assert result["me"]["project"]["id"] == str(writer.team.project.id)


@pytest.mark.parametrize(
    "payload", [{}, {"authorization": "Bearer trn_" + "x" * 43}, {"token": "nope"}]
)
async def test_a_missing_or_bad_token_closes_the_socket_with_4403(api: Api, payload: dict) -> None:
    socket = await raw_socket(api)
    await send(socket, {"type": "connection_init", "payload": payload})

    with pytest.raises(websockets.ConnectionClosed) as closed:
        await receive(socket)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_subscribing_before_connection_init_closes_with_4401(api: Api) -> None:
    socket = await raw_socket(api)
    await send(socket, {"id": "1", "type": "subscribe", "payload": {"query": "{ me { id } }"}})

    with pytest.raises(websockets.ConnectionClosed) as closed:
        await receive(socket)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_other_subprotocols_are_refused_with_4406(api: Api) -> None:
    socket = await websockets.connect(api.ws_url, subprotocols=["graphql-ws"])  # type: ignore[list-item]

    with pytest.raises(websockets.ConnectionClosed) as closed:
        await socket.recv()

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4406


async def test_subscriptions_per_connection_are_capped(api: Api, writer: Writer) -> None:
    run_id = await new_run(writer)
    token = await writer.token()
    socket = await raw_socket(api)
    await send(socket, {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    assert (await receive(socket))["type"] == "connection_ack"
    query = {"query": EVENTS, "variables": {"runId": str(run_id), "afterSeq": 0}}

    for n in range(MAX_SUBSCRIPTIONS + 1):
        await send(socket, {"id": str(n), "type": "subscribe", "payload": query})
    refused = await receive(socket)
    await send(socket, {"id": "0", "type": "complete"})
    await send(socket, {"id": "again", "type": "subscribe", "payload": query})
    await send(socket, {"type": "ping"})  # answered once the messages before it were handled
    assert (await receive(socket))["type"] == "pong"
    await writer.event(run_id, step=1)
    delivered = [await receive(socket) for _ in range(MAX_SUBSCRIPTIONS)]
    await socket.close()

    assert refused["id"] == str(MAX_SUBSCRIPTIONS) and refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "FORBIDDEN"
    assert str(MAX_SUBSCRIPTIONS) in refused["payload"][0]["message"]
    assert sorted(message["id"] for message in delivered) == ["1", "2", "again"]
    assert {message["payload"]["data"]["testRunEvents"]["seq"] for message in delivered} == {1}


async def test_browsers_from_origins_not_allowed_are_refused(api: Api, writer: Writer) -> None:
    token = await writer.token()

    with pytest.raises(websockets.InvalidStatus) as refused:
        await raw_socket(api, origin="http://evil.example")
    acks = []
    for origin in (ALLOWED_ORIGIN, api.http_url):  # listed, or the api's own (GraphiQL)
        allowed = await raw_socket(api, origin=origin)
        await send(allowed, {"type": "connection_init", "payload": {"token": token}})
        acks.append((await receive(allowed))["type"])
        await allowed.close()

    assert refused.value.response.status_code == 403
    assert acks == ["connection_ack", "connection_ack"]


async def test_a_second_connection_init_closes_with_4429(api: Api, writer: Writer) -> None:
    token = await writer.token()
    socket = await raw_socket(api)
    await send(socket, {"type": "connection_init", "payload": {"token": token}})
    assert (await receive(socket))["type"] == "connection_ack"
    await send(socket, {"type": "connection_init", "payload": {"token": token}})

    with pytest.raises(websockets.ConnectionClosed) as closed:
        await receive(socket)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        '{"type": "unknown"}',
        '{"id": "", "type": "subscribe", "payload": {"query": "{ me { id } }"}}',
        '{"id": "1", "type": "subscribe", "payload": {"variables": {}}}',
    ],
)
async def test_invalid_messages_close_with_4400(api: Api, writer: Writer, message: str) -> None:
    token = await writer.token()
    socket = await raw_socket(api)
    await send(socket, {"type": "connection_init", "payload": {"token": token}})
    assert (await receive(socket))["type"] == "connection_ack"
    await socket.send(message)

    with pytest.raises(websockets.ConnectionClosed) as closed:
        await receive(socket)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


async def test_a_duplicate_operation_id_closes_with_4409(api: Api, writer: Writer) -> None:
    run_id = await new_run(writer)
    token = await writer.token()
    socket = await raw_socket(api)
    await send(socket, {"type": "connection_init", "payload": {"token": token}})
    assert (await receive(socket))["type"] == "connection_ack"
    query = {"query": EVENTS, "variables": {"runId": str(run_id), "afterSeq": 0}}
    for _ in range(2):
        await send(socket, {"id": "same", "type": "subscribe", "payload": query})

    with pytest.raises(websockets.ConnectionClosed) as closed:
        await receive(socket)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4409
