"""Operations over WebSocket, with each subscription result computed once and shared.

A thousand dashboards following one run send the same document and variables: the
selection is executed and serialized once per event for all of them (authorization was
checked when each subscribed), and each connection only frames the shared JSON.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    Executor,
    FieldNode,
    GraphQLError,
    GraphQLSyntaxError,
    OperationType,
    create_source_event_stream,
    execute_subscription_event,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)

from resolvers.tokens import Principal
from schema import MAX_TOKENS, limit_rules, schema
from schema.context import Context
from schema.subscription import live_key

# Distinct documents whose parse and validation a process keeps.
DOCUMENTS_KEPT = 256
# Shared results kept: enough for every subscription group of the latest events.
RESULTS_KEPT = 4096


@dataclass(frozen=True, slots=True)
class OperationRequest:
    """What a client's `subscribe` message asks for."""

    query: str
    variables: dict[str, Any]
    operation_name: str | None


class OperationFailed(Exception):
    """The operation could not start; `errors` are the formatted GraphQL errors to send."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


class SharedResults:
    """Serialized results by (operation, value), each computed by its first asker."""

    def __init__(self, limit: int = RESULTS_KEPT) -> None:
        self.limit = limit
        self._results: OrderedDict[Hashable, asyncio.Future[str]] = OrderedDict()

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[str]]) -> str:
        """The result for `key`, computing it unless another asker did or does."""
        found = self._results.get(key)
        if found is not None and found.done() and not found.cancelled():
            if found.exception() is None:
                return found.result()
            found = None  # a failure is not shared with later askers
        if found is None:
            found = asyncio.ensure_future(compute())
            self._results[key] = found
            if len(self._results) > self.limit:
                self._results.popitem(last=False)
        # Shielded: the asker that started it may leave; the others still want it.
        return await asyncio.shield(found)


def serialize(result: ExecutionResult) -> str:
    """The `payload` of a `next` message: {data, errors?} as compact JSON."""
    if result.errors:
        schema.process_errors(list(result.errors))
    return json.dumps(result.formatted, separators=(",", ":"))


def formatted_errors(errors: list[GraphQLError]) -> list[dict[str, Any]]:
    """Errors coded as over HTTP, ready for an `error` message."""
    schema.process_errors(errors)
    return [dict(error.formatted) for error in errors]


@functools.lru_cache(maxsize=DOCUMENTS_KEPT)
def prepare(query: str) -> DocumentNode | tuple[GraphQLError, ...]:
    """The parsed document if it is valid, else its errors; cached per text."""
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLSyntaxError as error:
        return (error,)
    errors = validate(schema._schema, document, (*specified_rules, *limit_rules()))
    return tuple(errors) if errors else document


def subscription_field(request: OperationRequest) -> str | None:
    """The root field a valid subscription document asks for; None for anything else."""
    document = prepare(request.query)
    if isinstance(document, tuple):
        return None
    operation = get_operation_ast(document, request.operation_name)
    if operation is None or operation.operation != OperationType.SUBSCRIPTION:
        return None
    field = operation.selection_set.selections[0]
    return field.name.value if isinstance(field, FieldNode) else None


def operation_key(request: OperationRequest, caller: Principal | None) -> Hashable:
    """What an operation's results depend on: the document, the variables, the project.

    Authorization is scoped by project, so two callers of one project asking the same
    thing get the same results.
    """
    return (
        request.query,
        request.operation_name,
        json.dumps(request.variables, sort_keys=True, default=str),
        caller.project_id if caller else None,
    )


async def execute_operation(
    request: OperationRequest,
    *,
    new_context: Callable[[], Context],
    shared: SharedResults,
) -> AsyncIterator[str]:
    """The `next` payloads of an operation: one for a query or mutation, a stream otherwise.

    Raises OperationFailed, before yielding anything, when the operation cannot start:
    invalid document or variables, or a subscription its resolver refused (not found).
    """
    async for _, payload in keyed_results(request, new_context=new_context, shared=shared):
        yield payload


async def keyed_results(
    request: OperationRequest,
    *,
    new_context: Callable[[], Context],
    shared: SharedResults,
) -> AsyncIterator[tuple[Hashable | None, str]]:
    """`execute_operation`'s payloads, each with the `live_key` of the value it shows."""
    document = prepare(request.query)
    if isinstance(document, tuple):
        raise OperationFailed(formatted_errors(list(document)))
    context = new_context()
    executor = Executor.build(
        schema._schema,
        document,
        None,
        context,
        request.variables,
        request.operation_name,
    )
    if isinstance(executor, list):
        raise OperationFailed(formatted_errors(executor))
    if executor.operation.operation != OperationType.SUBSCRIPTION:
        result = await schema.execute(
            request.query,
            variable_values=request.variables,
            context_value=context,
            operation_name=request.operation_name,
        )
        yield None, serialize(ExecutionResult(result.data, result.errors))
        return
    stream = create_source_event_stream(executor)
    if isawaitable(stream):
        stream = await stream
    if isinstance(stream, ExecutionResult):
        raise OperationFailed(formatted_errors(list(stream.errors or [])))
    subscription = _Subscription(executor, request, context, new_context, shared)
    async for keyed in subscription.results(stream):
        yield keyed


class _Subscription:
    """One client's subscription: its source stream mapped through the shared results."""

    def __init__(
        self,
        executor: Executor[Context],
        request: OperationRequest,
        context: Context,
        new_context: Callable[[], Context],
        shared: SharedResults,
    ) -> None:
        self.executor = executor
        self.new_context = new_context
        self.shared = shared
        self.key = operation_key(request, context.caller)

    async def results(self, stream: Any) -> AsyncIterator[tuple[Hashable | None, str]]:
        started = False
        try:
            async for value in stream:
                started = True
                key = live_key(value)
                if key is None:
                    yield None, await self._execute(value)
                else:
                    compute = functools.partial(self._execute, value)
                    yield key, await self.shared.get((self.key, key), compute)
        except Exception as error:  # the resolver failed: say so, with its code
            errors = formatted_errors([self._located(error)])
            if not started:
                raise OperationFailed(errors) from error
            yield None, json.dumps({"errors": errors}, separators=(",", ":"))
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()

    async def _execute(self, value: object) -> str:
        """Run the selection on `value` with fresh loaders (the last event's are stale)."""
        executor = self.executor.build_per_event_executor(value)
        context = executor.context_value = self.new_context()
        try:
            result = execute_subscription_event(executor)
            if isawaitable(result):
                result = await result
        finally:
            await context.close()
        return serialize(result)

    def _located(self, error: Exception) -> GraphQLError:
        if isinstance(error, GraphQLError):
            return error
        field = self.executor.operation.selection_set.selections[0]
        name = (field.alias or field.name).value if isinstance(field, FieldNode) else None
        return GraphQLError(str(error), original_error=error, path=[name] if name else None)
