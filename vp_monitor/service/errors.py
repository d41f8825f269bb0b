"""Domain errors as one line a user can act on, mapped in one place for every face."""

from __future__ import annotations

from pydantic import ValidationError

from vp_monitor.texts import Message, MessageError


def problem(exc: Exception, database_url: str) -> Message | MessageError | None:
    """The message for an error caused by the input or the database (bad input: exit 2 on the
    command line, 4xx on the web), which each face renders in its language (`str()`: English);
    None for a bug, which must stay a traceback."""
    from sqlalchemy.exc import DBAPIError, IntegrityError

    from vp_monitor.config import ConfigError, describe_errors
    from vp_monitor.db import DatabaseError, database_problem
    from vp_monitor.registry.secrets import SecretKeyError
    from vp_monitor.registry.service import RegistryError, integrity_message

    if isinstance(exc, IntegrityError):
        return integrity_message(exc)
    if isinstance(exc, DBAPIError):  # the database failed while the command ran
        return database_problem(database_url, exc)
    if isinstance(exc, ValidationError):
        return describe_errors(exc, Message("input"))
    if isinstance(exc, RegistryError | ConfigError | SecretKeyError | DatabaseError):
        return exc
    return None


def problem_kind(exc: Exception) -> str:
    """What kind of problem `problem` found: "not_found", "conflict" (with what is stored),
    "unavailable" (the database failed) or "invalid" (the input, a value the database
    refuses included); the web chooses a status from it."""
    from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

    from vp_monitor.registry.service import Conflict, NotFound

    if isinstance(exc, NotFound):
        return "not_found"
    if isinstance(exc, IntegrityError | Conflict):
        return "conflict"
    if isinstance(exc, DataError):  # a value the database cannot store: the input's fault
        return "invalid"
    if isinstance(exc, DBAPIError):
        return "unavailable"
    return "invalid"
