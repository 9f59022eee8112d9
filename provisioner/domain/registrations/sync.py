"""Folds one read of a PBX core's location table into the stored registrations.

The reader (``provisioner/pbx/usrloc.py``) is passed in by the caller as a function: the domain
never opens a socket. A read that fails marks the core unreadable and changes no line: its lines
become "unknown" (status.py), never "unregistered". A contact that disappears is "expired" when
its expiry had passed, else "unregistered" (a REGISTER with ``Expires: 0``, or the core's admin).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioner.db.models import Account, DeviceLine, utcnow
from provisioner.db.registrations import LineRegistration, PbxCore
from provisioner.domain.registrations.status import aware
from provisioner.domain.timeline import Event, EventKind

# A contact that vanished within this long after its expiry counts as expired, not removed:
# the core's timer sweeps expired contacts every few seconds, after the poller last saw them.
EXPIRY_SLACK = dt.timedelta(seconds=2)


@dataclass(frozen=True)
class Contact:
    """One binding in a core's location table, as the reader found it."""

    username: str  # the AoR's user: the account's SIP username
    contact: str
    source: str | None
    user_agent: str | None
    expires_in: int  # seconds left


class CoreUnreadable(Exception):
    """The core did not answer, or answered something that is not a location table."""


Reader = Callable[[], Sequence[Contact]]


def core_row(session: Session, name: str) -> PbxCore:
    row = session.scalar(select(PbxCore).where(PbxCore.name == name))
    if row is None:
        row = PbxCore(name=name)
        session.add(row)
        session.flush()
    return row


def read_core(session: Session, name: str, reader: Reader) -> list[Event]:
    """Read the core once and store what changed; the timeline events to record."""
    now = utcnow()
    core = core_row(session, name)
    core.attempted_at = now
    try:
        contacts = list(reader())
    except CoreUnreadable as exc:
        core.error = str(exc)[:500]
        return []
    core.read_at, core.error = now, None
    return apply(session, core, contacts, now)


def apply(
    session: Session, core: PbxCore, contacts: Sequence[Contact], now: dt.datetime
) -> list[Event]:
    """The stored rows of ``core`` brought to ``contacts``; an event per line that changed."""
    seen = {c.username: c for c in contacts}  # one contact per line: the newest wins in ul.dump
    query = select(LineRegistration).where(LineRegistration.core_id == core.id)
    rows = {row.account.sip_username: row for row in session.scalars(query)}
    wanted = set(seen) - set(rows)
    if wanted:
        for account in session.scalars(select(Account).where(Account.sip_username.in_(wanted))):
            row = LineRegistration(account=account, core=core, registered=False, first_seen=now,
                                   last_seen=now)  # fmt: skip
            session.add(row)
            rows[account.sip_username] = row
        session.flush()  # their ids: the events below look the lines up by account id
    events: list[Event] = []
    for username, row in rows.items():
        contact = seen.get(username)
        if contact is not None:
            was = row.registered
            row.registered, row.lost_at, row.alerted_at = True, None, None
            row.contact, row.source, row.user_agent = (
                contact.contact[:255],
                (contact.source or "")[:80] or None,
                (contact.user_agent or "")[:255] or None,
            )
            row.expires_at = now + dt.timedelta(seconds=max(contact.expires_in, 0))
            row.last_seen = now
            if not was:
                row.first_seen = now  # of this registration: the bench compares it with a fetch
                events += _events(session, row, "registered", now)
        elif row.registered:
            expired = row.expires_at is not None and aware(row.expires_at) <= now + EXPIRY_SLACK
            row.registered, row.lost_at = False, now
            events += _events(session, row, "expired" if expired else "unregistered", now)
    return events


def _events(session: Session, row: LineRegistration, what: str, now: dt.datetime) -> list[Event]:
    """One ``registration`` event on each device that carries the line."""
    lines = session.scalars(select(DeviceLine).where(DeviceLine.account_id == row.account_id))
    return [
        Event(
            mac=line.device.mac,
            kind=EventKind.REGISTRATION,
            protocol="sip",
            source=row.source,
            user_agent=row.user_agent,
            detail=f"{what} line {line.port} ({row.account.extension}) on {row.core.name}"
            + (f" contact {row.contact}" if what == "registered" else ""),
            at=now,
        )
        for line in lines
    ]
