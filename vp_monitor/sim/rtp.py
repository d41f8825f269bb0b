"""RTP packetisation of H.264 (RFC 6184) and H.265 (RFC 7798) access units, and SDP helpers.

Payloads are cut once when a GOP is cached (`payloads_for_access_unit`); sending a frame then
only prepends a 12-byte RTP header to each payload (`rtp_packet`).
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterable
from dataclasses import dataclass

RTP_CLOCK_HZ = 90_000
DEFAULT_PAYLOAD_TYPE = 96
# 1400 bytes of payload + 12 bytes of RTP header stay under a 1500-byte Ethernet MTU with
# IP/UDP headers, so no datagram is ever fragmented.
MAX_PAYLOAD = 1400

H264_FU_A = 28
H265_FU = 49
H265_VPS, H265_SPS, H265_PPS = 32, 33, 34
H264_SPS, H264_PPS = 7, 8

_RTP_HEADER = struct.Struct(">BBHII")


def split_annexb(data: bytes) -> list[bytes]:
    """NAL units of an Annex B byte stream (start codes 00 00 01 / 00 00 00 01 removed)."""
    nals: list[bytes] = []
    start = _next_start(data, 0)
    while start is not None:
        begin = start[1]
        following = _next_start(data, begin)
        end = following[0] if following else len(data)
        # A NAL never ends in a zero byte: trailing zeros belong to the next start code.
        nal = data[begin:end].rstrip(b"\x00")
        if nal:
            nals.append(nal)
        start = following
    return nals


def _next_start(data: bytes, pos: int) -> tuple[int, int] | None:
    """(offset of the start code, offset of the NAL after it), or None."""
    i = data.find(b"\x00\x00\x01", pos)
    if i < 0:
        return None
    return (i - 1 if i > 0 and data[i - 1] == 0 else i), i + 3


def h264_nal_type(nal: bytes) -> int:
    """Type of an H.264 NAL unit (5 = IDR slice, 7 = SPS, 8 = PPS)."""
    return nal[0] & 0x1F


def h265_nal_type(nal: bytes) -> int:
    """Type of an H.265 NAL unit (19/20 = IDR, 32 = VPS, 33 = SPS, 34 = PPS)."""
    return (nal[0] >> 1) & 0x3F


def packetize_h264(nal: bytes, max_payload: int = MAX_PAYLOAD) -> list[bytes]:
    """RTP payloads for one H.264 NAL: the NAL itself if it fits, else FU-A fragments."""
    if len(nal) <= max_payload:
        return [nal]
    indicator = (nal[0] & 0xE0) | H264_FU_A
    nal_type = nal[0] & 0x1F
    body = nal[1:]
    step = max_payload - 2
    chunks = [body[i : i + step] for i in range(0, len(body), step)]
    payloads = []
    for n, chunk in enumerate(chunks):
        header = nal_type | (0x80 if n == 0 else 0) | (0x40 if n == len(chunks) - 1 else 0)
        payloads.append(bytes((indicator, header)) + chunk)
    return payloads


def packetize_h265(nal: bytes, max_payload: int = MAX_PAYLOAD) -> list[bytes]:
    """RTP payloads for one H.265 NAL: the NAL itself if it fits, else FU fragments."""
    if len(nal) <= max_payload:
        return [nal]
    nal_type = h265_nal_type(nal)
    # PayloadHdr keeps F, LayerId and TID of the NAL and carries type 49 (FU).
    payload_hdr = bytes(((nal[0] & 0x81) | (H265_FU << 1), nal[1]))
    body = nal[2:]
    step = max_payload - 3
    chunks = [body[i : i + step] for i in range(0, len(body), step)]
    payloads = []
    for n, chunk in enumerate(chunks):
        fu_header = nal_type | (0x80 if n == 0 else 0) | (0x40 if n == len(chunks) - 1 else 0)
        payloads.append(payload_hdr + bytes((fu_header,)) + chunk)
    return payloads


def payloads_for_access_unit(
    nals: Iterable[bytes], codec: str, max_payload: int = MAX_PAYLOAD
) -> tuple[bytes, ...]:
    """All RTP payloads of one access unit, in order (the last one gets the marker bit)."""
    cut = packetize_h265 if codec == "h265" else packetize_h264
    return tuple(p for nal in nals for p in cut(nal, max_payload))


def rtp_packet(
    payload: bytes, seq: int, timestamp: int, ssrc: int, marker: bool, pt: int = 96
) -> bytes:
    """One RTP packet (version 2, no padding, no extension, no CSRC)."""
    header = _RTP_HEADER.pack(
        0x80, pt | (0x80 if marker else 0), seq & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc
    )
    return header + payload


@dataclass(frozen=True)
class RtpPacket:
    """Fields of a received RTP packet."""

    seq: int
    timestamp: int
    ssrc: int
    marker: bool
    payload_type: int
    payload: bytes


def parse_rtp(packet: bytes) -> RtpPacket:
    """Decode an RTP packet; raises ValueError if it is not RTP version 2."""
    if len(packet) < 12 or packet[0] >> 6 != 2:
        raise ValueError("not an RTP version 2 packet")
    b0, b1, seq, ts, ssrc = _RTP_HEADER.unpack_from(packet)
    offset = 12 + 4 * (b0 & 0x0F)
    if b0 & 0x10:  # header extension: 16-bit profile, 16-bit length in words
        offset += 4 + 4 * struct.unpack_from(">H", packet, offset + 2)[0]
    end = len(packet) - (packet[-1] if b0 & 0x20 else 0)
    return RtpPacket(seq, ts, ssrc, bool(b1 & 0x80), b1 & 0x7F, packet[offset:end])


class Depacketizer:
    """Reassembles NAL units from RTP payloads (single NAL, FU-A / FU, STAP-A)."""

    def __init__(self, codec: str = "h264") -> None:
        self.codec = codec
        self._fragment: bytearray | None = None

    def push(self, payload: bytes) -> list[bytes]:
        """NAL units completed by this payload (empty while a fragment is still open)."""
        if self.codec == "h265":
            return self._push_h265(payload)
        return self._push_h264(payload)

    def _push_h264(self, payload: bytes) -> list[bytes]:
        nal_type = payload[0] & 0x1F
        if nal_type == H264_FU_A:
            start, end = payload[1] & 0x80, payload[1] & 0x40
            if start:
                self._fragment = bytearray(((payload[0] & 0xE0) | (payload[1] & 0x1F),))
            return self._extend(payload[2:], end)
        if nal_type == 24:  # STAP-A: 16-bit size before each NAL
            nals, pos = [], 1
            while pos + 2 <= len(payload):
                size = struct.unpack_from(">H", payload, pos)[0]
                nals.append(payload[pos + 2 : pos + 2 + size])
                pos += 2 + size
            return nals
        return [payload]

    def _push_h265(self, payload: bytes) -> list[bytes]:
        if (payload[0] >> 1) & 0x3F != H265_FU:
            return [payload]
        fu = payload[2]
        if fu & 0x80:
            first = (payload[0] & 0x81) | ((fu & 0x3F) << 1)
            self._fragment = bytearray((first, payload[1]))
        return self._extend(payload[3:], fu & 0x40)

    def _extend(self, chunk: bytes, end: int) -> list[bytes]:
        if self._fragment is None:  # lost the start of this fragment: drop the rest
            return []
        self._fragment += chunk
        if not end:
            return []
        nal, self._fragment = bytes(self._fragment), None
        return [nal]


NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix)
_SENDER_REPORT = struct.Struct(">BBHIIIIII")


def rtcp_sender_report(
    ssrc: int, unix_time: float, rtp_timestamp: int, packets: int, octets: int
) -> bytes:
    """RTCP SR (RFC 3550 6.4.1) without report blocks: ties an RTP timestamp to wall time."""
    ntp = unix_time + NTP_UNIX_OFFSET
    seconds, fraction = int(ntp), int((ntp % 1) * (1 << 32))
    return _SENDER_REPORT.pack(
        0x80, 200, 6, ssrc, seconds & 0xFFFFFFFF, fraction & 0xFFFFFFFF,
        rtp_timestamp & 0xFFFFFFFF, packets & 0xFFFFFFFF, octets & 0xFFFFFFFF,
    )  # fmt: skip


def parse_sender_report(packet: bytes) -> tuple[int, float, int]:
    """(SSRC, wall time as Unix seconds, RTP timestamp) of an RTCP SR; ValueError otherwise."""
    if len(packet) < 28 or packet[1] != 200 or packet[0] >> 6 != 2:
        raise ValueError("not an RTCP sender report")
    _b0, _pt, _len, ssrc, sec, frac, ts, _p, _o = _SENDER_REPORT.unpack_from(packet)
    return ssrc, sec - NTP_UNIX_OFFSET + frac / (1 << 32), ts


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def h264_fmtp(sps: bytes, pps: bytes, pt: int = DEFAULT_PAYLOAD_TYPE) -> str:
    """SDP fmtp line for H.264: packetization-mode, profile-level-id, sprop-parameter-sets."""
    profile_level_id = sps[1:4].hex().upper()
    return (
        f"a=fmtp:{pt} packetization-mode=1;profile-level-id={profile_level_id};"
        f"sprop-parameter-sets={_b64(sps)},{_b64(pps)}"
    )


def h265_fmtp(vps: bytes, sps: bytes, pps: bytes, pt: int = DEFAULT_PAYLOAD_TYPE) -> str:
    """SDP fmtp line for H.265: sprop-vps, sprop-sps, sprop-pps."""
    return f"a=fmtp:{pt} sprop-vps={_b64(vps)};sprop-sps={_b64(sps)};sprop-pps={_b64(pps)}"
