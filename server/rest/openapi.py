"""The OpenAPI 3.1 document of the REST operations, built from their pydantic models."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from server.rest.operations import PATH_PARAMETERS, AnyOperation, NoBody, NoQuery, list_fields

REFS = "#/components/schemas/{model}"
ERROR_MEANINGS = {
    400: "Validation error: `errors` names each invalid field.",
    401: "Missing, malformed, unknown, revoked or expired bearer token.",
    403: "The token's role may not do this (a viewer token writing).",
    404: "Not found (also another project's id): `detail` names the id.",
    409: "Conflict: it would duplicate something unique.",
    422: "Invalid state: `detail` names the current status.",
}


class FieldErrorBody(BaseModel):
    """One invalid input field and why."""

    field: str = Field(description="snake_case path of the field, e.g. `steps.2.status`.")
    message: str


class ErrorBody(BaseModel):
    """Every error but a validation error."""

    detail: str = Field(description="E.g. `Test run not found: <id>`.")


class ValidationErrorBody(BaseModel):
    """A validation error (400)."""

    detail: Literal["Validation error"]
    errors: list[FieldErrorBody]


def _models(operations: Sequence[AnyOperation]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {
        (ErrorBody, "serialization"): None,
        (ValidationErrorBody, "serialization"): None,
    }
    for operation in operations:
        if operation.body is not NoBody:
            wanted[(operation.body, "validation")] = None
        if operation.query is not NoQuery:
            wanted[(operation.query, "validation")] = None
        if operation.response is not None:
            wanted[(operation.response, "serialization")] = None
    return list(wanted)


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is left out rather than null: drop the null branch of `anyOf`."""
    branches = [branch for branch in schema.get("anyOf", []) if branch.get("type") != "null"]
    if not branches:
        return schema
    rest = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
    return {**rest, **branches[0]} if len(branches) == 1 else {**rest, "anyOf": branches}


def _path_parameters(path: str) -> list[dict[str, Any]]:
    parameters = []
    for name, (what, kind) in PATH_PARAMETERS.items():
        if "{" + name + "}" in path:
            schema: dict[str, Any] = {"type": "string", "format": "uuid"}
            description = f"Id of the {what.lower()}."
            if kind is int:
                schema = {"type": "integer", "minimum": 1, "maximum": 2_147_483_647}
            elif kind is str:
                schema = {"type": "string", "minLength": 1, "maxLength": 255}
                description = f"Name of the {what.lower()}."
            parameters.append(
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": schema,
                    "description": description,
                }
            )
    return parameters


def _query_parameters(
    operation: AnyOperation, refs: dict[Any, Any], components: dict[str, Any]
) -> list[dict[str, Any]]:
    if operation.query is NoQuery:
        return []
    name = refs[(operation.query, "validation")]["$ref"].rsplit("/", 1)[1]
    schema = components[name]
    required = set(schema.get("required", []))
    arrays = list_fields(operation.query)
    parameters = []
    for name, field in schema["properties"].items():
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": _without_null(field),
        }
        if description := operation.query.model_fields[name].description:
            parameter["description"] = description
        if name in arrays:
            parameter |= {"style": "form", "explode": False}
        parameters.append(parameter)
    return parameters


def _responses(operation: AnyOperation, refs: dict[Any, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if operation.content:
        responses[str(operation.status)] = {
            "description": "The document.",
            "content": {kind: {"schema": {"type": "string"}} for kind in operation.content},
        }
    elif operation.response is None:
        responses[str(operation.status)] = {"description": "Done; no content."}
    else:
        schema = refs[(operation.response, "serialization")]
        responses[str(operation.status)] = {
            "description": operation.response.__doc__ or "OK",
            "content": {"application/json": {"schema": schema}},
        }
        if operation.repeat_status is not None:
            responses[str(operation.repeat_status)] = {
                "description": "A repeat with the same Idempotency-Key: what it created first.",
                "content": {"application/json": {"schema": schema}},
            }
    for status in sorted({*operation.errors, 401}):
        model = ValidationErrorBody if status == 400 else ErrorBody
        responses[str(status)] = {
            "description": ERROR_MEANINGS[status],
            "content": {"application/json": {"schema": refs[(model, "serialization")]}},
        }
    return responses


def _entry(
    operation: AnyOperation, refs: dict[Any, Any], components: dict[str, Any]
) -> dict[str, Any]:
    parameters = _path_parameters(operation.path) + _query_parameters(operation, refs, components)
    parameters += [
        {"name": name, "in": "header", "required": False, "schema": {"type": "string"},
         "description": description}
        for name, description in operation.headers.items()
    ]  # fmt: skip
    entry: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "description": operation.description,
        "tags": [operation.tag],
        "parameters": parameters,
        "responses": _responses(operation, refs),
    }
    if operation.body is not NoBody:
        entry["requestBody"] = {
            "required": any(f.is_required() for f in operation.body.model_fields.values()),
            "content": {"application/json": {"schema": refs[(operation.body, "validation")]}},
        }
    return entry


def openapi_document(
    operations: Iterable[AnyOperation], *, title: str, version: str, description: str
) -> dict[str, Any]:
    """The OpenAPI document of `operations`, every schema derived from their models."""
    operations = list(operations)
    refs, definitions = models_json_schema(_models(operations), ref_template=REFS)
    components: dict[str, Any] = definitions.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        entry = _entry(operation, refs, components)
        paths.setdefault(operation.path, {})[operation.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearerAuth": []}],
    }
