"""A REST operation is declared once; the declaration serves it and documents it.

An `Operation` names its method, path, body, query and response models. Serving it
parses the path ids (a malformed id names nothing: 404), the query and the JSON body
(400 naming each field) before its handler runs, turns resolver errors into the spec's
error bodies, and the same declaration becomes its entry in /openapi.json.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from models.database import transaction
from resolvers.dispatch import RunDispatcher
from resolvers.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidState,
    NotFound,
    ResolverError,
    Unauthenticated,
    ValidationFailed,
)
from resolvers.tokens import Principal
from resolvers.validation import Input, parse, parse_json
from server.auth import request_reads, unauthenticated_response
from server.services import Services

BodyT = TypeVar("BodyT", bound=BaseModel)
QueryT = TypeVar("QueryT", bound=BaseModel)
Reply = BaseModel | Response

# Requests carry at most 5,000 rows of up to a few kilobytes each.
MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_INT = 2_147_483_647
# What each path parameter names (for "<what> not found: <id>") and its type.
PATH_PARAMETERS: dict[str, tuple[str, type[uuid.UUID] | type[int] | type[str]]] = {
    "run_id": ("Test run", uuid.UUID),
    "item_id": ("Test run item", uuid.UUID),
    "result_id": ("Test run result", uuid.UUID),
    "test_case_id": ("Test case", uuid.UUID),
    "schedule_id": ("Schedule", uuid.UUID),
    "step_number": ("Step result", int),
    "variable_name": ("Script variable", str),  # validated by the operation's resolver
}
STATUS_OF: dict[type[ResolverError], int] = {
    ValidationFailed: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    InvalidState: 422,
}


class NoBody(Input):
    """The operation takes no request body (an empty one or `{}`)."""


class NoQuery(Input):
    """The operation takes no query parameters."""


@dataclass(frozen=True, slots=True)
class Call(Generic[BodyT, QueryT]):
    """One parsed request: the caller, the path ids, the query and the body."""

    request: Request
    principal: Principal
    body: BodyT
    query: QueryT
    path: Mapping[str, uuid.UUID | int | str]

    @property
    def services(self) -> Services:
        """The process's clients."""
        services: Services = self.request.app.state.services
        return services

    @property
    def dispatcher(self) -> RunDispatcher:
        """Where started and stopped runs are handed to execution (after commit)."""
        return self.services.dispatcher

    def id(self, name: str) -> uuid.UUID:
        """The UUID path parameter `name`."""
        value = self.path[name]
        assert isinstance(value, uuid.UUID), name  # PATH_PARAMETERS types it
        return value

    def text(self, name: str) -> str:
        """The string path parameter `name`."""
        value = self.path[name]
        assert isinstance(value, str), name  # PATH_PARAMETERS types it
        return value

    def number(self, name: str) -> int:
        """The integer path parameter `name`."""
        value = self.path[name]
        assert isinstance(value, int), name  # PATH_PARAMETERS types it
        return value

    def reading(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A session for reads: the one the request was authenticated with."""
        reads = request_reads(self.request.scope)
        return nullcontext(reads) if reads is not None else self.services.read_sessions()

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction, committed at the end, then its after-commit effects."""
        reads = request_reads(self.request.scope)
        if reads is not None:
            await reads.close()  # its connection goes back before the write takes one
        async with transaction(self.services.session_factory) as session:
            yield session


Handler = Callable[[Call[BodyT, QueryT]], Awaitable[Reply]]


@dataclass(frozen=True)
class Operation(Generic[BodyT, QueryT]):
    """One method on one path: what it takes, what it answers, and its documentation.

    `response` None answers 204 without a body; `content` lists the media types of an
    operation that answers something other than JSON. `errors` are the error statuses
    it may answer besides 401; `repeat_status` is what a repeat with the same
    Idempotency-Key answers (the same body as the first time).
    """

    method: str
    path: str
    handler: Handler[BodyT, QueryT]
    summary: str
    tag: str
    body: type[BodyT]
    query: type[QueryT]
    response: type[BaseModel] | None
    status: int = 200
    errors: tuple[int, ...] = (404,)
    repeat_status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content: Mapping[str, str] = field(default_factory=dict)

    @property
    def operation_id(self) -> str:
        """The handler's name, which says what the operation does."""
        return self.handler.__name__

    @property
    def description(self) -> str:
        """The handler's docstring."""
        return (self.handler.__doc__ or self.summary).strip()


AnyOperation = Operation[Any, Any]


def error_response(error: ResolverError) -> Response:
    """The spec's error body for a resolver error."""
    if isinstance(error, Unauthenticated):
        return unauthenticated_response(error.message)
    content: dict[str, Any] = {"detail": error.message}
    if isinstance(error, ValidationFailed):
        content["errors"] = [
            {"field": item.field, "message": item.message} for item in error.fields
        ]
    return JSONResponse(content, status_code=STATUS_OF.get(type(error), 500))


def json_reply(body: BaseModel, status: int = 200) -> Response:
    """`body` serialized by its model (ISO 8601 times with zone), as `status`."""
    return Response(body.model_dump_json(), status_code=status, media_type="application/json")


def _path(request: Request) -> dict[str, uuid.UUID | int | str]:
    parsed: dict[str, uuid.UUID | int | str] = {}
    for name, raw in request.path_params.items():
        what, kind = PATH_PARAMETERS[name]
        try:
            value = kind(raw)
        except ValueError:
            raise NotFound.of(what, raw) from None
        if isinstance(value, int) and not 1 <= value <= MAX_INT:
            raise NotFound.of(what, raw)
        parsed[name] = value
    return parsed


_LIST_FIELDS: dict[type[BaseModel], frozenset[str]] = {}


def list_fields(model: type[BaseModel]) -> frozenset[str]:
    """The query fields that take several values, comma-separated or repeated."""
    if model not in _LIST_FIELDS:
        properties = model.model_json_schema()["properties"]
        _LIST_FIELDS[model] = frozenset(
            name
            for name, schema in properties.items()
            if schema.get("type") == "array"
            or any(branch.get("type") == "array" for branch in schema.get("anyOf", []))
        )
    return _LIST_FIELDS[model]


def _query(model: type[QueryT], params: QueryParams) -> QueryT:
    data: dict[str, Any] = {}
    errors = []
    for name in params:
        values = params.getlist(name)
        if name not in model.model_fields:
            errors.append(FieldError(name, "Unknown query parameter"))
        elif name in list_fields(model):
            data[name] = [part for value in values for part in value.split(",") if part]
        elif len(values) > 1:
            errors.append(FieldError(name, "Give it once"))
        else:
            data[name] = values[0]
    if errors:
        raise ValidationFailed(errors)
    return parse(model, data)


async def _body(model: type[BodyT], request: Request) -> BodyT:
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > MAX_BODY_BYTES:
            raise ValidationFailed.of("body", f"Is larger than {MAX_BODY_BYTES} bytes")
    document = bytes(chunks)
    if not document.strip():
        document = b"{}"
    return parse_json(model, document)


async def serve(operation: Operation[BodyT, QueryT], request: Request) -> Response:
    """Parse the request, run the handler, and answer its reply or the error's body."""
    principal = request.state.principal
    try:
        call = Call(
            request=request,
            principal=principal,
            path=_path(request),
            query=_query(operation.query, request.query_params),
            body=await _body(operation.body, request),
        )
        reply = await operation.handler(call)
    except ResolverError as error:
        return error_response(error)
    if isinstance(reply, Response):
        return reply
    return json_reply(reply, operation.status)


class PathOperations:
    """The ASGI app of one path: each method to its operation, any other one 405.

    One app per path, so that 405's `Allow` lists every method the path has.
    """

    def __init__(self, operations: Iterable[AnyOperation]) -> None:
        self.by_method = {operation.method: operation for operation in operations}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request with the operation of its method."""
        request = Request(scope, receive)
        operation = self.by_method.get(request.method)
        if operation is None:
            allowed = ", ".join(sorted(self.by_method))
            response: Response = JSONResponse(
                {"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": allowed}
            )
        else:
            response = await serve(operation, request)
        await response(scope, receive, send)


def _literal_first(path: str) -> tuple[int, ...]:
    return tuple(int(segment.startswith("{")) for segment in path.split("/"))


def routes(operations: Iterable[AnyOperation]) -> list[Route]:
    """One route per path, literal segments before parameters at the same place.

    `/schedules/pending` then comes before `/schedules/{schedule_id}`, as OpenAPI matches.
    """
    by_path: dict[str, list[AnyOperation]] = {}
    for operation in operations:
        by_path.setdefault(operation.path, []).append(operation)
    return [
        Route(path, PathOperations(by_path[path])) for path in sorted(by_path, key=_literal_first)
    ]
