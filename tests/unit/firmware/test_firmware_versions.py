"""Firmware versions order numerically per vendor; garbage is refused with its text named."""

from __future__ import annotations

import pytest

from firmware.versions import parse_version


@pytest.mark.parametrize(
    ("vendor", "lower", "higher"),
    [
        ("grandstream", "1.0.9.103", "1.0.11.79"),
        ("grandstream", "1.0.11.79", "1.0.11.80"),
        ("grandstream", "1.0.11", "1.0.11.1"),
        ("grandstream", "1.9.9.9", "2.0.0.0"),
        ("panasonic", "01.99", "01.133"),
        ("panasonic", "01.133", "02.000"),
        ("panasonic", "1.5", "1.10"),
    ],
)
def test_order(vendor: str, lower: str, higher: str) -> None:
    assert parse_version(vendor, lower) < parse_version(vendor, higher)
    assert parse_version(vendor, higher) > parse_version(vendor, lower)
    assert max(parse_version(vendor, v) for v in (higher, lower)).text == higher


@pytest.mark.parametrize(
    ("vendor", "a", "b"),
    [
        ("panasonic", "01.133", "1.133"),
        ("panasonic", "001.0133", "1.133"),
        ("grandstream", "1.0.11.79", "01.00.011.079"),
    ],
)
def test_zero_padding_does_not_matter(vendor: str, a: str, b: str) -> None:
    assert parse_version(vendor, a) == parse_version(vendor, b)
    assert hash(parse_version(vendor, a)) == hash(parse_version(vendor, b))
    assert str(parse_version(vendor, a)) == a  # shown as the vendor wrote it


@pytest.mark.parametrize(
    "text",
    ["", "1", "1.", ".1", "1..2", "1.0.x", "v1.0.11", "1.0.11.79 ", " 1.2", "1,2", "1.0-beta",
     "１.２", "1.2\n", "1." + "9" * 10],
)  # fmt: skip
@pytest.mark.parametrize("vendor", ["grandstream", "panasonic"])
def test_garbage_refused(vendor: str, text: str) -> None:
    with pytest.raises(ValueError, match=vendor) as info:
        parse_version(vendor, text)
    assert repr(text) in str(info.value)


def test_unknown_vendor_refused() -> None:
    with pytest.raises(ValueError, match="unknown vendor 'yealink'"):
        parse_version("yealink", "1.0")
