"""The one base of every settings section: strict (unknown keys are errors) and frozen.

A leaf module (pydantic only) so that each subsystem's settings, vision's included, can be
imported without the configuration loader or any implementation.
"""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic_core import PydanticCustomError


class Section(BaseModel):
    """Base of every configuration section: unknown keys are errors; loaded, never changed."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        # A pydantic error type of its own, which error messages translate (see texts.py).
        raise PydanticCustomError(
            "time_zone", "unknown time zone '{zone}'", {"zone": value}
        ) from exc
    return value


# An IANA time zone name, checked when the settings load rather than at the first date shown.
TimeZoneName = Annotated[str, AfterValidator(_known_zone)]
