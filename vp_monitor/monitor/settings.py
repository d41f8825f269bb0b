"""Monitoring settings (`[monitor]` in the TOML): schedule, concurrency, hysteresis, retention."""

from __future__ import annotations

import os
import socket

from pydantic import Field

from vp_monitor.probes.tiers import TIERS
from vp_monitor.section import Section


class TierIntervals(Section):
    """Seconds between two checks of one camera, per tier."""

    reachability: float = Field(
        default=60.0, ge=1, description="ONVIF clock + RTSP DESCRIBE: is the camera there?"
    )
    stream: float = Field(
        default=300.0, ge=1, description="Full check: stream played, picture decoded and analysed."
    )
    inventory: float = Field(
        default=86400.0, ge=1, description="ONVIF device information: serial, firmware, profiles."
    )


class TierOverride(Section):
    """Intervals for one site (by name) or one camera (by code); unset tiers keep the default."""

    reachability: float | None = Field(default=None, ge=1, description="Reachability interval.")
    stream: float | None = Field(default=None, ge=1, description="Stream interval.")
    inventory: float | None = Field(default=None, ge=1, description="Inventory interval.")


class TierTimeouts(Section):
    """Deadline of one whole check, per tier; a check still running then is abandoned."""

    reachability: float = Field(
        default=TIERS["reachability"].timeout_s, gt=0, description="Reachability check deadline."
    )
    stream: float = Field(
        default=TIERS["stream"].timeout_s, gt=0, description="Full (stream) check deadline."
    )
    inventory: float = Field(
        default=TIERS["inventory"].timeout_s, gt=0, description="Inventory check deadline."
    )


class MonitorSettings(Section):
    """How the fleet is checked and how results become camera states."""

    node: str = Field(
        default="",
        max_length=60,
        description="This node's name, written as the owner of the checks it leases; empty: "
        "host name and process id (unique per process).",
    )
    intervals: TierIntervals = Field(default_factory=TierIntervals)
    timeouts: TierTimeouts = Field(default_factory=TierTimeouts)
    overrides: dict[str, TierOverride] = Field(
        default_factory=dict,
        description='Per site name or camera code: [monitor.overrides."cam042"] stream = 60. '
        "A camera's own entry wins over its site's.",
    )
    jitter: float = Field(
        default=0.1,
        ge=0,
        le=0.5,
        description="Each next check is moved by up to this fraction of its interval, at random, "
        "so checks do not bunch up.",
    )
    lease_s: float = Field(
        default=120.0,
        ge=5,
        description="A claimed check belongs to its node this long; after that (node dead) "
        "another node may take it. Keep it above the longest check deadline.",
    )
    batch_size: int = Field(
        default=200, ge=1, le=10_000, description="Most checks claimed in one planner tick."
    )
    concurrency: int = Field(
        default=512,
        ge=1,
        le=4096,
        description="Checks running at once. A stream check holds its worker ~5 s (the stream "
        "window, waiting for keyframes) and a reachability check up to a second on a busy "
        "machine: 10,000 cameras at the default intervals keep about 300 busy.",
    )
    stream_concurrency: int = Field(
        default=256,
        ge=1,
        le=4096,
        description="Checks that play a stream (queued or running) at once, at most, so that "
        "streams slow to answer (a congested simulator, a struggling uplink) hold at most this "
        "many workers and the reachability checks keep the rest.",
    )
    site_concurrency: int = Field(
        default=4,
        ge=1,
        description="Streams played at once on one site (its uplink is shared): stream checks "
        "wait for a slot; checks that play none (reachability, inventory) take no slot.",
    )
    queue_size: int = Field(
        default=256, ge=1, description="Claimed checks waiting for a free worker, at most."
    )
    down_after: int = Field(
        default=2, ge=1, description="Consecutive checks without usable video before 'down'."
    )
    recover_after: int = Field(
        default=2, ge=1, description="Consecutive good checks before a down camera is back."
    )
    image_confirmations: int = Field(
        default=2,
        ge=1,
        description="Consecutive checks an image or stream condition (black, frozen, low_fps…) "
        "must be seen before it is opened.",
    )
    ptz_home_after_s: float = Field(
        default=900.0,
        ge=0,
        description="ptz_not_home when a PTZ camera has been seen away from its home position "
        "(at another preset or none) for this long, without a break.",
    )
    underexposed_after_s: float = Field(
        default=5400.0,
        ge=0,
        description="underexposed when the picture has been seen too dark for this long, without "
        "a break: longer than the dusk before a camera switches to infrared (up to about an "
        "hour), which darkens every picture every evening.",
    )
    retry_s: float = Field(
        default=10.0,
        ge=0,
        description="A check that sees a condition not yet confirmed (or a confirmed one gone, "
        "not yet cleared) runs again this soon instead of after its interval, as Nagios's "
        "retry_interval: a fault is confirmed in one interval plus this. 0: no early retry.",
    )
    flapping_window_s: float = Field(
        default=1800.0, gt=0, description="Window in which state transitions are counted."
    )
    flapping_transitions: int = Field(
        default=6,
        ge=1,
        description="More transitions than this in the window: flapping (until a quiet window).",
    )
    planner_tick_s: float = Field(
        default=2.0, gt=0, le=60, description="How often due checks are claimed."
    )
    schedule_sync_s: float = Field(
        default=60.0, gt=0, description="How often new or retired cameras are (un)scheduled."
    )
    history_every_s: float = Field(
        default=1800.0,
        ge=0,
        le=3600,
        description="A check that saw the same as its tier's previous history row is written "
        "to the history only if that row is older than this (changes are always written). "
        "0: every check.",
    )
    provisional_reference_after: int = Field(
        default=6,
        ge=1,
        le=100,
        description="A camera without an approved reference of a kind (day or night) learns a "
        "provisional one after this many healthy image checks of that kind in a row (no picture "
        "or stream condition; any fault starts the count again): the clearest of their frames. "
        "6 stream checks at the default interval: about 30 minutes of a working picture.",
    )
    provisional_reference_window_s: float = Field(
        default=1800.0,
        gt=0,
        description="Those checks must fall within this long (or, for a camera checked less "
        "often, within that many of its stream intervals): a run that takes longer starts again.",
    )
    retention_days: int = Field(
        default=90,
        ge=1,
        description="Check history older than this is deleted (daily), once each day of it is "
        "rolled up into the daily availability figures, which are kept.",
    )
    event_retention_hours: float = Field(
        default=24.0,
        gt=0,
        description="Change events (the live feed of the web interface) older than this are "
        "deleted (hourly); a client away longer resumes from the oldest kept.",
    )
    stop_wait_s: float = Field(
        default=30.0,
        ge=0,
        description="At shutdown (SIGTERM), how long checks under way may take to finish; "
        "those still running then are cancelled and, like the checks not started, given back.",
    )
    heartbeat_s: float = Field(
        default=5.0, gt=0, le=60, description="How often a node writes its row in `nodes`."
    )
    node_stale_s: float = Field(
        default=30.0,
        gt=0,
        description="A node not seen for this long is shown stale (stopped without saying so).",
    )
    node_retention_days: float = Field(
        default=7.0, gt=0, description="A stale node's row is deleted after this many days."
    )

    def node_name(self) -> str:
        """The lease owner name of this process."""
        return self.node or f"{socket.gethostname()[:40]}-{os.getpid()}"

    def intervals_for(self, camera_code: str, site_name: str | None) -> dict[str, float]:
        """The tier intervals of one camera: defaults, then its site's, then its own override."""
        intervals = self.intervals.model_dump()
        for key in (site_name, camera_code):
            override = self.overrides.get(key) if key else None
            if override is not None:
                intervals |= override.model_dump(exclude_none=True)
        return intervals
