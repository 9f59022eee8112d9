"""MAC addresses as people write them and as the inventory stores them."""

from __future__ import annotations

import re

from provisioner.domain.errors import Invalid

_FORMS = (
    re.compile(r"[0-9a-f]{12}"),
    re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}"),
    re.compile(r"[0-9a-f]{2}(?:-[0-9a-f]{2}){5}"),
)


class BadMac(Invalid):
    """Not a MAC address in any form people write one."""


def normalize_mac(text: str) -> str:
    """``000B82AABBCC``, ``00:0b:82:aa:bb:cc`` or ``00-0B-82-AA-BB-CC`` -> ``000b82aabbcc``."""
    candidate = text.strip().lower()
    if not any(form.fullmatch(candidate) for form in _FORMS):
        raise BadMac(
            f"bad MAC {text!r}: use 12 hex digits, optionally in pairs separated by ':' or '-'"
        )
    mac = candidate.replace(":", "").replace("-", "")
    if int(mac[:2], 16) & 1:
        raise BadMac(f"bad MAC {text!r}: a multicast address cannot be a device")
    return mac


def format_mac(mac: str, separator: str = ":") -> str:
    return separator.join(mac[i : i + 2] for i in range(0, 12, 2))
