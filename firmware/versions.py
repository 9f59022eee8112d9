"""Firmware version numbers as each vendor writes them, ordered numerically.

Comparing the strings would put 1.0.9.103 after 1.0.11.79 and 01.99 after 01.133; a device
offered an "upgrade" that is really a downgrade can end up in a boot loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

VENDORS = ("grandstream", "panasonic")

# Both vendors write dotted decimal components; leading zeros carry no meaning (01.133 == 1.133).
_DOTTED = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,9})+")
_EXAMPLES = {"grandstream": "1.0.11.79", "panasonic": "01.133"}


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
    if vendor not in _EXAMPLES:
        raise ValueError(f"unknown vendor {vendor!r} (expected one of: {', '.join(VENDORS)})")
    if not isinstance(text, str) or not _DOTTED.fullmatch(text):
        raise ValueError(
            f"{text!r} is not a {vendor} firmware version (dotted numbers, e.g. "
            f"{_EXAMPLES[vendor]})"
        )
    return Version(vendor, tuple(int(part) for part in text.split(".")), text)
