"""Each line's registration as the API, the CLI, the bench and the doctor show it.

A line is ``registered`` when a core read recently has its contact; ``unknown`` when no core
that should be read has been read recently (down, refusing, or not configured at all); else
``unregistered``. "Unknown" is never shown as "unregistered": a core that is down says nothing
about the phones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioner.db.models import Device, utcnow
from provisioner.db.registrations import LineRegistration, PbxCore

STALE_AFTER = dt.timedelta(seconds=15)  # a core not read for this long says nothing


@dataclass(frozen=True)
class LineStatus:
    port: int
    extension: str
    sip_username: str
    state: str  # registered, unregistered, unknown
    core: str | None = None
    contact: str | None = None
    source: str | None = None
    user_agent: str | None = None
    expires_at: dt.datetime | None = None
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None
    lost_at: dt.datetime | None = None

    def as_dict(self) -> dict[str, object]:
        return dict(vars(self))


def _fresh(core: PbxCore, now: dt.datetime) -> bool:
    read = core.read_at
    return core.error is None and read is not None and now - aware(read) < STALE_AFTER


def aware(at: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


def device_lines(
    session: Session, device: Device, cores: Sequence[str], now: dt.datetime | None = None
) -> list[LineStatus]:
    """One entry per line key or FXS port of ``device``; ``cores``: the readers configured."""
    now = now or utcnow()
    query = select(PbxCore).where(PbxCore.name.in_(cores))
    known = {row.name: row for row in session.scalars(query)}
    readable = {name for name, row in known.items() if _fresh(row, now)}
    blind = len(readable) < len(set(cores)) or not cores
    out = []
    for line in sorted(device.lines, key=lambda item: item.port):
        rows = [
            row
            for row in session.scalars(
                select(LineRegistration).where(LineRegistration.account_id == line.account_id)
            )
            if row.core.name in known
        ]
        live = [row for row in rows if row.registered and row.core.name in readable]
        latest = max(live or rows, key=lambda row: aware(row.last_seen), default=None)
        state = "registered" if live else "unknown" if blind else "unregistered"
        out.append(
            LineStatus(
                port=line.port,
                extension=line.account.extension,
                sip_username=line.account.sip_username,
                state=state,
                core=latest.core.name if latest else None,
                contact=latest.contact if latest else None,
                source=latest.source if latest else None,
                user_agent=latest.user_agent if latest else None,
                expires_at=aware(latest.expires_at) if latest and latest.expires_at else None,
                first_seen=aware(latest.first_seen) if latest else None,
                last_seen=aware(latest.last_seen) if latest else None,
                lost_at=aware(latest.lost_at) if latest and latest.lost_at else None,
            )
        )
    return out


def all_cores(session: Session) -> list[str]:
    """Every core the poller has tried: a core not read lately makes its lines unknown."""
    return list(session.scalars(select(PbxCore.name)))


def bench_registered(
    lines: Sequence[LineStatus], since: dt.datetime | None, on_bench: Callable[[str], bool]
) -> bool | None:
    """Every line registered from the bench (``on_bench(source address)``) after ``since``
    (the config fetch); None when no core was read lately (staging does not wait for it)."""
    if not lines or any(line.state == "unknown" for line in lines):
        return None
    return all(
        line.state == "registered"
        and line.source is not None
        and on_bench(line.source.rsplit(":", 1)[0].strip("[]"))
        and (since is None or (line.first_seen is not None and line.first_seen >= aware(since)))
        for line in lines
    )
