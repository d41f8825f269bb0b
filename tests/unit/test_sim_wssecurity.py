"""WS-Security UsernameToken checks and XML parsing of the simulated ONVIF device."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree
from zeep.wsse.username import UsernameToken as ZeepUsernameToken

from vp_monitor.sim.camera import SimCamera
from vp_monitor.sim.onvif import (
    NonceCache,
    SoapFault,
    parse_envelope,
    parse_username_token,
    token_rejection,
)
from vp_monitor.sim.onvif_templates import DEVICE_NS, SOAP_ENV


def signed_request(password: str, *, created: dt.datetime | None = None, digest: bool = True):
    """A GetDeviceInformation envelope signed by zeep's own UsernameToken (a third-party client)."""
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap-env": SOAP_ENV})
    etree.SubElement(envelope, f"{{{SOAP_ENV}}}Header")
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    etree.SubElement(body, f"{{{DEVICE_NS}}}GetDeviceInformation")
    created = created or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    token = ZeepUsernameToken(
        "admin", password, use_digest=digest, created=created, zulu_timestamp=True
    )
    token.apply(envelope, {})
    return parse_envelope(etree.tostring(envelope))[0]


def check(root, camera: SimCamera, nonces: NonceCache | None = None) -> str | None:
    nonces = NonceCache() if nonces is None else nonces
    return token_rejection(parse_username_token(root), camera, nonces)


def test_zeep_password_digest_is_accepted():
    """A PasswordDigest made by zeep with the right password authenticates."""
    assert check(signed_request("admin"), SimCamera(index=1)) is None


def test_wrong_password_digest_is_rejected():
    """A PasswordDigest made with another password is refused."""
    assert check(signed_request("nimda"), SimCamera(index=1)) == "wrong password"


def test_replayed_nonce_is_rejected():
    """The same signed token sent twice is refused the second time."""
    camera, nonces, root = SimCamera(index=1), NonceCache(), signed_request("admin")
    assert check(root, camera, nonces) is None
    assert check(root, camera, nonces) == "replayed nonce"


def test_created_far_from_device_clock_is_rejected():
    """A token created 10 minutes away from the device clock is refused even with the password."""
    stale = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=10)
    assert check(signed_request("admin", created=stale), SimCamera(index=1)) is not None


def test_created_is_judged_against_the_device_clock_not_the_host_clock():
    """On a camera 2 h fast, a host-time token fails and a token shifted by 2 h passes."""
    camera = SimCamera(index=1, clock_offset_s=7200)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert check(signed_request("admin", created=now), camera) is not None
    shifted = now + dt.timedelta(hours=2)
    assert check(signed_request("admin", created=shifted), camera) is None


def test_password_text_is_accepted_and_checked():
    """PasswordText works with the right password and fails with a wrong one."""
    camera = SimCamera(index=1)
    assert check(signed_request("admin", digest=False), camera) is None
    assert check(signed_request("wrong", digest=False), camera) == "wrong password"


def test_wrong_credentials_fault_rejects_the_right_password():
    """Under the wrong_credentials fault even correct credentials are refused."""
    camera = SimCamera(index=1)
    camera.set_fault("wrong_credentials")
    assert check(signed_request("admin"), camera) is not None


def test_missing_security_header_is_rejected():
    """A request without a UsernameToken does not authenticate."""
    envelope = (
        f'<e:Envelope xmlns:e="{SOAP_ENV}"><e:Body><x xmlns="{DEVICE_NS}"/></e:Body></e:Envelope>'
    )
    root, _ = parse_envelope(envelope.encode())
    assert check(root, SimCamera(index=1)) == "no credentials"


def test_rejection_reasons_never_contain_the_password():
    """No rejection reason repeats the camera's password."""
    camera = SimCamera(index=1, password="s3cret-Pa55")
    reason = check(signed_request("guess"), camera)
    assert reason and "s3cret" not in reason


def test_nonce_cache_is_bounded():
    """The nonce cache never holds more than its maximum, dropping the oldest first."""
    cache = NonceCache(max_entries=3, ttl_s=600)
    for i in range(10):
        assert cache.add(bytes([i]), now=float(i))
    assert len(cache) == 3
    assert not cache.add(bytes([9]), now=10.0)
    assert cache.add(bytes([0]), now=10.0)  # evicted long ago, so no longer known


def test_nonce_cache_forgets_expired_nonces():
    """A nonce older than the time-to-live is forgotten."""
    cache = NonceCache(max_entries=100, ttl_s=10)
    cache.add(b"n", now=0.0)
    assert cache.add(b"n", now=11.0)


@pytest.mark.parametrize(
    "body",
    [
        b"this is not xml",
        b"",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
        b"<notsoap/>",
        f'<e:Envelope xmlns:e="{SOAP_ENV}"><e:Body/></e:Envelope>'.encode(),
    ],
)
def test_malformed_requests_are_sender_wellformed_faults(body):
    """Non-XML, DTDs, non-SOAP and empty bodies become env:Sender / ter:WellFormed (400)."""
    with pytest.raises(SoapFault) as caught:
        parse_envelope(body)
    assert (caught.value.status, caught.value.subcodes) == (400, ("ter:WellFormed",))


def test_soap_11_envelope_is_a_version_mismatch():
    """A SOAP 1.1 envelope is answered with env:VersionMismatch."""
    soap11 = (
        b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>'
    )
    with pytest.raises(SoapFault) as caught:
        parse_envelope(soap11)
    assert caught.value.code == "env:VersionMismatch"
