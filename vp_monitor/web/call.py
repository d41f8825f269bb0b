"""One API call as a handler sees it: the caller, its validated input, the application.

Input is validated here, once, with the route's models: a query string or body that does not
fit is a 4xx before the handler runs.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from vp_monitor.accounts.principal import Principal
from vp_monitor.service.app import App
from vp_monitor.web.errors import ApiError, invalid
from vp_monitor.web.keys import VP_APP
from vp_monitor.web.routes import Route

MAX_JSON_DEPTH = 32  # deeper bodies are refused before they reach a model
Result = TypeVar("Result")


@dataclass
class Call:
    """What a handler gets: who calls, the validated query and body, the path's values."""

    request: web.Request
    app: App
    principal: Principal | None
    query: Any = None  # the route's query model, validated
    body: Any = None  # the route's body model, validated

    @property
    def scope(self):
        """The part of the fleet the caller may see (the whole of it for the supervision
        centre's roles)."""
        assert self.principal is not None, "public routes have no scope"
        return self.principal.scope

    @property
    def actor(self) -> str:
        """Who the audit trail records."""
        return self.principal.actor if self.principal else "anonymous"

    def path(self, name: str) -> str:
        """A path parameter, as given."""
        return self.request.match_info[name]

    async def in_registry(self, work: Callable[..., Result], *args: Any) -> Result:
        """`work(registry, *args)` in one transaction in the database pool, the audit trail
        naming the caller (App.in_registry names the application's actor)."""

        def run() -> Result:
            with self.app.registry(self.actor) as registry:
                return work(registry, *args)

        return await self.app.run_blocking(run)


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    return any(_is_list(arg) for arg in typing.get_args(annotation) if arg is not type(None))


def parse_query(request: web.Request, model: type[BaseModel]) -> BaseModel:
    """The query string validated by `model`: a repeated key fills a list field, a repeated
    key of a single-valued field is an error, an unknown key too (models forbid extras)."""
    data: dict[str, Any] = {}
    for key in dict.fromkeys(request.query.keys()):
        values = request.query.getall(key)
        field = model.model_fields.get(key)
        if field is not None and _is_list(field.annotation):
            data[key] = values
        elif len(values) > 1:
            raise ApiError(400, "web.repeated_parameter", field=key, name=key)
        else:
            data[key] = values[0]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc, "query") from None


async def parse_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    """The JSON body validated by `model`; the wrong content type, a body too large, malformed
    or too deeply nested JSON are each a 4xx naming what was wrong."""
    if request.content_type != "application/json":
        raise ApiError(415, "web.json_expected", content_type=request.content_type or "-")
    raw = await read_body(request, request.app[VP_APP].settings.web.max_body_bytes)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "web.not_utf8") from None
    if _depth(text) > MAX_JSON_DEPTH:
        raise ApiError(400, "web.json_too_deep", limit=MAX_JSON_DEPTH)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "web.malformed_json", reason=_json_reason(exc)) from None
    if not isinstance(data, dict):
        raise ApiError(400, "web.json_object_expected")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc, "body") from None


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, refused with 413 past `limit` bytes (whatever Content-Length says)."""
    if (request.content_length or 0) > limit:
        raise ApiError(413, "web.body_too_large", limit=limit)
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, "web.body_too_large", limit=limit) from None
    if len(raw) > limit:
        raise ApiError(413, "web.body_too_large", limit=limit)
    return raw


def _depth(text: str) -> int:
    """The deepest nesting of brackets outside strings (cheap, before parsing)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


_STRINGS = re.compile(r'"(?:\\.|[^"\\])*"')
_BRACKETS = re.compile(r"[\[\]{}]")


def _json_reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} (line {exc.lineno}, column {exc.colno})"
    return "too deeply nested"


__all__ = ["Call", "Route", "parse_body", "parse_query", "read_body"]
