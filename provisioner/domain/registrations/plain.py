"""A device's state in the customer's words: working, not registered, never connected, no
power (or connected, when no PBX core can tell whether its lines are registered)."""

from __future__ import annotations

import enum
from collections.abc import Sequence

from sqlalchemy.orm import Session

from provisioner.db.models import Device
from provisioner.domain.poe.alerts import AlertKind
from provisioner.domain.registrations.doctor import facts


class PlainStatus(enum.StrEnum):
    WORKING = "working"
    NOT_REGISTERED = "not_registered"
    NEVER_CONNECTED = "never_connected"
    NO_POWER = "no_power"
    CONNECTED = "connected"


def plain_status(session: Session, device: Device, cores: Sequence[str]) -> PlainStatus:
    """The first that holds: no power (a PoE-only phone on an unpowered port), never connected
    (no file fetched), not registered (a line the cores do not have), working (every line
    registered), else connected."""
    found = facts(session, device, cores)
    if any(alert.startswith(AlertKind.POE_ONLY_UNPOWERED) for alert in found.poe_alerts):
        return PlainStatus.NO_POWER
    if found.last_fetch is None:
        return PlainStatus.NEVER_CONNECTED
    states = {line.state for line in found.lines}
    if "unregistered" in states:
        return PlainStatus.NOT_REGISTERED
    if states == {"registered"}:
        return PlainStatus.WORKING
    return PlainStatus.CONNECTED
