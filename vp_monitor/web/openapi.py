"""The OpenAPI 3.1 document, generated from the route table and the very models the handlers
validate with (query, body) and answer with (response)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import TypeAdapter

from vp_monitor.web.errors import ErrorBody
from vp_monitor.web.routes import Route

REF = "#/components/schemas/{model}"
PATH_PARAMETER = re.compile(r"\{(\w+)(?::[^}]*)?\}")
ERROR_TEXT = {
    400: "Bad request: the message says what was wrong",
    401: "Sign-in required",
    403: "The caller's role does not allow this",
    404: "Unknown, or outside the caller's scope",
    409: "Conflicts with what is stored, or the camera gives no picture now",
    413: "Body too large",
    415: "Wrong content type",
    422: "Input refused: `field` names the first field at fault",
    503: "Database unreachable or request too long",
}


def openapi_document(routes: list[Route], version: str) -> dict[str, Any]:
    """The whole document for `routes`."""
    routes = [route for route in routes if route.documented]
    keyed = []
    for route in routes:
        parts = [("query", "validation", route.query), ("body", "validation", route.body)]
        if route.media_type == "application/json":
            parts.append(("response", "serialization", route.response))
        for part, mode, model in parts:
            if model is not None:
                keyed.append(((route.operation_id, part), mode, TypeAdapter(model)))
    keyed.append((("error", "response"), "serialization", TypeAdapter(ErrorBody)))
    generated, definitions = TypeAdapter.json_schemas(keyed, ref_template=REF)
    schemas = {key: schema for (key, _mode), schema in generated.items()}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        path = PATH_PARAMETER.sub(r"{\1}", route.path)
        paths.setdefault(path, {})[route.method.lower()] = _operation(route, schemas, definitions)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "vp-monitor",
            "version": version,
            "description": "Registry and health monitor for video-protection cameras.",
        },
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "vp_session"},
            },
        },
    }


def _operation(route: Route, schemas: dict, definitions: dict) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": list(route.tags),
        "parameters": _parameters(route, schemas, definitions),
        "responses": _responses(route, schemas),
    }
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schemas[(route.operation_id, "body")]}},
        }
    if not route.is_public:
        operation["security"] = [{"token": []}, {"session": []}]
        roles = ", ".join(sorted(route.roles))
        operation["description"] = f"Roles: {roles}."
    extra = dict(route.extra)
    links = extra.pop("links", None)  # a response's, not the operation's
    operation.update(extra)
    if links:
        operation["responses"][str(route.status)]["links"] = links
    return operation


def _parameters(route: Route, schemas: dict, definitions: dict) -> list[dict[str, Any]]:
    found = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in PATH_PARAMETER.findall(route.path)
    ]
    if route.query is not None:
        schema = _resolved(schemas[(route.operation_id, "query")], definitions)
        required = set(schema.get("required", ()))
        for name, prop in schema.get("properties", {}).items():
            parameter = {"name": name, "in": "query", "required": name in required}
            parameter["schema"] = prop
            if "description" in prop:
                parameter["description"] = prop["description"]
            found.append(parameter)
    return found


def _resolved(schema: dict, definitions: dict) -> dict:
    ref = schema.get("$ref")
    return definitions["$defs"][ref.rsplit("/", 1)[1]] if ref else schema


def _responses(route: Route, schemas: dict) -> dict[str, Any]:
    if route.response is None:
        success: dict[str, Any] = {"description": "Done"}
    elif route.media_type == "application/json":
        content = {"application/json": {"schema": schemas[(route.operation_id, "response")]}}
        success = {"description": "Success", "content": content}
    else:
        binary = {"type": "string", "contentMediaType": route.media_type}
        success = {"description": "Success", "content": {route.media_type: {"schema": binary}}}
    statuses = {400, 503, *route.errors}
    if not route.is_public:
        statuses |= {401, 403}
    if PATH_PARAMETER.search(route.path):
        statuses.add(404)
    if route.query is not None:
        statuses.add(422)
    if route.body is not None:  # 404: a body names objects (a site, a municipality)
        statuses |= {404, 413, 415, 422}
    error = {"application/json": {"schema": schemas[("error", "response")]}}
    responses = {str(route.status): success}
    for status in sorted(statuses):
        responses[str(status)] = {"description": ERROR_TEXT.get(status, "Error"), "content": error}
    return responses
