"""The HTTP face of vp-monitor: a JSON API over the service layer (and, later, the dashboard)."""
