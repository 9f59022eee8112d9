"""``line_unregistered``: an installed device's line that was registered and has stayed lost.

Raised once per loss (``LineRegistration.alerted_at``), on the device's timeline as an ``alert``
event; a new registration clears it (sync.py). Lines whose core is unreadable are never alerted:
nothing is known about them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioner.db.models import Device, DeviceLine, DeviceState, Tenant
from provisioner.db.registrations import LineRegistration, PbxCore
from provisioner.domain.registrations.status import STALE_AFTER
from provisioner.domain.timeline import Event, EventKind

LINE_UNREGISTERED = "line_unregistered"


def raise_alerts(
    session: Session, cores: Sequence[str], after: dt.timedelta, now: dt.datetime
) -> list[Event]:
    """Alert the lines lost for longer than ``after`` on a core read within ``STALE_AFTER``."""
    rows = session.execute(
        select(LineRegistration, DeviceLine, Device)
        .join(PbxCore, PbxCore.id == LineRegistration.core_id)
        .join(DeviceLine, DeviceLine.account_id == LineRegistration.account_id)
        .join(Device, Device.id == DeviceLine.device_id)
        .where(
            PbxCore.name.in_(cores),
            PbxCore.error.is_(None),
            PbxCore.read_at > now - STALE_AFTER,
            LineRegistration.registered.is_(False),
            LineRegistration.alerted_at.is_(None),
            LineRegistration.lost_at < now - after,
            Device.state == DeviceState.INSTALLED,
        )
    ).all()
    events = []
    for registration, line, device in rows:
        registration.alerted_at = now
        events.append(
            Event(
                mac=device.mac,
                kind=EventKind.ALERT,
                protocol="sip",
                detail=f"{LINE_UNREGISTERED} line {line.port} ({registration.account.extension}) "
                f"since {registration.lost_at:%Y-%m-%d %H:%M:%S}",
                at=now,
            )
        )
    return events


def tally(session: Session) -> dict[tuple[str, str], int]:
    """(tenant, registered|unregistered) -> lines, for the metrics; alerts by tenant too."""
    counts: Counter[tuple[str, str]] = Counter()
    rows = session.execute(
        select(Tenant.name, LineRegistration.registered, LineRegistration.alerted_at)
        .join(DeviceLine, DeviceLine.account_id == LineRegistration.account_id)
        .join(Device, Device.id == DeviceLine.device_id)
        .join(Tenant, Tenant.id == Device.tenant_id)
    )
    for tenant, registered, alerted in rows:
        counts[(tenant, "registered" if registered else "unregistered")] += 1
        if alerted is not None:
            counts[(tenant, LINE_UNREGISTERED)] += 1
    return dict(counts)
