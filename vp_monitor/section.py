"""The one base of every settings section: strict (unknown keys are errors) and frozen.

A leaf module (pydantic only) so that each subsystem's settings, vision's included, can be
imported without the configuration loader or any implementation.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Base of every configuration section: unknown keys are errors; loaded, never changed."""

    model_config = ConfigDict(extra="forbid", frozen=True)
