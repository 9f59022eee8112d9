"""Where the tests' data lives: one place, so test modules can move without losing their files."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
GOLDEN = TESTS / "golden"
GOLDEN_DHCP = TESTS / "golden_dhcp"
SIPP = TESTS / "sipp"
SNMPSIM_VARIATIONS = TESTS / "snmpsim_variation"
