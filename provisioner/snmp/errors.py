"""SNMP failures, importable without loading pysnmp (the CLI imports pysnmp only to use it)."""

from __future__ import annotations


class SnmpError(RuntimeError):
    """The agent refused (an error status) or answered something unusable."""


class SnmpTimeout(SnmpError):
    """No answer within the timeout and retries: the switch is unreachable or the key wrong."""
