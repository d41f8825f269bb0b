"""SOAP 1.2 documents the simulated ONVIF device sends (Device and Media services, faults)."""

from __future__ import annotations

import time
from xml.sax.saxutils import escape, quoteattr

from vp_monitor.sim.camera import SimCamera, StreamSpec
from vp_monitor.sim.ptz import Position, PtzHead

SOAP_ENV = "http://www.w3.org/2003/05/soap-envelope"
DEVICE_NS = "http://www.onvif.org/ver10/device/wsdl"
MEDIA_NS = "http://www.onvif.org/ver10/media/wsdl"
PTZ_NS = "http://www.onvif.org/ver20/ptz/wsdl"
EVENTS_NS = "http://www.onvif.org/ver10/events/wsdl"
SCHEMA_NS = "http://www.onvif.org/ver10/schema"
ERROR_NS = "http://www.onvif.org/ver10/error"

PROFILE_TOKENS = {"main": "Profile_1", "sub": "Profile_2"}

_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<env:Envelope xmlns:env="{SOAP_ENV}" xmlns:tds="{DEVICE_NS}" xmlns:trt="{MEDIA_NS}"'
    f' xmlns:tt="{SCHEMA_NS}" xmlns:ter="{ERROR_NS}" xmlns:tptz="{PTZ_NS}">'
    "<env:Body>{body}</env:Body></env:Envelope>"
)


def envelope(body: str) -> str:
    """Wrap a SOAP body fragment in a SOAP 1.2 envelope declaring the ONVIF prefixes."""
    return _ENVELOPE.format(body=body)


def fault(code: str, subcodes: tuple[str, ...], reason: str) -> str:
    """A SOAP 1.2 fault envelope (`code` like env:Sender, subcodes like ter:NotAuthorized)."""
    sub = ""
    for value in reversed(subcodes):
        sub = f"<env:Subcode><env:Value>{value}</env:Value>{sub}</env:Subcode>"
    return envelope(
        f"<env:Fault><env:Code><env:Value>{code}</env:Value>{sub}</env:Code>"
        f'<env:Reason><env:Text xml:lang="en">{escape(reason)}</env:Text></env:Reason>'
        "</env:Fault>"
    )


def _tt(name: str, value: object) -> str:
    return f"<tt:{name}>{escape(str(value))}</tt:{name}>"


def _date_time(epoch: float) -> str:
    t = time.gmtime(epoch)
    return (
        f"<tt:Time>{_tt('Hour', t.tm_hour)}{_tt('Minute', t.tm_min)}{_tt('Second', t.tm_sec)}"
        f"</tt:Time><tt:Date>{_tt('Year', t.tm_year)}{_tt('Month', t.tm_mon)}"
        f"{_tt('Day', t.tm_mday)}</tt:Date>"
    )


def system_date_and_time(epoch: float) -> str:
    """GetSystemDateAndTimeResponse for a device whose clock reads `epoch` (UTC)."""
    dt = _date_time(epoch)
    return (
        "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
        "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
        "<tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone>"
        f"<tt:UTCDateTime>{dt}</tt:UTCDateTime><tt:LocalDateTime>{dt}</tt:LocalDateTime>"
        "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
    )


def device_information(camera: SimCamera) -> str:
    """GetDeviceInformationResponse with the camera's current (fault-aware) identity."""
    return (
        "<tds:GetDeviceInformationResponse>"
        f"<tds:Manufacturer>{escape(camera.manufacturer)}</tds:Manufacturer>"
        f"<tds:Model>{escape(camera.model)}</tds:Model>"
        f"<tds:FirmwareVersion>{escape(camera.effective_firmware)}</tds:FirmwareVersion>"
        f"<tds:SerialNumber>{escape(camera.effective_serial)}</tds:SerialNumber>"
        f"<tds:HardwareId>{escape(camera.model)}-HW1</tds:HardwareId>"
        "</tds:GetDeviceInformationResponse>"
    )


def capabilities(device_url: str, media_url: str, ptz_url: str | None = None) -> str:
    """GetCapabilitiesResponse advertising the Device and Media services (and PTZ's)."""
    return (
        "<tds:GetCapabilitiesResponse><tds:Capabilities>"
        f"<tt:Device>{_tt('XAddr', device_url)}"
        "<tt:Network><tt:IPFilter>false</tt:IPFilter><tt:ZeroConfiguration>false"
        "</tt:ZeroConfiguration><tt:IPVersion6>false</tt:IPVersion6><tt:DynDNS>false"
        "</tt:DynDNS></tt:Network>"
        "<tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve><tt:DiscoveryBye>false"
        "</tt:DiscoveryBye><tt:RemoteDiscovery>false</tt:RemoteDiscovery><tt:SystemBackup>"
        "false</tt:SystemBackup><tt:SystemLogging>false</tt:SystemLogging>"
        "<tt:FirmwareUpgrade>false</tt:FirmwareUpgrade><tt:SupportedVersions><tt:Major>2"
        "</tt:Major><tt:Minor>60</tt:Minor></tt:SupportedVersions></tt:System>"
        "</tt:Device>"
        f"<tt:Media>{_tt('XAddr', media_url)}<tt:StreamingCapabilities>"
        "<tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP>"
        "<tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>"
        + (f"<tt:PTZ>{_tt('XAddr', ptz_url)}</tt:PTZ>" if ptz_url else "")
        + "</tds:Capabilities></tds:GetCapabilitiesResponse>"
    )


def services(device_url: str, media_url: str, ptz_url: str | None = None) -> str:
    """GetServicesResponse listing the Device and Media services (and PTZ's) and versions."""
    listed = [(DEVICE_NS, device_url), (MEDIA_NS, media_url)] + (
        [(PTZ_NS, ptz_url)] * bool(ptz_url)
    )
    items = "".join(
        f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{escape(url)}</tds:XAddr>"
        "<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>"
        for ns, url in listed
    )
    return f"<tds:GetServicesResponse>{items}</tds:GetServicesResponse>"


def network_interfaces(camera: SimCamera, mac: str) -> str:
    """GetNetworkInterfacesResponse: one wired interface with the camera's static IPv4."""
    return (
        '<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0">'
        "<tt:Enabled>true</tt:Enabled>"
        f"<tt:Info><tt:Name>eth0</tt:Name>{_tt('HwAddress', mac)}<tt:MTU>1500</tt:MTU></tt:Info>"
        "<tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual>"
        f"{_tt('Address', camera.host)}<tt:PrefixLength>8</tt:PrefixLength></tt:Manual>"
        "<tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4>"
        "</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>"
    )


def scopes(items: list[str]) -> str:
    """GetScopesResponse with fixed scopes."""
    body = "".join(
        f"<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef>{_tt('ScopeItem', s)}</tds:Scopes>"
        for s in items
    )
    return f"<tds:GetScopesResponse>{body}</tds:GetScopesResponse>"


def system_reboot() -> str:
    """SystemRebootResponse."""
    return (
        "<tds:SystemRebootResponse><tds:Message>Rebooting in 30 seconds</tds:Message>"
        "</tds:SystemRebootResponse>"
    )


def _profile(camera: SimCamera, name: str, spec: StreamSpec) -> str:
    token = PROFILE_TOKENS[name]
    # Media1's schema only lists JPEG/MPEG4/H264, yet H.265 cameras report "H265" here.
    encoding = "H265" if camera.codec == "h265" else "H264"
    codec = (
        f"<tt:H264><tt:GovLength>{max(1, round(spec.fps * spec.gop_seconds))}</tt:GovLength>"
        "<tt:H264Profile>Main</tt:H264Profile></tt:H264>"
        if encoding == "H264"
        else ""
    )
    return (
        f'<trt:Profiles token={quoteattr(token)} fixed="true"><tt:Name>{name}</tt:Name>'
        '<tt:VideoSourceConfiguration token="VideoSourceConfig_1"><tt:Name>VideoSource</tt:Name>'
        "<tt:UseCount>2</tt:UseCount><tt:SourceToken>VideoSource_1</tt:SourceToken>"
        f'<tt:Bounds x="0" y="0" width="{camera.main.width}" height="{camera.main.height}"/>'
        "</tt:VideoSourceConfiguration>"
        f'<tt:VideoEncoderConfiguration token="VideoEncoder_{token[-1]}">'
        f"<tt:Name>{name}</tt:Name><tt:UseCount>1</tt:UseCount>"
        f"<tt:Encoding>{encoding}</tt:Encoding>"
        f"<tt:Resolution>{_tt('Width', spec.width)}{_tt('Height', spec.height)}</tt:Resolution>"
        "<tt:Quality>5</tt:Quality>"
        f"<tt:RateControl>{_tt('FrameRateLimit', spec.fps)}"
        f"<tt:EncodingInterval>1</tt:EncodingInterval>{_tt('BitrateLimit', spec.bitrate_kbps)}"
        f"</tt:RateControl>{codec}"
        "<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0"
        "</tt:IPv4Address></tt:Address><tt:Port>0</tt:Port><tt:TTL>1</tt:TTL>"
        "<tt:AutoStart>false</tt:AutoStart></tt:Multicast>"
        "<tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:VideoEncoderConfiguration>"
        "</trt:Profiles>"
    )


def profiles(camera: SimCamera) -> str:
    """GetProfilesResponse with the main and sub stream profiles."""
    body = _profile(camera, "main", camera.main) + _profile(camera, "sub", camera.sub)
    return f"<trt:GetProfilesResponse>{body}</trt:GetProfilesResponse>"


def media_uri(operation: str, uri: str) -> str:
    """GetStreamUriResponse or GetSnapshotUriResponse carrying `uri`."""
    return (
        f"<trt:{operation}Response><trt:MediaUri>{_tt('Uri', uri)}"
        "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>"
        "<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
        f"<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:{operation}Response>"
    )


# Generic position spaces of ONVIF PTZ (Profile S): pan/tilt in [-1, 1], zoom in [0, 1].
PAN_TILT_SPACE = "http://www.onvif.org/ver10/tptz/PanTiltSpaces/PositionGenericSpace"
ZOOM_SPACE = "http://www.onvif.org/ver10/tptz/ZoomSpaces/PositionGenericSpace"


def _ptz_vector(position: Position) -> str:
    pan, tilt, zoom = position
    return (
        f'<tt:PanTilt x="{pan:g}" y="{tilt:g}" space="{PAN_TILT_SPACE}"/>'
        f'<tt:Zoom x="{zoom:g}" space="{ZOOM_SPACE}"/>'
    )


def ptz_presets(head: PtzHead) -> str:
    """GetPresetsResponse: every preset with its name and position."""
    body = "".join(
        f"<tptz:Preset token={quoteattr(p.token)}>{_tt('Name', p.name)}"
        f"<tt:PTZPosition>{_ptz_vector(p.position)}</tt:PTZPosition></tptz:Preset>"
        for p in head.presets
    )
    return f"<tptz:GetPresetsResponse>{body}</tptz:GetPresetsResponse>"


def ptz_status(head: PtzHead, epoch: float) -> str:
    """GetStatusResponse: the position now, motors idle, the device's time."""
    utc = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    return (
        "<tptz:GetStatusResponse><tptz:PTZStatus>"
        f"<tt:Position>{_ptz_vector(head.position)}</tt:Position>"
        "<tt:MoveStatus><tt:PanTilt>IDLE</tt:PanTilt><tt:Zoom>IDLE</tt:Zoom></tt:MoveStatus>"
        f"{_tt('UtcTime', utc)}</tptz:PTZStatus></tptz:GetStatusResponse>"
    )


def ptz_done(operation: str) -> str:
    """The empty answer of a PTZ command (GotoPreset, GotoHomePosition)."""
    return f"<tptz:{operation}Response/>"
