"""vp-monitor: registry and health monitor for video-protection cameras."""

__version__ = "0.1.0"
