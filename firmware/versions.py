"""Firmware version numbers as each vendor writes them, ordered numerically.

Comparing the strings would put 1.0.9.103 after 1.0.11.79 and 01.99 after 01.133; a device
offered an "upgrade" that is really a downgrade can end up in a boot loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from provisioner.vendors.facts import (
    FIRMWARE_VERSION_EXAMPLES,
    FIRMWARE_VERSION_PATTERN,
    VENDOR_NAMES,
)

VENDORS = VENDOR_NAMES
_DOTTED = re.compile(FIRMWARE_VERSION_PATTERN)


@dataclass(frozen=True, order=True)
class Version:
    """Ordered by vendor, then by the numeric components; the text is kept for display only."""

    vendor: str
    parts: tuple[int, ...]
    text: str = field(compare=False)

    def __str__(self) -> str:
        return self.text


def parse_version(vendor: str, text: str) -> Version:
    """ValueError names the vendor and the text, so a typo on the command line is obvious."""
    if vendor not in FIRMWARE_VERSION_EXAMPLES:
        raise ValueError(f"unknown vendor {vendor!r} (expected one of: {', '.join(VENDORS)})")
    if not isinstance(text, str) or not _DOTTED.fullmatch(text):
        raise ValueError(
            f"{text!r} is not a {vendor} firmware version (dotted numbers, e.g. "
            f"{FIRMWARE_VERSION_EXAMPLES[vendor]})"
        )
    return Version(vendor, tuple(int(part) for part in text.split(".")), text)
