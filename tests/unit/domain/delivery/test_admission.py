"""What a lockout counts and whom it refuses (issue 17): IPv6 by /64, IPv4-mapped addresses
as IPv4, UDP apart from TCP and never shared, wrong answers per claimed username."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from provisioner.app.service import Service
from provisioner.db.models import Lockout
from provisioner.domain.delivery.admission import Admission
from provisioner.domain.delivery.digest import DigestResponse
from provisioner.domain.delivery.lockouts import LockoutBoard
from provisioner.domain.delivery.networks import lockout_key
from provisioner.domain.delivery.pipeline import Fetch
from provisioner.domain.delivery.ratelimit import Cost, SourceLimiter


@pytest.mark.parametrize(
    ("source", "key"),
    [("198.51.100.7", "198.51.100.7"), ("::ffff:198.51.100.7", "198.51.100.7"),
     ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
     ("2001:db8:1:2:ffff:1:2:3", "2001:db8:1:2::/64"),
     ("2001:db8:1:3::1", "2001:db8:1:3::/64"), ("fe80::1%eth0", "fe80::/64"), ("cli", "cli")],
)  # fmt: skip
def test_lockout_key(source: str, key: str) -> None:
    assert lockout_key(source) == key


@pytest.fixture
def admission(service: Service) -> Admission:
    return Admission(
        SourceLimiter(capacity=100, refill_per_second=0.0), LockoutBoard(service.db, refresh=0.0)
    )


def test_an_ipv6_host_cannot_escape_by_changing_its_address_in_its_64(
    admission: Admission,
) -> None:
    for n in range(10):  # ten addresses of one /64, 10 tokens each: the bucket is empty
        admission.charge(Fetch("x.php", "http", f"2001:db8:1:2::{n + 1:x}"), Cost.UNKNOWN_NAME)
    admission.charge(Fetch("x.php", "http", "2001:db8:1:2::ff"), Cost.UNKNOWN_NAME)
    assert admission.locked(Fetch("cfg.xml", "http", "2001:db8:1:2:dead::beef"))
    assert not admission.locked(Fetch("cfg.xml", "http", "2001:db8:1:3::1"))


def test_an_ipv4_client_on_an_ipv6_socket_is_its_ipv4_address(admission: Admission) -> None:
    for _ in range(11):
        admission.charge(Fetch("x.php", "http", "::ffff:198.51.100.7"), Cost.UNKNOWN_NAME)
    assert admission.locked(Fetch("cfg.xml", "http", "198.51.100.7"))


def test_udp_lockouts_refuse_tftp_only_and_are_never_shared(
    admission: Admission, service: Service
) -> None:
    for _ in range(11):
        admission.charge(Fetch("x.php", "tftp", "198.51.100.8"), Cost.UNKNOWN_NAME)
    assert admission.locked(Fetch("KX-HDV230.cfg", "tftp", "198.51.100.8"))
    assert not admission.locked(Fetch("KX-HDV230.cfg", "http", "198.51.100.8"))
    with service.db.session() as session:
        assert session.scalars(select(Lockout)).all() == []
    for _ in range(11):  # a TCP source's lockout is shared, and refuses TFTP too
        admission.charge(Fetch("x.php", "http", "198.51.100.9"), Cost.UNKNOWN_NAME)
    with service.db.session() as session:
        assert session.scalars(select(Lockout.source)).all() == ["198.51.100.9"]
    assert admission.locked(Fetch("KX-HDV230.cfg", "tftp", "198.51.100.9"))


def test_wrong_answers_count_per_claimed_username_across_addresses(admission: Admission) -> None:
    def wrong(source: str, user: str) -> Fetch:
        answer = DigestResponse(user, "provisioning", "n", "/cfg.xml", "0" * 32)
        return Fetch("cfg000b82000001.xml", "http", source, digest=answer)

    for n in range(5):  # 20 tokens each from five addresses: none is locked, the name is
        admission.charge(wrong(f"198.51.100.{20 + n}", "d000b82000001"), Cost.BAD_CREDENTIALS, True)
    admission.charge(wrong("198.51.100.30", "d000b82000001"), Cost.BAD_CREDENTIALS, True)
    assert admission.user_locked(wrong("203.0.113.1", "d000b82000001"))
    assert not admission.user_locked(wrong("203.0.113.1", "d000b82000002"))
    assert not admission.locked(wrong("198.51.100.20", "d000b82000001"))
