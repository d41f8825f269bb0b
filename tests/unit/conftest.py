"""Fixtures shared by the unit tests of the monitor's engine and of the events it records."""

from __future__ import annotations

import pytest

from vp_monitor.monitor.engine import Monitor
from vp_monitor.monitor.settings import MonitorSettings


@pytest.fixture
def monitor(engine):
    """A monitor on the test's database that confirms a state from one result."""
    monitor = Monitor(engine, MonitorSettings(node="node-a", down_after=1, recover_after=1))
    yield monitor
    monitor.db.shutdown()
