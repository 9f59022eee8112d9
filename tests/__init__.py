"""Tests: unit, golden-file and integration (real clients and servers)."""
