"""Errors as the API answers them: `{"error": "...", "field": "..."}` and a 4xx status.

Every face maps domain errors in one place (service/errors.py); this module only chooses the
HTTP status and renders the message in the caller's language.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from vp_monitor.redaction import validation_problems
from vp_monitor.texts import Message, Texts


class ErrorBody(BaseModel):
    """What every error response holds."""

    error: str  # a sentence a person can act on
    field: str | None = None  # the input field at fault, when there is one


class ApiError(Exception):
    """An answer other than success, with a catalogue message."""

    def __init__(
        self, status: int, key: str | Message, field: str | None = None,
        headers: dict[str, str] | None = None, **values: Any,
    ):  # fmt: skip
        self.status, self.headers = status, headers or {}
        self.message = key if isinstance(key, Message) else Message(key, **values)
        self.field = field
        super().__init__(self.message.key)

    def body(self, texts: Texts) -> dict[str, Any]:
        return ErrorBody(error=self.message.render(texts), field=self.field).model_dump()


STATUS_OF_KIND = {"not_found": 404, "conflict": 409, "unavailable": 503, "invalid": 422}


def from_exception(exc: Exception, database_url: str, sealed: bool = False) -> ApiError | None:
    """The API's answer for an error caused by the input or the data; None for a bug. For a
    `sealed` caller (a municipality's or a maintainer's) "not found" names nothing: another
    tenant's object answers as a missing one, and nothing of it is said back."""
    from vp_monitor.service.errors import problem, problem_kind

    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ValidationError):
        return invalid(exc)
    found = problem(exc, database_url)
    if found is None:
        return None
    message = found if isinstance(found, Message) else found.message
    field = (getattr(exc, "fields", None) or (None,))[0]
    kind = problem_kind(exc)
    if sealed and kind == "not_found":
        return ApiError(404, "web.not_found")
    return ApiError(STATUS_OF_KIND[kind], message, field)


def invalid(error: ValidationError, origin: str = "input") -> ApiError:
    """422 naming the first bad field (the others follow in the message)."""
    from vp_monitor.config import describe_errors

    problems = validation_problems(error)
    field = problems[0].field if problems else None
    return ApiError(422, describe_errors(error, Message(origin)), field)
