"""`python -m vp_monitor` runs the same command as `vp-monitor`."""

from vp_monitor.cli import main

main()
