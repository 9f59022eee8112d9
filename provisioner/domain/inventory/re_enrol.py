"""On-site re-enrolment: a phone reset at the customer's gets its credentials back, once.

An installed device that lost its provisioning credentials (a factory reset) fetches without
them and gets the usual 401. Support arms a re-enrolment: the credentials are rotated at once
(whatever the old ones opened stays shut) and, until the window ends, ONE credential-less fetch
from the tenant's allowed networks gets the file with the new ones
(``delivery.authorization.re_enrol_on_contact``). Both steps are on the device's timeline.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.orm import Session

from provisioner.db.models import Device, DeviceEvent, DeviceState, utcnow
from provisioner.domain.errors import Conflict, Invalid
from provisioner.domain.inventory import lifecycle
from provisioner.domain.timeline import EventKind
from provisioner.secretbox import SecretBox

MAX_HOURS = 168


def arm(
    session: Session, box: SecretBox, device: Device, hours: int, reason: str, actor: str
) -> dt.datetime:
    """Rotate the device's credentials and open the one-fetch window; its end."""
    reason = reason.strip()
    if not reason:
        raise Invalid("a re-enrolment needs a reason (what happened on site)")
    if not 1 <= hours <= MAX_HOURS:
        raise Invalid(f"the window is 1 to {MAX_HOURS} hours, not {hours}")
    if device.state is not DeviceState.INSTALLED:
        raise Conflict(
            f"device {device.mac} is {device.state}: only an installed device is re-enrolled "
            "on site (a shipped one makes its first contact by itself)"
        )
    lifecycle.issue_credentials(box, device)
    until = utcnow() + dt.timedelta(hours=hours)
    device.re_enrol_until = until
    session.add(
        DeviceEvent(
            device=device,
            kind=EventKind.STATE,
            actor=actor,
            detail=f"re-enrol armed until {until:%Y-%m-%d %H:%M} UTC; credentials rotated; "
            f"reason: {reason[:200]}",
        )
    )
    return until


def consume(session: Session, mac: str, source: str) -> bool:
    """Close the window for the fetch from ``source`` if it is still open; True for the one
    fetch that wins (several workers may race: the row update decides)."""
    now = utcnow()
    done = session.execute(
        update(Device)
        .where(Device.mac == mac, Device.re_enrol_until > now)
        .values(re_enrol_until=None)
        .returning(Device.id)
    ).scalar_one_or_none()
    if done is None:
        return False
    session.add(
        DeviceEvent(
            device_id=done,
            kind=EventKind.STATE,
            actor=f"re-enrol fetch from {source}",
            detail="re-enrolled: this fetch carried the new provisioning credentials",
        )
    )
    return True
