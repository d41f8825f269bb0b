"""The table of probes and the runner that owns each probe's deadline and duration."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from vp_monitor.probes import onvif, ptz, rtsp, stream
from vp_monitor.probes.base import ProbeResult, ProbeSettings, ProbeTarget, failed, redact
from vp_monitor.probes.tiers import probe_observed

log = logging.getLogger(__name__)

Probe = Callable[[ProbeTarget, ProbeSettings], Awaitable[ProbeResult]]

PROBES: dict[str, Probe] = {
    "onvif": onvif.run, "clock": onvif.read_clock, "rtsp": rtsp.run, "stream": stream.run,
    "ptz": ptz.run,
}  # fmt: skip
# The settings section of each probe (the clock read is an ONVIF request: [probes.onvif]).
SECTION = {"clock": "onvif"}

# What a probe that overran its deadline is taken to mean: the stream probe ends its own window
# in time, so only a control exchange that never got an answer makes it overrun.
# A PTZ position not read in time is only unknown: reachability is the clock's and RTSP's.
TIMEOUT_CONDITION: dict[str, str | None] = dict.fromkeys(PROBES, "unreachable") | {"ptz": None}


async def run_probe(kind: str, target: ProbeTarget, settings: ProbeSettings) -> ProbeResult:
    """Run one probe under its deadline; a time-out or unexpected error becomes a result that
    says what it observed."""
    timeout_s = getattr(settings, SECTION.get(kind, kind)).timeout_s
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout_s):
            result = await PROBES[kind](target, settings)
    except TimeoutError:
        result = failed(kind, TIMEOUT_CONDITION[kind], f"no answer within {timeout_s:g} s")
    except Exception as exc:  # a probe bug must cost one result, not the monitor
        log.exception("%s: %s probe failed unexpectedly", target.camera, kind)
        error = redact(f"probe error: {type(exc).__name__}: {exc}", target.secrets())
        section = SECTION.get(kind, kind)
        crash = "no_video" if kind == "stream" else f"{section}_error"
        result = failed(kind, None if kind == "ptz" else crash, error)
    duration_s = time.monotonic() - started
    return replace(result, duration_s=duration_s, observed=probe_observed(kind, result))
