"""Failed logins to the staging and customer pages: counted per source address and per
(address, name), never per account alone (docs/security.md, "Web front door").

A per-account counter let any bench host lock every account at will (five wrong passwords
each) and told names apart (only a real account could be locked: 429 at once instead of a
scrypt-long 401). Here:

- one name tried from one address locks that pair after ``PAIR_LIMIT`` failures; the same
  account from another address (its owner at another bench) still logs in;
- an address that fails ``ADDRESS_LIMIT`` times across any names is refused for every name, so
  one host cannot walk through the staff list;
- an unknown name is counted exactly like a known one, so the answers cannot tell them apart.

IPv6 sources count by /64 (one host owns a whole /64) and IPv4-mapped addresses as IPv4.
Failures older than the lockout length are forgotten: an occasional typo never adds up.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from provisioner.db.models import aware
from provisioner.db.staging import LoginFailure

PAIR_LIMIT = 5
ADDRESS_LIMIT = 20
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")


def source_network(source: str) -> str:
    """What a source is counted as: its IPv4 address, or its IPv6 /64."""
    try:
        address = ipaddress.ip_address(source)
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


def _keys(source: str, username: str) -> tuple[str, str]:
    network = source_network(source)
    name = username if _NAME.fullmatch(username) else "?"  # no such account can exist
    return f"addr {network}", f"pair {network} {name}"


def locked(session: Session, source: str, username: str, now: dt.datetime) -> dt.datetime | None:
    """When the lockout of this address, or of this name from it, ends; None if neither is."""
    ends = [
        aware(row.locked_until)
        for key in _keys(source, username)
        if (row := session.get(LoginFailure, key)) is not None and row.locked_until is not None
    ]
    current = [end for end in ends if end > now]
    return max(current) if current else None


def failed(
    session: Session, source: str, username: str, lockout_seconds: int, now: dt.datetime
) -> dt.datetime | None:
    """Count a wrong login; when it reaches a limit, the end of the lockout it starts."""
    _purge(session, now, lockout_seconds)
    lock_end = None
    for key, limit in zip(_keys(source, username), (ADDRESS_LIMIT, PAIR_LIMIT), strict=True):
        row = _row(session, key)
        if aware(row.last_at) < now - dt.timedelta(seconds=lockout_seconds):
            row.failures = 0
        row.failures += 1
        row.last_at = now
        if row.failures >= limit:
            row.failures = 0
            row.locked_until = now + dt.timedelta(seconds=lockout_seconds)
            lock_end = row.locked_until
    return lock_end


def succeeded(session: Session, source: str, username: str) -> None:
    """A right password ends the count of this name from this address (not the address's)."""
    session.execute(delete(LoginFailure).where(LoginFailure.key == _keys(source, username)[1]))


def _purge(session: Session, now: dt.datetime, lockout_seconds: int) -> None:
    """Rows nobody has touched for a lockout's length count nothing any more: dropped, so
    that names tried at random do not pile up."""
    stale = now - dt.timedelta(seconds=lockout_seconds)
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.last_at < stale,
            (LoginFailure.locked_until.is_(None)) | (LoginFailure.locked_until < now),
        )
    )


def _row(session: Session, key: str) -> LoginFailure:
    """The key's row, made when missing (another worker may make it at the same moment)."""
    row = session.get(LoginFailure, key)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = LoginFailure(key=key, failures=0, last_at=dt.datetime.now(dt.UTC))
            session.add(row)
        return row
    except IntegrityError:
        found = session.get(LoginFailure, key)
        assert found is not None
        return found
