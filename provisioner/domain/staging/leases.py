"""DHCP lease events from the bench (dnsmasq's lease hook) on device timelines.

The event is the contract the staging page reads: kind ``dhcp``, protocol ``dhcp``, source the
leased address, detail ``<action> <ip> host=<hostname> vendor=<vendor class>`` (``-`` for a
value the client did not send). Written at once, not batched: leases are few and the hook
wants to know whether the device is known.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass

from sqlalchemy.orm import Session

from provisioner.db.models import DeviceEvent
from provisioner.domain.errors import Invalid
from provisioner.domain.inventory.devices import get_device
from provisioner.domain.inventory.patterns import is_name
from provisioner.domain.timeline import EventKind


class LeaseAction(enum.StrEnum):
    """dnsmasq's dhcp-script actions for a lease, the first word of the event's detail."""

    ADD = "add"  # a new lease
    OLD = "old"  # an existing lease renewed, or seen again when dnsmasq starts
    DEL = "del"  # released or expired


ACTIONS = tuple(action.value for action in LeaseAction)  # as the API validates them
HOSTNAME_LENGTH = 63
VENDOR_CLASS_LENGTH = 255  # a DHCP option holds at most 255 bytes
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4_PATTERN = rf"{_OCTET}(?:\.{_OCTET}){{3}}"  # dotted quad, as ipaddress takes it


@dataclass(frozen=True)
class Lease:
    action: str
    mac: str
    ip: str
    hostname: str | None = None
    vendor_class: str | None = None


def detail(lease: Lease, ip: str) -> str:
    """Spaces cannot split the detail's fields: each value is one word."""
    host = (lease.hostname or "-").replace(" ", "_")
    vendor = (lease.vendor_class or "-").replace(" ", "_")
    return f"{lease.action} {ip} host={host} vendor={vendor}"


def record_lease(session: Session, lease: Lease, actor: str) -> DeviceEvent:
    """The timeline event for one lease change; NotFound for a MAC not in the inventory."""
    if lease.action not in ACTIONS:
        raise Invalid(f"action {lease.action!r} must be one of {', '.join(ACTIONS)}")
    try:
        ip = str(ipaddress.IPv4Address(lease.ip))
    except ValueError:
        raise Invalid(f"ip {lease.ip!r} is not an IPv4 address") from None
    for name, value, length in (
        ("hostname", lease.hostname, HOSTNAME_LENGTH),
        ("vendor_class", lease.vendor_class, VENDOR_CLASS_LENGTH),
    ):
        if value is not None and not is_name(value, length):
            raise Invalid(f"{name} must be 1-{length} printable characters without line breaks")
    device = get_device(session, lease.mac)
    event = DeviceEvent(
        device=device,
        kind=EventKind.DHCP,
        actor=actor,
        protocol="dhcp",
        source=ip,
        detail=detail(lease, ip),
    )
    session.add(event)
    session.flush()
    return event
