"""Domain errors as one line a user can act on, mapped in one place for every face."""

from __future__ import annotations

from pydantic import ValidationError


def problem(exc: Exception, database_url: str) -> str | None:
    """The message for an error caused by the input or the database (bad input: exit 2 on the
    command line, 4xx on the web); None for a bug, which must stay a traceback."""
    from sqlalchemy.exc import DBAPIError, IntegrityError

    from vp_monitor.config import ConfigError, describe_errors
    from vp_monitor.db import DatabaseError, database_problem
    from vp_monitor.registry.secrets import SecretKeyError
    from vp_monitor.registry.service import RegistryError, integrity_message

    if isinstance(exc, IntegrityError):
        return integrity_message(exc)
    if isinstance(exc, DBAPIError):  # the database failed while the command ran
        return str(database_problem(database_url, exc))
    if isinstance(exc, ValidationError):
        return describe_errors(exc, "input")
    if isinstance(exc, RegistryError | ConfigError | SecretKeyError | DatabaseError):
        return str(exc)
    return None
