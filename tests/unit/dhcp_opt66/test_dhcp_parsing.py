"""The probe's and PnP's reading of what comes off the wire, without a network."""

from __future__ import annotations

import pytest

from dhcp_opt66.dhcp_packets import decode, raw_options
from dhcp_opt66.pnp import BadSip, parse, provisioning_url
from dhcp_opt66.probe import points_elsewhere


@pytest.mark.parametrize(
    ("offered", "expected", "elsewhere"),
    [
        ("http://prov.bench.test:8080/gs", "http://prov.bench.test:8080/", False),
        ("prov.bench.test/gs", "http://prov.bench.test/gs", False),  # Grandstream style, no scheme
        ("HTTP://PROV.bench.test/gs/", "prov.bench.test", False),
        ("http://prov.bench.test:8081/", "http://prov.bench.test:8080/", True),
        ("http://other.test/gs", "http://prov.bench.test/gs", True),
        ("http://prov.bench.test/other", "http://prov.bench.test/gs", True),
    ],
)
def test_option66_compared_with_the_expected_url(
    offered: str, expected: str, elsewhere: bool
) -> None:
    assert points_elsewhere(offered, expected) is elsewhere


def test_split_options_are_joined_and_padding_skipped() -> None:
    raw = (
        bytes([0, 66, 4])
        + b"http"
        + bytes([66, 6])
        + b"://x/y"
        + bytes([3, 4, 10, 0, 0, 1, 255, 9])
    )
    options = raw_options(raw)
    assert decode(66, options[66]) == "http://x/y"
    assert decode(3, options[3]) == ["10.0.0.1"]
    assert decode(43, bytes([1, 3]) + b"abc") == {
        "hex": "0103616263",
        "tlv": [{"sub": 1, "value": "abc"}],
    }
    assert raw_options(bytes([66, 200, 1])) == {66: b"\x01"}  # a length past the end: what is there


@pytest.mark.parametrize(
    "data",
    [b"\xff\xfe", b"SUBSCRIBE nope\r\n\r\n", b"SUBSCRIBE sip:x SIP/2.0\r\nno colon\r\n\r\n", b""],
)
def test_malformed_sip_is_refused_by_name(data: bytes) -> None:
    with pytest.raises(BadSip):
        parse(data)


def _subscribe(uri: str, event: str) -> bytes:
    return (f"SUBSCRIBE {uri} SIP/2.0\r\nv: SIP/2.0/UDP 10.0.0.5\r\no: {event}\r\n\r\n").encode()


@pytest.mark.parametrize(
    ("uri", "event", "url"),
    [
        ("sip:MAC%3a0080f0aabbcc@224.0.1.75", 'ua-profile;vendor="Panasonic";model="KX-UT136"',
         "http://p/x/KX-UT136.cfg"),
        ("sip:MAC%3a0080f0aabbcc@224.0.1.75", "ua-profile", "http://p/x/{MODEL}.cfg"),
        ("sip:MAC%3a0080f0aabbcc@224.0.1.75", 'ua-profile;model="../../etc"', "http://p/x/{MODEL}.cfg"),
        ("sip:MAC%3a000b82aabbcc@224.0.1.75", 'ua-profile;vendor="Grandstream"', "http://p/x"),
        ("sip:someone@224.0.1.75", "ua-profile", "http://p/x"),
    ],
)  # fmt: skip
def test_pnp_url_per_vendor(uri: str, event: str, url: str) -> None:
    assert provisioning_url(parse(_subscribe(uri, event)), "http://p/x/") == url
