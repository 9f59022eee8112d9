"""Whose address a request is: X-Forwarded-For counts only when our own balancer sent it."""

from __future__ import annotations

import pytest

from provisioner.domain.delivery.pipeline import client_address, parse_networks

PROXIES = parse_networks(["10.0.0.0/24", "fd00::/64"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("198.51.100.7", None, "198.51.100.7"),
        ("198.51.100.7", "127.0.0.2", "198.51.100.7"),  # not our balancer: a claim, ignored
        ("10.0.0.5", None, "10.0.0.5"),
        ("10.0.0.5", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.5", "127.0.0.2, 203.0.113.9", "203.0.113.9"),  # left of the hop: client's claim
        ("10.0.0.5", "203.0.113.9, 10.0.0.6", "203.0.113.9"),  # two of our balancers
        ("10.0.0.5", "10.0.0.6, 10.0.0.7", "10.0.0.5"),  # nothing but ours
        ("10.0.0.5", "203.0.113.9, not-an-address", "10.0.0.5"),  # malformed: none of it
        ("fd00::5", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_address(peer: str, forwarded: str | None, expected: str) -> None:
    assert client_address(peer, forwarded, PROXIES) == expected
