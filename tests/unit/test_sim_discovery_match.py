"""Which WS-Discovery Probes a simulated camera answers, and what it puts in its ProbeMatch."""

from __future__ import annotations

from vp_monitor.sim.camera import SimCamera
from vp_monitor.sim.discovery import Probe, camera_matches, endpoint_address, parse_probe


def test_probe_without_types_or_scopes_matches():
    """An unrestricted Probe matches every camera."""
    assert camera_matches(SimCamera(index=1), Probe("uuid:x", (), ()))


def test_probe_matches_onvif_types_only():
    """NetworkVideoTransmitter and Device types match; other device types do not."""
    camera = SimCamera(index=1)
    assert camera_matches(camera, Probe("uuid:x", ("NetworkVideoTransmitter", "Device"), ()))
    assert not camera_matches(camera, Probe("uuid:x", ("Printer",), ()))


def test_scopes_match_by_prefix():
    """A scope matches when it is a prefix of one of the camera's scopes."""
    camera = SimCamera(index=1)
    assert camera_matches(camera, Probe("uuid:x", (), ("onvif://www.onvif.org/name/",)))
    assert not camera_matches(camera, Probe("uuid:x", (), ("onvif://www.onvif.org/ptz",)))


def test_endpoint_address_is_stable_per_camera():
    """A camera keeps its endpoint reference across restarts; two cameras differ."""
    assert endpoint_address(SimCamera(index=1)) == endpoint_address(SimCamera(index=1))
    assert endpoint_address(SimCamera(index=1)) != endpoint_address(SimCamera(index=2))


def test_probe_without_message_id_is_ignored():
    """A Probe lacking a wsa:MessageID cannot be answered and is ignored."""
    datagram = (
        b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
        b'<d:Probe xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"/>'
        b"</s:Body></s:Envelope>"
    )
    assert parse_probe(datagram) is None
