"""What the evaluator hands to the alerting stage: a camera's confirmed state after a check.

The only module of monitor/ that alerts/ imports (an import contract, pyproject.toml): alerting
keeps the state it is handed on the incident instead of reading the monitor's tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class CameraChange:
    """A camera's confirmed state after one evaluated check (emitted for every check)."""

    camera_id: int
    at: datetime
    state: str  # unknown | ok | degraded | down | maintenance | decommissioned
    previous_state: str
    conditions: frozenset[str]  # confirmed conditions now
    opened: frozenset[str] = frozenset()  # newly confirmed since the previous check
    cleared: frozenset[str] = frozenset()  # confirmed before, gone now
    flapping: bool = False  # more than K transitions in the flapping window
    in_maintenance: bool = False  # inside a maintenance window: silenced, still shown
    confirming: bool = False  # a condition seen or gone, not yet confirmed: check again soon
    metrics: dict[str, float] = field(default_factory=dict)
    evidence_jpeg: bytes | None = None

    def event_payload(self) -> dict[str, object]:
        """What a live client is told of the change (`camera.state`): plain values only."""
        return {"state": self.state, "previous_state": self.previous_state,
                "conditions": sorted(self.conditions), "opened": sorted(self.opened),
                "cleared": sorted(self.cleared), "is_flapping": self.flapping,
                "in_maintenance": self.in_maintenance}  # fmt: skip

    @property
    def changed(self) -> bool:
        """Whether anything an operator should hear about changed."""
        return bool(self.opened or self.cleared) or self.state != self.previous_state
