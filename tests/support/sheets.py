"""Rows of the provisioning sheet: one good row, changed where a test needs it."""

from __future__ import annotations


def row(**values: str) -> dict[str, str]:
    base = {
        "tenant": "acme",
        "extension": "1001",
        "direct_number": "0312345678",
        "display_name": "山田 太郎",
        "mac": "00:0B:82:AA:00:01",
        "model": "GXP2170",
        "port": "1",
    }
    return {**base, **values}
