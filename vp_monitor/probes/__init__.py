"""Probes: one module per kind, same signature `async def run(target, settings) -> ProbeResult`,
listed in one table (runner.PROBES). The runner, not the probe, owns the deadline and duration.

Nothing is imported here, so loading the settings (base.ProbeSettings) stays cheap.
"""
