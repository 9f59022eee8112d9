"""Lockouts every worker, the TFTP process and every instance sees.

Token buckets stay per process (cheap, no shared writes on the hot path); a lockout is rare,
so the process that decides one writes it to the database, and every process reads the
current list at most once per ``refresh`` seconds. A locked-out source is refused everywhere
within that delay, whichever worker its next connection reaches.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError

from provisioner.db.models import Lockout, utcnow
from provisioner.db.session import Database


class LockoutBoard:
    def __init__(self, db: Database, refresh: float = 1.0) -> None:
        self._db = db
        self._refresh = refresh
        self._until: dict[str, float] = {}  # source -> wall-clock end of its lockout
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def publish(self, source: str, seconds: float) -> None:
        until = utcnow() + dt.timedelta(seconds=seconds)
        with self._lock:
            self._until[source] = until.timestamp()
        try:
            with self._db.session() as session:
                session.execute(delete(Lockout).where(Lockout.until < utcnow()))
                moved = session.execute(
                    update(Lockout).where(Lockout.source == source).values(until=until)
                )
                if not cast(CursorResult[Any], moved).rowcount:
                    session.add(Lockout(source=source, until=until))
        except IntegrityError:  # another process locked it out at the same moment
            pass

    def locked(self, source: str) -> bool:
        now = time.time()
        if now - self._loaded_at >= self._refresh:
            self._load(now)
        return self._until.get(source, 0.0) > now

    def _load(self, now: float) -> None:
        with self._lock:
            if now - self._loaded_at < self._refresh:
                return
            with self._db.engine.connect() as connection:
                rows = connection.execute(
                    select(Lockout.source, Lockout.until).where(Lockout.until > utcnow())
                ).all()
            # SQLite hands back naive datetimes; every stored time is UTC.
            self._until = {
                source: until.replace(tzinfo=until.tzinfo or dt.UTC).timestamp()
                for source, until in rows
            }
            self._loaded_at = now
