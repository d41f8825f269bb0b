"""Tier rules: which conditions a check of each tier can see given which probes succeeded (the
`observed` set that lets the evaluator clear conditions), the ONVIF remap, the table's guards,
and the one builder from a registry camera to a probe target."""

from __future__ import annotations

import dataclasses

import pytest

from vp_monitor.cli_context import Context
from vp_monitor.monitor.evaluator import ALL_CONDITIONS, new_status
from vp_monitor.monitor.settings import TierTimeouts
from vp_monitor.probes.base import ProbeResult, ProbeTarget, camera_target
from vp_monitor.probes.tiers import (
    OVERRUN,
    PICTURE_SEES,
    PROBE_SIGHTS,
    TIERS,
    full_read_after,
    full_read_first,
    overrun_result,
    probe_observed,
    tier_conditions,
    tier_observed,
)
from vp_monitor.registry.models import Camera
from vp_monitor.registry.schemas import CameraInput, MunicipalityInput, SiteInput
from vp_monitor.service.commands import target_for

DEVICE_FACTS = {"clock_drift", "device_replaced", "firmware_changed", "config_mismatch"}


def result(kind: str, ok: bool, *conditions: str) -> ProbeResult:
    """A probe result as the probe runner hands it over (with what it observed)."""
    found = ProbeResult(kind, ok, frozenset(conditions))
    return ProbeResult(kind, ok, frozenset(conditions), observed=probe_observed(kind, found))


def test_a_probe_that_failed_cannot_clear_what_only_success_shows():
    """A failed ONVIF probe sees reachability and credentials but not the device facts; a
    successful one sees both; a probe always observes the conditions it reports."""
    failed = result("onvif", False, "unreachable")
    assert failed.observed == {"unreachable", "auth_failed", "onvif_error"}
    assert result("onvif", True).observed >= DEVICE_FACTS | {"unreachable"}
    assert result("stream", False, "no_video").observed.isdisjoint({"low_fps", "packet_loss"})
    assert result("stream", True).observed >= {"low_fps", "packet_loss", "no_video"}
    odd = result("rtsp", False, "no_video")  # not in its sight: still clearable by it
    assert "no_video" in odd.observed


def test_reachability_observes_what_its_probes_could_show():
    """Reachability reads the clock and RTSP: with the clock down but RTSP up it observes
    config_mismatch (RTSP compared the stream) but not the clock; with both up the clock too,
    but never the facts only the full ONVIF read shows, nor a picture condition."""
    tier = TIERS["reachability"]
    assert tier.probes == ("clock", "rtsp") and not tier.plays_stream
    probes = {"clock": result("clock", False, "unreachable"), "rtsp": result("rtsp", True)}
    observed = tier_observed(tier, probes, has_picture=False)
    assert "config_mismatch" in observed and "clock_drift" not in observed
    assert observed.isdisjoint(PICTURE_SEES | {"no_video"})
    both_ok = {"clock": result("clock", True), "rtsp": result("rtsp", True)}
    observed = tier_observed(tier, both_ok, False)
    assert "clock_drift" in observed
    assert observed.isdisjoint({"device_replaced", "firmware_changed", "onvif_error"})
    full = {"onvif": result("onvif", True), "rtsp": result("rtsp", True)}  # a change suspected
    assert tier_observed(tier, full, False) >= DEVICE_FACTS


def test_the_full_onvif_read_replaces_or_follows_the_clock_when_a_change_is_suspected():
    """A cheap check reads the whole device when no stream URL is registered or a condition
    only that read clears is open; after its probes, when RTSP failed (not by silence) or
    announced another stream while the clock answered; never for a camera without ONVIF."""
    plain = ProbeTarget("c", "192.0.2.1", 80, rtsp_main="rtsp://192.0.2.1/main")
    assert not full_read_first(plain)
    assert full_read_first(dataclasses.replace(plain, rtsp_main=None))
    for condition in ("device_replaced", "firmware_changed", "onvif_error", "config_mismatch"):
        assert full_read_first(dataclasses.replace(plain, open_conditions=frozenset({condition})))
    assert not full_read_first(dataclasses.replace(plain, open_conditions=frozenset({"black"})))
    assert not full_read_first(ProbeTarget("c", open_conditions=frozenset({"device_replaced"})))
    clock_ok = result("clock", True)
    for rtsp, expected in ((result("rtsp", True), False),
                           (result("rtsp", False, "rtsp_error"), True),
                           (result("rtsp", False, "auth_failed"), True),
                           (result("rtsp", True, "config_mismatch"), True),
                           (result("rtsp", False, "unreachable"), False)):  # fmt: skip
        assert full_read_after({"clock": clock_ok, "rtsp": rtsp}) is expected, rtsp
    silent = result("clock", False, "unreachable")
    assert not full_read_after({"clock": silent, "rtsp": result("rtsp", False, "rtsp_error")})


def test_stream_tier_observes_the_picture_only_when_one_was_decoded():
    """The picture conditions (and fps, loss) are observed only when the stream gave frames."""
    tier = TIERS["stream"]
    probes = {"rtsp": result("rtsp", True), "stream": result("stream", False, "no_video")}
    assert tier_observed(tier, probes, has_picture=False).isdisjoint(PICTURE_SEES)
    probes["stream"] = result("stream", True)
    observed = tier_observed(tier, probes, has_picture=True)
    assert observed >= PICTURE_SEES | {"low_fps", "packet_loss", "no_video"}


def test_an_onvif_outage_on_working_video_is_onvif_error():
    """ONVIF unreachable or refusing us while the video works is onvif_error, in every tier
    that can tell; with the video gone too it stays an outage."""
    for name, kind in (("reachability", "clock"), ("stream", "clock"), ("stream", "onvif")):
        tier = TIERS[name]
        onvif = result(kind, False, "unreachable")
        assert tier_conditions(tier, {kind: onvif}, video_ok=True) == {"onvif_error"}
        assert tier_conditions(tier, {kind: onvif}, video_ok=False) == {"unreachable"}
        refused = result("onvif", False, "auth_failed")
        assert tier_conditions(tier, {"onvif": refused}, video_ok=True) == {"onvif_error"}


def test_inventory_leaves_reachability_to_the_reachability_tier():
    """The daily inventory neither raises nor clears `unreachable`; it still sees auth_failed
    and the device facts."""
    tier = TIERS["inventory"]
    probes = {"onvif": result("onvif", False, "unreachable")}
    assert tier_conditions(tier, probes, video_ok=None) == frozenset()
    assert "unreachable" not in tier_observed(tier, probes, False)
    assert "unreachable" not in tier.sees()
    assert tier.sees() >= DEVICE_FACTS | {"auth_failed", "onvif_error"}


def test_every_condition_is_seen_by_some_tier_and_no_tier_sees_an_unknown_one():
    """A condition no tier can see would never clear once confirmed: every condition of the
    evaluator is in some tier's sight, and the sights name only known conditions."""
    seen = frozenset().union(*(tier.sees() for tier in TIERS.values()))
    assert seen == ALL_CONDITIONS
    for tier in TIERS.values():
        assert set(tier.probes) <= set(PROBE_SIGHTS)


@pytest.mark.parametrize("name", sorted(TIERS))
def test_tier_timeouts_and_overruns_come_from_the_table(name):
    """The default deadline of a tier is its table's, and an overrun means its table's
    condition, observed so that it can clear later."""
    assert getattr(TierTimeouts(), name) == TIERS[name].timeout_s
    overran = overrun_result(name, 3.0)
    assert overran.conditions == {OVERRUN[name]} == overran.observed
    assert overran.overran and (overran.video_ok is None) == (TIERS[name].video_by is None)


def test_camera_target_carries_every_registry_field_and_the_clock_offset():
    """The one builder copies what the probes compare against, the password in clear and the
    measured clock offset (the `check` command's copy used to drop it)."""
    camera = Camera(
        code="BB-001", onvif_host="192.0.2.10", onvif_port=8080, username="admin",
        rtsp_main="rtsp://192.0.2.10/main", rtsp_sub="rtsp://192.0.2.10/sub", serial="SN1",
        firmware="1.2", expected_codec="h264", expected_width=1920, expected_height=1080,
        expected_fps=25.0,
    )  # fmt: skip
    target = camera_target(camera, "s3cret", clock_offset_s=7200.0)
    assert (target.camera, target.onvif_host, target.onvif_port, target.username) == (
        "BB-001", "192.0.2.10", 8080, "admin")  # fmt: skip
    assert (target.rtsp_main, target.rtsp_sub) == (camera.rtsp_main, camera.rtsp_sub)
    assert (target.expected_serial, target.expected_firmware, target.expected_codec) == (
        "SN1", "1.2", "h264")  # fmt: skip
    assert (target.expected_width, target.expected_height, target.expected_fps) == (
        1920, 1080, 25.0)  # fmt: skip
    assert target.password == "s3cret" and target.clock_offset_s == 7200.0
    assert "s3cret" not in repr(target)
    assert camera_target(camera, None, None, ["black"]).open_conditions == {"black"}


def test_check_builds_its_target_with_the_clock_offset_the_monitor_measured(
    database_url, secret_key
):
    """`vp-monitor check` signs ONVIF requests with the camera clock's last measured offset,
    as the monitor does, and sends the stored password in clear to the camera only."""
    context = Context(None, database_url, "tester")
    with context.registry() as registry:
        registry.add_municipality(MunicipalityInput(insee="92012", name="Boulogne"))
        registry.add_site(SiteInput(name="Mairie", municipality="92012"))
        camera = registry.add_camera(CameraInput(
            code="BB-001", site="Mairie", municipality="92012", onvif_host="192.0.2.10",
            username="admin", password="s3cret",
        ))  # fmt: skip
        registry.session.flush()
        status = new_status(camera.id)
        status.clock_offset_s = -7200.0
        registry.session.add(status)
        registry.session.flush()
        target = target_for(registry, camera)
    assert target.clock_offset_s == -7200.0 and target.password == "s3cret"
